"""Read-only pages in Chinese for the people of the office (API.md "Pages
for people"): the catalogue, a standard with its edition timeline, the
review due list, sign-in and sign-out. Server-rendered with Flask's Jinja
templates; they work with JavaScript off (the pages load no script). They
read through the same functions as the API (api/standards.py) and change
nothing: the only forms sign in and out."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import marshmallow as ma
from flask import Blueprint, Flask, Response, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_smorest import abort

from api import schemas as s
from api.bootstrap import service
from api.pages import docs
from api.pages.downloads import serve_download
from api.pages.session import Reader, configure, sign_in, sign_out, signed_in
from api.pages.timeline import timeline
from api.pages.words import (
    AMENDMENT_STATUS,
    DUE_REASONS,
    OUTCOME_LABELS,
    ROLE_LABELS,
    chinese_date,
    day_element,
    local_time,
    status_element,
)
from api.problems import PROBLEM, problem
from api.standards import When, all_editions, catalogue_items, load, path_code
from lifecycle import numbering
from lifecycle.domain import LEVEL_LABELS, LEVELS
from lifecycle.status import LABELS, STANDARD_STATUSES
from projections import citations
from projections.views import standard_view

blp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                static_url_path="/register/static")

PUBLIC = {"pages.home", "pages.sign_in_page", "pages.static"}

# What every answer carries: no script or style from anywhere but here, none
# inline, no framing (clickjacking), no guessing of content types.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

HEADLINES = {400: "请求有误", 401: "请先登录", 403: "无权查看", 404: "没有找到", 405: "不支持这种操作",
             413: "内容太大", 415: "内容类型不对", 422: "输入有误", 503: "登记簿暂时无法访问"}


def init_app(app: Flask) -> None:
    configure(app)
    app.register_blueprint(blp)
    app.register_blueprint(docs.blp)
    app.after_request(security_headers)
    app.add_template_filter(chinese_date, "cn_date")
    app.add_template_filter(day_element, "day")
    app.add_template_filter(status_element, "status")


def security_headers(response: Response) -> Response:
    # (one pass over the headers: werkzeug's setdefault raises and catches a KeyError per missing name)
    present = {name.lower() for name, _ in response.headers.items()}
    response.headers.extend([(name, value) for name, value in SECURITY_HEADERS.items()
                             if name.lower() not in present])
    return response


def wants_html() -> bool:
    """A browser (Accept: text/html first) gets pages; scripts get problem+json."""
    best = request.accept_mimetypes.best_match([PROBLEM, "application/json", "text/html"])
    return best == "text/html"


# ------------------------------------------------------------------ every request
@blp.before_request
def guard() -> ResponseReturnValue | None:
    if "token" in request.args:
        return problem(400, "a token never goes in a URL: type it into the sign-in form "
                       "at /register/sign-in", kind="token-in-url")
    if request.endpoint in PUBLIC:
        return None
    reader = signed_in()
    if reader is None:
        if wants_html():
            return redirect(url_for("pages.sign_in_page", next=local_target(request.full_path)), 303)
        return problem(401, "sign in at /register/sign-in first", kind="unauthorized")
    g.reader = reader
    return None


@blp.after_request
def as_page(response: Response) -> Response:
    """A problem answered to a browser becomes a page in Chinese with the same
    status and detail; pages of signed-in readers are never cached."""
    response.headers.setdefault("Cache-Control", "no-store")
    if response.mimetype != PROBLEM or not wants_html():
        return response
    body = json.loads(response.get_data(as_text=True))
    page = make_response(render_template("pages/error.html", problem=body,
                                         headline=HEADLINES.get(response.status_code, "出错了")),
                         response.status_code)
    for name in ("Allow", "Retry-After", "Cache-Control"):
        if name in response.headers:
            page.headers[name] = response.headers[name]
    return page


@blp.context_processor
def words() -> dict[str, Any]:
    reader: Reader | None = g.get("reader")
    return {
        "reader": reader,
        "role_words": "、".join(ROLE_LABELS[r.value] for r in sorted(reader.roles, key=lambda r: r.value))
        if reader else "",
        "categories": numbering.CATEGORIES, "levels": [(v, LEVEL_LABELS[v]) for v in LEVELS],
        "statuses": [(v, LABELS[v]) for v in STANDARD_STATUSES], "status_words": LABELS,
        "outcome_words": OUTCOME_LABELS, "due_words": DUE_REASONS, "amendment_words": AMENDMENT_STATUS,
        "today": service().today(),
    }


def query(schema: ma.Schema) -> dict[str, Any]:
    """The page's query through the API's own schema: empty form fields are
    left out, a parameter given twice is refused, anything unknown too (422)."""
    given: dict[str, Any] = {}
    for name, values in request.args.to_dict(flat=False).items():
        filled = [v for v in values if v.strip()]
        if len(filled) > 1:
            abort(422, errors={name: ["given more than once"]})
        if filled:
            given[name] = filled[0]
    try:
        loaded: dict[str, Any] = schema.load(given, unknown=ma.RAISE)
    except ma.ValidationError as e:
        abort(422, errors=e.messages)
    return loaded


def page_url(endpoint: str, args: dict[str, Any]) -> str:
    return url_for(endpoint, **args)


def local_target(path: str | None) -> str:
    """Where to go after signing in: a page of the register, never another site."""
    path = (path or "").rstrip("?")
    if re.fullmatch(r"/register/[^\\\s]*", path) and not path.startswith("//"):
        return path
    return url_for("pages.catalogue")


def same_origin() -> bool:
    """A form posted from a page of this site (browsers send Origin with every POST)."""
    origin = request.headers.get("Origin")
    return origin is None or origin == request.host_url.rstrip("/")


# ------------------------------------------------------------------ pages
@blp.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("pages.catalogue"))


@blp.get("/register/")
def catalogue() -> str:
    args = query(s.CatalogueQuery())
    limit = args.pop("limit")
    when = When(args.pop("as_of", None), args.pop("known_at", None))
    items, more = catalogue_items(when, limit, args)
    shown = {k: v for k, v in request.args.items() if v.strip() and k != "after"}
    sheet = {k: v for k, v in shown.items() if k != "limit"}
    return render_template(
        "pages/catalogue.html", items=items, when=when, shown=shown,
        next_page=page_url("pages.catalogue", {**shown, "after": items[-1]["code"]}) if more else None,
        first_page=page_url("pages.catalogue", shown) if "after" in request.args else None,
        sheet_url=page_url("pages.catalogue_sheet", sheet),
        category_names={c: cat.name for c, cat in numbering.CATEGORIES.items()})


@blp.get("/register/standards/<code:code>")
def standard(code: str) -> str:
    when = When(**query(s.Clocks()))
    rows = load(path_code(code), when)
    view = standard_view(rows, when.day)
    editions = all_editions(rows, when.day)
    reader: Reader = g.reader
    history = service().events_of(numbering.parse_code(rows.code)) if reader.reads_audit else None
    zone, today = service().settings.zone, service().today()
    shown = view["edition"]
    in_force = next((e for e in editions if shown and e["number"] == shown["number"]), None)
    cited = (citations.references(service().reads, rows.code, in_force["year"], when.day, when.known_at)
             if in_force else [])
    view["referenced_by"] = citations.referenced_by(service().reads, rows.code, when.day, when.known_at)
    return render_template(
        "pages/standard.html", view=view, editions=editions, when=when, in_force=in_force,
        # the files section is shown once the views carry them
        files=(in_force or {}).get("files") or [], references=cited,
        # the timeline shows every edition known, the day asked about as a line on it
        drawing=timeline(all_editions(rows, max(today, when.day)), today, when.day), history=history,
        recorded=lambda at: local_time(at, zone),
        category_name=numbering.CATEGORIES[view["category"]].name)


def due_reviews(day: date, within: int) -> list[dict[str, Any]]:
    """The review due list, as the API's /reviews/due gives it."""
    return citations.due(service().reads, day, within, None)


@blp.get("/register/reviews")
def reviews() -> str:
    args = query(s.DueQuery())
    when = When(args.get("as_of"))
    return render_template("pages/reviews.html", items=due_reviews(when.day, args["within"]),
                           when=when, within=args["within"])


# ------------------------------------------------------------------ downloads
@blp.get("/register/standards.xlsx")
def catalogue_sheet() -> Response:
    return serve_download("/api/v1/standards.xlsx", g.reader)


@blp.get("/register/standards/<code:code>/editions/<year>/files/<path:name>")
def edition_file(code: str, year: str, name: str) -> Response:
    return serve_download(f"/api/v1/standards/{code}/editions/{year}/files/{name}", g.reader)


# ------------------------------------------------------------------ signing in and out
@blp.route("/register/sign-in", methods=["GET", "POST"])
def sign_in_page() -> ResponseReturnValue:
    target = local_target(request.values.get("next"))
    if request.method == "GET":
        if signed_in() is not None:
            return redirect(target, 303)
        return render_template("pages/sign_in.html", target=target)
    if not same_origin():
        return problem(403, "sign in from this site's own form", kind="cross-site")
    token = request.form.get("token", "").strip()
    if not token or sign_in(token) is None:
        if not wants_html():
            return problem(401, "that token is not valid: it may be mistyped, revoked or replaced",
                           kind="unauthorized")
        return render_template("pages/sign_in.html", target=target,
                               error="令牌无效：可能输错了，或已被停用、更换。"), 401
    return redirect(target, 303)


@blp.route("/register/sign-out", methods=["GET", "POST"])
def sign_out_page() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("pages/sign_out.html")
    if not same_origin():
        return problem(403, "sign out from this site's own form", kind="cross-site")
    sign_out()
    return redirect(url_for("pages.sign_in_page"), 303)


@blp.get("/register/<path:anything>")
def unknown(anything: str) -> Response:
    return problem(404, f"the register has no page {request.path}")
