"""Categories, the number parser, health."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, request

from api import schemas as s
from api.auth import check_access
from api.bootstrap import service
from api.inputs import Blueprint
from api.operations import PROJECTIONS
from api.problems import document
from lifecycle import VERSION, numbering

blp = Blueprint("meta", __name__, description="Numbering, categories and health")


@blp.before_request
def guard() -> Response | None:
    if request.endpoint == "meta.health":
        return None  # liveness needs no token
    return check_access(None)


@blp.route("/categories", methods=["GET"])
@blp.arguments(s.NoQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.CategoryPage)
@document(blp, 401, 422, 503)
def categories() -> dict[str, Any]:
    """The six categories (JGSW01001 §4.2) with counts and the next free sub-item.

    Counts are of standards by status today; `next_code` is the number a
    draft in that category would get."""
    app = service()
    counts = app.reads.category_counts(app.today())
    items = []
    for code, cat in numbering.CATEGORIES.items():
        entry = counts.get(code, {"standards": 0})
        try:
            nxt = numbering.next_sub_item(app.reads.used_sub_items(code))
        except numbering.NumberError:
            nxt = None  # 999 taken: the category is full
        items.append({
            "code": code, "name": cat.name, "name_en": cat.name_en,
            "standards": entry["standards"],
            "by_status": {k: v for k, v in entry.items() if k != "standards"},
            "next_sub_item": nxt,
            "next_code": str(numbering.make_code(code, nxt)) if nxt else None,
        })
    return {"items": items, "next": None}


@blp.route("/numbers/<text:text>", methods=["GET"])
@blp.arguments(s.NoQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.NumberOut)
@document(blp, 401, 422, 503)
def parse_number(text: str) -> dict[str, Any]:
    """Parse any reasonable spelling of a standard or edition number.

    Full-width digits, spaces, hyphens for the dash, lower case: the
    canonical number, or a 422 saying what is wrong with it."""
    parsed = numbering.parse(text)
    code = parsed if isinstance(parsed, numbering.StandardCode) else parsed.code
    return {
        "input": text,
        "canonical": str(parsed),
        "code": str(code),
        "prefix": numbering.PREFIX,
        "category": code.category,
        "category_name": numbering.CATEGORIES[code.category].name,
        "sub_item": code.sub_item,
        "year": getattr(parsed, "year", None),
    }


@blp.route("/health", methods=["GET"])
@blp.response(200, s.HealthOut)
@document(blp, 503)
@blp.doc(security=[])
def health() -> dict[str, Any]:
    """Liveness and the store in use; no auth.

    The store's kind, the log's last position and each projection's position
    (equal except while a rebuild runs)."""
    app = service()
    position = app.log_position()
    return {
        "status": "ok",
        "version": VERSION,
        "schema": app.schema_version(),
        "store": app.settings.store_kind,
        "position": position,
        # The projections advance together, in the transaction of each command.
        "projections": dict.fromkeys(PROJECTIONS, app.reads.position()),
    }
