"""The standards resource: reads from the projections, commands through the
application. Every command on an existing standard needs If-Match."""

from __future__ import annotations

import functools
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, cast
from urllib.parse import quote

import marshmallow as ma
import orjson
from flask import Response, current_app, g, request, url_for

from api import schemas as s
from api.auth import actor, check_access
from api.bootstrap import service
from api.idempotent import Answer, idempotent
from api.inputs import Blueprint, IfMatch, PreconditionRequired, if_match
from api.problems import F, document, problem
from lifecycle import VERSION, commands, numbering
from lifecycle.domain import Standard
from lifecycle.errors import NotFound, StaleVersion
from projections import citations
from projections.documents import StandardRows, record_time, rows_of
from projections.queries import CatalogueFilter
from projections.snapshot import render_xlsx
from projections.views import edition_view, editions_on, standard_view

blp = Blueprint("standards", __name__, description="Standards and their editions")

# endpoint -> the command it sends: filled by command_route, read by the guard
# (the roles are the command's, from the registry) and by the routes test.
COMMAND_ROUTES: dict[str, tuple[type[commands.Command], ...]] = {}


@blp.before_request
def guard() -> Response | None:
    if request.endpoint == "standards.catalogue":
        return catalogue_guard()
    sent = COMMAND_ROUTES.get(request.endpoint or "")
    return check_access(sent[0].spec.name if sent else None)  # a route's commands share their roles


def catalogue_guard() -> Response | None:
    """The token, then an unchanged page, before the query is parsed (it
    was, when the page was built). A page this worker sent for the same
    credentials and query, today, while nothing was committed since, is sent
    again at once: the token and the page are what they were then."""
    register = service()
    pages: PageCache = current_app.extensions["lifecycle_pages"]
    counter = register.reads.change_counter()  # read before the reads below, so never newer than they
    # (the credentials as their SHA-256: a worker keeps no token it was sent)
    asked = (hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest(), request.full_path)
    fresh = "If-None-Match" not in request.headers and counter is not None
    if fresh:
        again = pages.again(asked, (counter, register.today()))
        if again is not None:
            g.flask_httpauth_user, page, etag = again
            return page_answer(page, etag)
    with register.reads.consistent():  # the token and the log position: one read (none when kept)
        refused = check_access(None)
        if refused is not None:
            return refused
        answer = unchanged_catalogue()
    if fresh and answer is not None and answer.status_code == 200:
        (_, day, _), etag = g.catalogue_key  # the page's key: query, day, log position
        pages.sent(asked, (counter, day), g.flask_httpauth_user, answer.get_data(), etag)
    return answer


def documented(*codes: int) -> Callable[[F], F]:
    """The problems a route can answer with (every route may also meet a
    store that cannot answer: 503)."""
    return document(blp, *codes, 503)


READ_ETAG = {"description": "the answer's tag, from the query, the day and the log position: "
                        "send it in If-None-Match", "schema": {"type": "string"}}
ETAG = {"ETag": {"description": 'the standard\'s version, e.g. "3": send it back in If-Match',
                 "schema": {"type": "string"}, "required": True}}
REPLAYED = {"Idempotency-Replayed": {"description": "true when this is the stored answer to a "
                                                   "retry with the same Idempotency-Key",
                                     "schema": {"type": "string"}}}
CREATED = {**ETAG, **REPLAYED,
           "Location": {"description": "the new standard's URL", "schema": {"type": "string"},
                        "required": True}}


IF_MATCH = {"in": "header", "name": "If-Match", "required": True,
            "description": 'the ETag last read, e.g. "3", or a list of them ("2", "3"); 428 '
                           "without it, 412 when none is the standard's version",
            "schema": {"type": "string"}}
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "description": "retries with the same key and body get the first answer "
                                  "and record nothing (keys are kept 48 hours)",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200,
                              "pattern": r"^[\u0020-\u007e]*[\u0021-\u007e][\u0020-\u007e]*$"}}


def path_code(text: str) -> numbering.StandardCode:
    try:
        return numbering.parse_code(text)
    except numbering.NumberError as e:
        raise NotFound(f"{text!r} is not a standard number: {e.message}", reason=e.reason) from None


def expected_version(code: numbering.StandardCode, condition: IfMatch) -> int | None:
    """The version a command is sent at: None for `If-Match: *`; the version
    If-Match names; for a list, the standard's version if the list holds it.
    The application compares it with the standard's version as it records,
    so a command racing this read still meets a 412."""
    if condition.any_version:
        return None
    single = condition.single()
    if single is not None:
        return single
    version = service().reads.version(str(code))
    if version is None:
        raise NotFound(f"no standard {code}", code=str(code))
    if version in condition.versions:
        return version
    raise StaleVersion(condition.refusal(str(code), version), version=version)


def as_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A read's body, serialised directly: the views already have the documented
    shape (the schemas document it; dumping 50 rows through marshmallow again
    would cost more than the query)."""
    response = cast(Response, current_app.json.response(body))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def respond(result: Answer | Response) -> Response:
    """A command's (body, status, headers) as JSON; a problem passes through."""
    if isinstance(result, tuple):
        return as_json(*result)
    return result


def answer(standard: Standard, status: int = 200, **headers: str) -> Answer:
    """A command's answer: the standard as it now is, with its new ETag, built
    from the aggregate just recorded (the same rows the tables now hold)."""
    day = service().today()
    rows = rows_of(standard, service().settings.zone, day, service().projection.memo,
                   service().settings.review_years)
    if rows.state is None:  # a clock ahead of the office's calendar: answer as a read would
        rows = load(numbering.parse_code(standard.code), When())
    view = standard_view(rows, day)
    return view, status, {"ETag": f'"{view["version"]}"', **headers}


class When:
    """The two clocks of a read: `as_of` (valid time: the day in the world,
    default today in LIFECYCLE_TIMEZONE) and `known_at` (record time: what the
    register said then, default now)."""

    def __init__(self, as_of: date | None = None, known_at: datetime | None = None) -> None:
        self.day = as_of or service().today()
        self.known_at = record_time(known_at) if known_at is not None else None

    def echo(self) -> dict[str, str | None]:
        """The clocks an answer was given on, for the answer itself."""
        return {"as_of": self.day.isoformat(), "known_at": self.known_at}

    def describe(self) -> str:
        said = f" as recorded at {self.known_at}" if self.known_at else ""
        return f"on {self.day}{said}"


def load(code: numbering.StandardCode, when: When) -> StandardRows:
    rows = service().reads.standard(str(code), when.day, when.known_at)
    if rows is None:
        if when.known_at:
            raise NotFound(f"the register had no {code} at {when.known_at}", code=str(code))
        raise NotFound(f"no standard {code}", code=str(code))
    if rows.state is None:
        raise NotFound(f"{code} did not exist yet on {when.day}", code=str(code))
    return rows


def current(code: numbering.StandardCode) -> None:
    """404 unless the standard exists."""
    if not service().reads.exists(str(code)):
        raise NotFound(f"no standard {code}", code=str(code))


def precondition_required(code: numbering.StandardCode) -> Response:
    """428 for a command without If-Match (404 first if there is no such standard)."""
    current(code)
    return problem(428, "this command needs If-Match with the ETag you last read "
                   "(GET the standard first)", kind="precondition-required")


def run(code_text: str, command: type[commands.StandardCommand], status: int = 200,
        **fields: Any) -> Response:
    """Check If-Match, send the command once (Idempotency-Key), answer with the new state."""
    code = path_code(code_text)
    try:
        condition = if_match()
    except PreconditionRequired:
        return precondition_required(code)

    def send() -> Answer:
        expected = expected_version(code, condition)
        return answer(service().handle(command(code=code, expected_version=expected, actor=actor(),
                                               **fields)), status)

    return respond(idempotent(send, answer_at_version))


def answer_at_version(code_text: str, version: int, status: int = 200) -> Answer:
    """The answer a command gave, rebuilt from the register as it stood right
    after that version was recorded."""
    code = numbering.parse_code(code_text)
    known_at = service().reads.recorded_at_version(str(code), version)
    day = service().today()
    rows = service().reads.standard(str(code), day, known_at)
    assert rows is not None  # that version was recorded
    view = standard_view(rows, day)
    headers = {"ETag": f'"{version}"'}
    if version == 1:
        status = 201
        headers["Location"] = url_for("standards.one", code=str(code))
    return view, status, headers


# ------------------------------------------------------------------ reads
@blp.route("/standards", methods=["GET"])
@blp.arguments(s.CatalogueQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.StandardPage, headers={"ETag": READ_ETAG})
@blp.alt_response(304, description="If-None-Match holds the page's ETag: not modified",
                  headers={"ETag": READ_ETAG})
@documented(401, 422)
def catalogue(limit: int, as_of: date | None = None, known_at: datetime | None = None,
              **filters: Any) -> Response:
    """The catalogue: one row per standard, with its edition in force and status.

    `as_of` asks what was in force on a day; `known_at` what the register said
    at a moment; alone or together."""
    when = When(as_of, known_at)
    key, etag = g.pop("catalogue_key", None) or catalogue_key()  # the guard's, when it ran
    items, more = catalogue_items(when, limit, filters)
    next_url = None
    if more:
        args = {**request.args.to_dict(), "after": items[-1]["code"], "limit": limit}
        next_url = url_for("standards.catalogue", **args)
    # orjson: the bytes json.dumps(ensure_ascii=False, separators=(",", ":")) gives, in a fifth of the
    # time; kept as bytes, so a page sent again from the cache is not encoded again (64 KB of UTF-8)
    page = orjson.dumps({"items": items, "next": next_url})
    current_app.extensions["lifecycle_pages"].put(key, page)
    return page_answer(page, etag)


def catalogue_key() -> tuple[tuple, str]:
    """What a catalogue page is a function of, and its ETag: the query as
    sent, today (the day it is about unless as_of says), the log position,
    and this version's code. A status that changes at midnight changes the
    day; any event, the position."""
    key = (request.full_path, service().today(), service().reads.position())
    return key, read_etag(key)


@functools.lru_cache(maxsize=1024)
def read_etag(key: tuple) -> str:
    return "r" + hashlib.sha256(repr((VERSION, *key)).encode()).hexdigest()[:24]


def unchanged_catalogue() -> Response | None:
    """304 if If-None-Match holds the page's ETag; the page this worker built
    for the same key, if it has it; None: build it."""
    key, etag = g.catalogue_key = catalogue_key()
    if request.if_none_match.contains_weak(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    pages: PageCache = current_app.extensions["lifecycle_pages"]
    page = pages.get(key)
    return page_answer(page, etag) if page is not None else None


def page_answer(page: bytes, etag: str) -> Response:
    return current_app.response_class(page, mimetype="application/json", headers={"ETag": f'"{etag}"'})


def catalogue_items(when: When, limit: int, filters: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """One page of the catalogue as client views, and whether more follow.
    `filters` as the query gives them (any spelling of a category or code)."""
    filters = dict(filters)
    if filters.get("category") is not None:
        filters["category"] = numbering.parse_category(filters["category"]).code
    if filters.get("after") is not None:
        filters["after"] = str(numbering.parse_code(filters["after"]))
    rows, more = service().reads.catalogue(CatalogueFilter(limit=limit, **filters), when.day,
                                           when.known_at)
    return [standard_view(r, when.day, with_editions=False) for r in rows], more


def whole_catalogue(when: When, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Every standard the filters select, in code order (at most 6,000: the
    numbering rules allow no more)."""
    views: list[dict[str, Any]] = []
    while True:
        items, more = catalogue_items(when, 500, filters)
        views += items
        if not more:
            return views
        filters = {**filters, "after": items[-1]["code"]}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def downloadable(view: F) -> F:
    """Marks a read whose answer is a file: signed-in pages may serve it
    through /register/ with the session cookie (api/pages/downloads.py)."""
    view.downloadable = True  # type: ignore[attr-defined]
    return view


@blp.route("/standards.xlsx", methods=["GET"])
@blp.arguments(s.CatalogueSheetQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX,
              description="the catalogue as an Excel workbook (规范目录); a client may read it as "
                          "application/octet-stream")
@blp.alt_response(200, schema={"type": "string", "format": "binary"}, content_type="application/octet-stream",
                  success=True, description="the catalogue as an Excel workbook (规范目录); a client may "
                                            "read it as application/octet-stream")
@documented(401, 422)
@downloadable
def catalogue_sheet(as_of: date | None = None, known_at: datetime | None = None,
                    **filters: Any) -> Response:
    """The catalogue as a spreadsheet (XLSX).

    Every standard the filters select, with the same filters and clocks as
    /standards (no paging), as an Excel workbook with Chinese headings."""
    when = When(as_of, known_at)
    data = render_xlsx(when.day, whole_catalogue(when, filters))
    day = when.day.isoformat()
    # RFC 6266: an ASCII name for old clients, the Chinese one for the rest
    disposition = (f'attachment; filename="jgsw-catalogue-{day}.xlsx"; '
                   f"filename*=UTF-8''{quote(f'规范目录-{day}.xlsx')}")
    return Response(data, mimetype=XLSX, headers={"Content-Disposition": disposition})


class PageCache:
    """Catalogue pages of this worker, by query, day and log position: the
    projections change only when the position moves, and a new position (or
    a new day) is a new key, so a page is never stale. One per Flask app."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.pages: OrderedDict[tuple, bytes] = OrderedDict()
        # Answers sent, by (Authorization, path and query): the user, page and
        # ETag, with the store's change counter and the day they held for.
        self.answers: dict[tuple[str, str], tuple[tuple, Any, bytes, str]] = {}

    def get(self, key: tuple) -> bytes | None:
        page = self.pages.get(key)
        if page is not None:
            self.pages.move_to_end(key)
        return page

    def put(self, key: tuple, page: bytes) -> bytes:
        self.pages[key] = page
        if len(self.pages) > self.size:
            self.pages.popitem(last=False)
        return page

    def again(self, asked: tuple[str, str], holds: tuple) -> tuple[Any, bytes, str] | None:
        """(user, page, ETag) sent for `asked` when `holds` (change counter, day) held, if it still does."""
        found = self.answers.get(asked)
        if found is None or found[0] != holds:
            return None
        return found[1], found[2], found[3]

    def sent(self, asked: tuple[str, str], holds: tuple, user: Any, page: bytes, etag: str) -> None:
        if len(self.answers) >= self.size and asked not in self.answers:
            self.answers.clear()  # bounded: callers are few, and one answer rebuilds an entry
        self.answers[asked] = (holds, user, page, etag)


@blp.route("/standards", methods=["POST"])
@blp.arguments(s.DraftCreate)
@blp.arguments(s.NoQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(201, s.StandardOut, headers=CREATED)
@documented(400, 401, 403, 409, 413, 415, 422)
@blp.doc(parameters=[IDEMPOTENCY_KEY])
def draft(body: dict[str, Any]) -> Response:
    """Draft a new standard in a category; the sub-item is the next free one unless given."""
    category = body.pop("category")
    sub_item = body.pop("sub_item", None)
    reason = body.pop("reason", None)

    def send() -> Answer:
        standard = service().handle(commands.DraftStandard(
            category=category, sub_item=sub_item, fields=body, actor=actor(), reason=reason))
        return answer(standard, 201, Location=url_for("standards.one", code=standard.code))

    return respond(idempotent(send, answer_at_version))


COMMAND_ROUTES["standards.draft"] = (commands.DraftStandard,)


@blp.route("/standards/<code:code>", methods=["GET"])
@blp.arguments(s.Clocks, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.StandardOut, headers=ETAG)
@documented(401, 404, 422)
def one(code: str, as_of: date | None = None, known_at: datetime | None = None) -> Response:
    """One standard: the edition in force, any open draft, all editions in brief.

    The `ETag` is the standard's version: send it back in `If-Match` with the
    next command. `as_of` and `known_at` read it on a day, as recorded at a moment."""
    when = When(as_of, known_at)
    view = standard_view(load(path_code(code), when), when.day)
    return as_json(view, 200, {"ETag": f'"{view["version"]}"'})


@blp.route("/standards/<code:code>/editions", methods=["GET"])
@blp.arguments(s.Clocks, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.EditionPage)
@documented(401, 404, 422)
def editions(code: str, as_of: date | None = None, known_at: datetime | None = None) -> Response:
    """The version history, superseded and withdrawn editions included.

    Every edition that existed on `as_of`, whole and oldest first, with what
    each replaced and was replaced by."""
    when = When(as_of, known_at)
    return as_json({"items": all_editions(load(path_code(code), when), when.day), "next": None})


def all_editions(rows: StandardRows, day: date) -> list[dict[str, Any]]:
    """Every edition that existed on `day`, whole, oldest first."""
    return [edition_view(rows.code, raw, day, rows.editions) for raw in editions_on(rows, day)]


@blp.route("/standards/<code:code>/editions/<year>", methods=["GET"])
@blp.arguments(s.Clocks, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.EditionOut)
@documented(401, 404, 422)
def edition(code: str, year: str, as_of: date | None = None,
            known_at: datetime | None = None) -> dict[str, Any]:
    """One edition, whole.

    `year` is the edition's year code (2018) or its whole number
    (JGSW05001—2018); its amendment sheets and files as of `as_of`."""
    when = When(as_of, known_at)
    rows = load(path_code(code), when)
    return edition_view(rows.code, find_edition(rows, year, when), when.day, rows.editions)


def find_edition(rows: StandardRows, year: str, when: When) -> dict[str, Any]:
    """The edition a path names (404 unless it existed on the day)."""
    wanted = edition_year(rows.code, year)
    existing = editions_on(rows, when.day)
    for raw in existing:
        if raw["year"] == wanted:
            return raw
    raise NotFound(f"{rows.code} has no edition {year!r} {when.describe()}",
                   editions=[f"{rows.code}—{raw['year']}" for raw in existing])


@blp.route("/standards/<code:code>/editions/<year>/references", methods=["GET"])
@blp.arguments(s.Clocks, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.ReferencePage)
@documented(401, 404, 422)
def edition_references(code: str, year: str, as_of: date | None = None,
                       known_at: datetime | None = None) -> Response:
    """What an edition cites (规范性引用文件), each internal reference resolved on `as_of`.

    A dated reference resolves to that edition, with a `warning` when it is
    not in force that day; an undated one to the edition in force that day."""
    when = When(as_of, known_at)
    rows = load(path_code(code), when)
    wanted = edition_year(rows.code, year)
    if wanted is None or wanted not in {raw["year"] for raw in editions_on(rows, when.day)}:
        raise NotFound(f"{rows.code} has no edition {year!r} {when.describe()}")
    items = citations.references(service().reads, rows.code, wanted, when.day, when.known_at)
    return as_json({"items": items, "next": None, **when.echo()})


@blp.route("/standards/<code:code>/referenced-by", methods=["GET"])
@blp.arguments(s.Clocks, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.CitingPage)
@documented(401, 404, 422)
def referenced_by(code: str, as_of: date | None = None, known_at: datetime | None = None) -> Response:
    """The editions in force on `as_of` that cite this standard.

    Dated and undated citations both: what a revision or withdrawal of this
    standard affects."""
    when = When(as_of, known_at)
    rows = load(path_code(code), when)
    items = citations.referenced_by(service().reads, rows.code, when.day, when.known_at)
    return as_json({"items": items, "next": None, **when.echo()})


def edition_year(code: str, segment: str) -> int | None:
    """The year segment of an edition path: `2018`, or the whole edition number
    in any spelling the numbering rules accept (`JGSW05001-2018`)."""
    text = segment.strip()
    if text.isdigit() and len(text) == 4:
        return int(text)
    try:
        number = numbering.parse_edition(text)
    except numbering.NumberError:
        return None
    return number.year if str(number.code) == code else None


# ------------------------------------------------------------------ commands
COMMAND_ERRORS = (400, 401, 403, 404, 409, 412, 413, 415, 422, 428)


def command_route(path: str, command: type[commands.StandardCommand], body: Any, method: str = "POST",
                  *, status: int = 200, body_in: str = "json",
                  variant: tuple[str, type[commands.StandardCommand]] | None = None) -> None:
    """The route of a command on one standard: its arguments' schema (the
    body, or the query of a DELETE), which gives the command's fields; the
    standard as answer with its ETag; every error it can give, documented.
    Its name and description are the command's; the guard checks the
    command's roles (from the registry) before the body is read. Path
    segments after the code (`<year>` of an edition, `<int:n>`) become
    fields too. `variant` = (flag, command): a true boolean field of that
    name in the body sends the other command (same roles, same route)."""
    def route(args: dict[str, Any], code: str, **segments: Any) -> Response:
        sent = command
        if variant is not None and args.pop(variant[0], False):
            sent = variant[1]
        if "year" in segments:
            segments["year"] = path_year(code, segments["year"])
        return run(code, sent, status, **segments, **args)

    name = command.spec.name
    route.__name__ = route.__qualname__ = name
    route.__doc__ = command.__doc__
    COMMAND_ROUTES[f"{blp.name}.{name}"] = (command, *([variant[1]] if variant else []))
    query = [] if body_in == "query" else [
        blp.arguments(s.NoQuery, location="query", as_kwargs=True, unknown=ma.RAISE)]
    for decorate in (blp.doc(parameters=[IF_MATCH, IDEMPOTENCY_KEY]), documented(*COMMAND_ERRORS),
                     blp.response(status, s.StandardOut, headers={**ETAG, **REPLAYED}), *query,
                     blp.arguments(body, location=body_in),
                     blp.route(f"/standards/<code:code>/{path}", methods=[method])):
        route = decorate(route)


def path_year(code_text: str, segment: str) -> int:
    """An edition's year from its path segment (2018, or the whole number); 404 otherwise."""
    code = str(path_code(code_text))
    year = edition_year(code, segment)
    if year is None:
        raise NotFound(f"{segment!r} names no edition of {code}: give its year, e.g. 2018")
    return year


EDITION = "editions/<year>"
for _path, _command, _body, _method, _options in (
    ("draft", commands.EditDraft, s.DraftEdit, "PATCH", {}),
    ("submit", commands.Submit, s.Reason, "POST", {}),
    ("request-changes", commands.RequestChanges, s.ReasonRequired, "POST", {}),
    ("approve", commands.Approve, s.Approve, "POST", {"variant": ("emergency", commands.EmergencyApprove)}),
    ("publish", commands.Publish, s.Publish, "POST", {}),
    ("revisions", commands.OpenRevision, s.Revision, "POST", {}),
    ("withdraw", commands.Withdraw, s.Withdraw, "POST", {}),
    ("withdraw/cancel", commands.CancelWithdrawal, s.ReasonRequired, "POST", {}),
    ("reviews", commands.Review, s.Review, "POST", {}),
    (f"{EDITION}/paperwork", commands.CompletePaperwork, s.Paperwork, "POST", {}),
    (f"{EDITION}/amendments", commands.OpenAmendment, s.AmendmentOpen, "POST", {"status": 201}),
    (f"{EDITION}/amendments/<int:n>/approve", commands.ApproveAmendment, s.AmendmentApprove, "POST", {}),
    (f"{EDITION}/amendments/<int:n>", commands.DropAmendment, s.ReasonRequired, "DELETE",
     {"body_in": "query"}),
):
    command_route(_path, _command, _body, _method, **_options)
