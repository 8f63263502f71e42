"""The periodic review due list (复审): what every signed-in user may read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import marshmallow as ma
from flask import Response, request, url_for

from api import schemas as s
from api.auth import check_access
from api.bootstrap import service
from api.inputs import Blueprint
from api.problems import document
from api.standards import When, as_json
from projections import citations

blp = Blueprint("reviews", __name__, description="Periodic review")


@blp.before_request
def guard() -> Response | None:
    return check_access(None)


@blp.route("/reviews/due", methods=["GET"])
@blp.arguments(s.DueQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, s.DuePage)
@document(blp, 401, 422, 503)
def due(within: int, limit: int, as_of: date | None = None, known_at: datetime | None = None,
        after: str | None = None) -> Response:
    """What is due for periodic review on `as_of` or within `within` days, and why.

    Reasons: `interval` (review_years after the effective date or the last
    review), `reference_changed` (a standard it cites took a new edition
    into force or was withdrawn), `paperwork` (an emergency approval whose
    paperwork is not complete). Recording a review closes the item."""
    when = When(as_of, known_at)
    items = citations.due(service().reads, when.day, within, when.known_at)
    if after is not None:
        items = [i for i in items if f"{i['due_on']}.{i['code']}" > after]
    page, more = items[:limit], len(items) > limit
    next_url = None
    if more:
        args: dict[str, Any] = {**request.args.to_dict(), "after": f"{page[-1]['due_on']}.{page[-1]['code']}"}
        next_url = url_for("reviews.due", **args)
    return as_json({"items": page, "next": next_url, "within": within, **when.echo()})
