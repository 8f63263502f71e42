"""The audit log (auditors and admins): the whole log in recorded order,
cursor-paged by position, and one standard's events."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app, request, url_for
from flask_smorest import Blueprint

from api import schemas as s
from api.auth import check_access
from api.problems import document
from api.standards import current, path_code
from lifecycle.domain import standard_id
from projections.audit import entry

blp = Blueprint("audit", __name__, description="The audit log")


@blp.before_request
def guard():
    return check_access("read_audit")


def _entries(notifications: list[Any]) -> list[dict[str, Any]]:
    app = current_app.extensions["lifecycle"]
    events = [app.mapper.to_domain_event(n) for n in notifications]
    names = app.reads.originator_names(sorted({str(e.originator_id) for e in events}))
    hashes = app.reads.chain_hashes([n.id for n in notifications])
    return [entry(n.id, e, names.get(str(e.originator_id)), hashes.get(n.id))
            for n, e in zip(notifications, events)]


@blp.route("/events", methods=["GET"])
@blp.arguments(s.EventsQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.EventPage)
@document(blp, 401, 403, 422, 503)
def events(after: int, limit: int):
    """The whole audit log in recorded order; page on with `after` (a position)."""
    app = current_app.extensions["lifecycle"]
    batch = app.recorder.select_notifications(start=after + 1, limit=limit + 1)
    more = len(batch) > limit
    items = _entries(list(batch[:limit]))
    next_url = None
    if more:
        next_url = url_for("audit.events", after=items[-1]["position"], limit=limit)
    return {"items": items, "next": next_url}


@blp.route("/standards/<code:code>/events", methods=["GET"])
@blp.arguments(s.NoQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.EventPage)
@document(blp, 401, 403, 404, 422, 503)
def standard_events(code: str):
    """Every recorded event of one standard, in order: what, who, when recorded, why."""
    parsed = path_code(code)
    current(parsed)
    app = current_app.extensions["lifecycle"]
    return {"items": _entries(app.recorder.select_standard_events(standard_id(parsed))),
            "next": None}
