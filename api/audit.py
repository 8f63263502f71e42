"""The audit log (auditors and admins): the whole log in recorded order,
cursor-paged by position, and one standard's events."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, url_for

from api import schemas as s
from api.auth import check_access
from api.bootstrap import service
from api.inputs import Blueprint
from api.problems import document
from api.standards import current, path_code

blp = Blueprint("audit", __name__, description="The audit log")


@blp.before_request
def guard() -> Response | None:
    return check_access("read_audit")


@blp.route("/events", methods=["GET"])
@blp.arguments(s.EventsQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.EventPage)
@document(blp, 401, 403, 422, 503)
def events(after: int, limit: int) -> dict[str, Any]:
    """The whole audit log in recorded order; page on with `after` (a position).

    Auditors and admins. Each event with who, when recorded, why, its data,
    its chain hash and, for approvals and the like, what signing it meant."""
    items, more = service().audit.page(after, limit)
    next_url = url_for("audit.events", after=items[-1]["position"], limit=limit) if more else None
    return {"items": items, "next": next_url}


@blp.route("/standards/<code:code>/events", methods=["GET"])
@blp.arguments(s.NoQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.EventPage)
@document(blp, 401, 403, 404, 422, 503)
def standard_events(code: str) -> dict[str, Any]:
    """Every recorded event of one standard, in order: what, who, when recorded, why.

    Auditors and admins; the same entries as /events, for one standard."""
    parsed = path_code(code)
    current(parsed)
    return {"items": service().events_of(parsed), "next": None}
