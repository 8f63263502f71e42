"""The standards resource: reads from the projections, commands through the
application. Every command on an existing standard needs If-Match."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request, url_for
from flask_smorest import Blueprint

from api import schemas as s
from api.auth import actor, authorize, require_login
from api.problems import ProblemSchema, problem
from lifecycle import numbering
from lifecycle.application import StandardsApp
from lifecycle.errors import NotFound
from projections.queries import CatalogueFilter
from projections.views import edition_view, standard_view

blp = Blueprint("standards", __name__, description="Standards and their editions")

# endpoint -> the command whose roles it needs (lifecycle.users.PERMISSIONS)
COMMAND_OF = {
    "standards.draft": "draft", "standards.edit_draft": "edit_draft",
    "standards.submit": "submit", "standards.request_changes": "request_changes",
    "standards.approve": "approve", "standards.publish": "publish",
    "standards.open_revision": "open_revision", "standards.withdraw": "withdraw",
    "standards.review": "review",
}


@blp.before_request
def guard():
    """Authenticate, then check the role before the body is even read."""
    refused = require_login()
    if refused is not None:
        return refused
    if request.endpoint in COMMAND_OF:
        authorize(COMMAND_OF[request.endpoint])
    return None

ERRORS = {
    400: "malformed JSON", 401: "no valid token", 403: "role or rule forbids it",
    404: "no such standard", 409: "invalid transition or conflict",
    412: "If-Match is stale", 413: "body too large", 422: "invalid input",
    428: "If-Match required",
}


def documented(*codes: int):
    def wrap(f):
        for code in codes:
            f = blp.alt_response(code, schema=ProblemSchema, description=ERRORS[code])(f)
        return f
    return wrap


class PreconditionRequired(Exception):
    pass


def service() -> StandardsApp:
    return current_app.extensions["lifecycle"]


def path_code(text: str) -> numbering.StandardCode:
    try:
        return numbering.parse_code(text)
    except numbering.NumberError as e:
        raise NotFound(f"{text!r} is not a standard number: {e.message}", reason=e.reason) from None


def if_match() -> int | None:
    """The version the client last read (ETag "N"); None for `If-Match: *`."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequired()
    if header == "*":
        return None
    tag = header.removeprefix("W/").strip().strip('"')
    if not tag.isdigit() or len(tag) > 12:
        return -1  # matches no version: 412
    return int(tag)


def answer(standard_doc: dict[str, Any], status: int = 200, **headers: str):
    view = standard_view(standard_doc, service().today())
    return view, status, {"ETag": f'"{view["version"]}"', **headers}


def current(code: numbering.StandardCode) -> dict[str, Any]:
    doc = service().reads.standard(str(code))
    if doc is None:
        raise NotFound(f"no standard {code}", code=str(code))
    return doc


def run(code_text: str, method: str, **kwargs: Any):
    """Check If-Match, run the command, answer with the new state."""
    code = path_code(code_text)
    try:
        expected = if_match()
    except PreconditionRequired:
        current(code)  # 404 first if there is no such standard
        return problem(428, "this command needs If-Match with the ETag you last read "
                       "(GET the standard first)", kind="precondition-required")
    getattr(service(), method)(code, expected, actor=actor(), **kwargs)
    return answer(current(code))


# ------------------------------------------------------------------ reads
@blp.route("/standards", methods=["GET"])
@blp.arguments(s.CatalogueQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.StandardPage)
@documented(401, 422)
def catalogue(limit: int, **filters: Any):
    """The catalogue: one row per standard, with its edition in force and status."""
    if filters.get("category") is not None:
        filters["category"] = numbering.parse_category(filters["category"]).code
    if filters.get("after") is not None:
        filters["after"] = str(numbering.parse_code(filters["after"]))
    day = service().today()
    rows, more = service().reads.catalogue(CatalogueFilter(limit=limit, **filters), day)
    items = [standard_view(doc, day, with_editions=False) for doc, _ in rows]
    next_url = None
    if more:
        args = {**request.args.to_dict(), "after": items[-1]["code"], "limit": limit}
        next_url = url_for("standards.catalogue", **args)
    return {"items": items, "next": next_url}


@blp.route("/standards", methods=["POST"])
@blp.arguments(s.DraftCreate)
@blp.response(201, s.StandardOut)
@documented(400, 401, 403, 409, 413, 422)
def draft(body: dict[str, Any]):
    """Draft a new standard in a category; the sub-item is the next free one unless given."""
    category = body.pop("category")
    sub_item = body.pop("sub_item", None)
    reason = body.pop("reason", None)
    standard = service().draft(category, body, actor=actor(), sub_item=sub_item, reason=reason)
    location = url_for("standards.one", code=standard.code)
    return answer(current(numbering.parse_code(standard.code)), 201, Location=location)


@blp.route("/standards/<code:code>", methods=["GET"])
@blp.response(200, s.StandardOut)
@documented(401, 404)
def one(code: str):
    """One standard: the edition in force, any open draft, all editions in brief."""
    return answer(current(path_code(code)))


@blp.route("/standards/<code:code>/editions", methods=["GET"])
@blp.response(200, s.EditionPage)
@documented(401, 404)
def editions(code: str):
    """The version history, superseded and withdrawn editions included."""
    doc = current(path_code(code))
    day = service().today()
    return {"items": [edition_view(doc["code"], e, day) for e in doc["editions"]], "next": None}


@blp.route("/standards/<code:code>/editions/<year>", methods=["GET"])
@blp.response(200, s.EditionOut)
@documented(401, 404)
def edition(code: str, year: str):
    """One edition, whole."""
    doc = current(path_code(code))
    for raw in doc["editions"]:
        if str(raw["year"]) == year.strip():
            return edition_view(doc["code"], raw, service().today())
    raise NotFound(f"{doc['code']} has no edition {year!r}",
                   editions=[f"{doc['code']}—{e['year']}" for e in doc["editions"]])


# ------------------------------------------------------------------ commands
COMMAND_ERRORS = (400, 401, 403, 404, 409, 412, 413, 422, 428)


@blp.route("/standards/<code:code>/draft", methods=["PATCH"])
@blp.arguments(s.DraftEdit)
@blp.response(200, s.StandardOut)
@documented(*COMMAND_ERRORS)
def edit_draft(body: dict[str, Any], code: str):
    """Edit the open draft."""
    reason = body.pop("reason", None)
    return run(code, "edit_draft", changes=body, reason=reason)


@blp.route("/standards/<code:code>/submit", methods=["POST"])
@blp.arguments(s.Reason)
@blp.response(200, s.StandardOut)
@documented(*COMMAND_ERRORS)
def submit(body: dict[str, Any], code: str):
    """Submit the open draft for review (送审)."""
    return run(code, "submit", reason=body.get("reason"))


@blp.route("/standards/<code:code>/request-changes", methods=["POST"])
@blp.arguments(s.ReasonRequired)
@blp.response(200, s.StandardOut)
@documented(*COMMAND_ERRORS)
def request_changes(body: dict[str, Any], code: str):
    """Send the draft back to the drafter with a comment (退回修改)."""
    return run(code, "request_changes", reason=body["reason"])


@blp.route("/standards/<code:code>/approve", methods=["POST"])
@blp.arguments(s.Approve)
@blp.response(200, s.StandardOut)
@documented(*COMMAND_ERRORS)
def approve(body: dict[str, Any], code: str):
    """Approve (批准): the approval date's year becomes the year code."""
    return run(code, "approve", approved_on=body.get("approved_on"), reason=body.get("reason"))


@blp.route("/standards/<code:code>/publish", methods=["POST"])
@blp.arguments(s.Publish)
@blp.response(200, s.StandardOut)
@documented(*COMMAND_ERRORS)
def publish(body: dict[str, Any], code: str):
    """Issue (发布) the approved edition: issue date, effective date, trial or formal."""
    return run(code, "publish", issued_on=body["issued_on"], effective_on=body["effective_on"],
               trial=body["trial"], reason=body.get("reason"))


@blp.route("/standards/<code:code>/revisions", methods=["POST"])
@blp.arguments(s.Revision)
@blp.response(200, s.StandardOut)
@documented(*COMMAND_ERRORS)
def open_revision(body: dict[str, Any], code: str):
    """Open a revision draft (修订); the edition in force stays in force."""
    return run(code, "open_revision", reason=body["reason"], title=body.get("title"))


@blp.route("/standards/<code:code>/withdraw", methods=["POST"])
@blp.arguments(s.Withdraw)
@blp.response(200, s.StandardOut)
@documented(*COMMAND_ERRORS)
def withdraw(body: dict[str, Any], code: str):
    """Withdraw (废止) the standard from a date, with a reason."""
    return run(code, "withdraw", withdrawn_on=body["withdrawn_on"], reason=body["reason"])


@blp.route("/standards/<code:code>/reviews", methods=["POST"])
@blp.arguments(s.Review)
@blp.response(200, s.StandardOut)
@documented(*COMMAND_ERRORS)
def review(body: dict[str, Any], code: str):
    """Record a periodic review (复审): confirm, revise or withdraw."""
    return run(code, "review", reviewed_on=body["reviewed_on"], outcome=body["outcome"],
               reason=body.get("reason"))
