"""An aggregate's projection as *slices*: {(table, identity): payload}. A
pure function of aggregate state (and the office's zone, which turns record
times into days), so replaying the log gives the same rows as the commands
wrote."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, timezone, tzinfo
from typing import Any

from lifecycle.domain import Standard
from lifecycle.status import status_timeline
from lifecycle.users import User

Slices = dict[tuple[str, tuple[Any, ...]], tuple[Any, ...]]


def _default(o: object) -> str:
    if isinstance(o, date):
        return o.isoformat()
    if hasattr(o, "value"):
        return o.value  # enums
    raise TypeError(type(o))


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_default)


def iso_day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def record_time(ts: datetime) -> str:
    """A record time as fixed-width UTC text, so strings sort as times."""
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def edition_number(code: str, year: int | None) -> str | None:
    return f"{code}—{year}" if year is not None else None


def standard_slices(std: Standard, zone: tzinfo) -> Slices:
    code = std.code
    log_doc = {
        "category": std.category,
        "sub_item": std.sub_item,
        "workflow_status": std.workflow_status,
        "withdrawn_on": std.withdrawn_on,
        "draft": asdict(std.draft) if std.draft is not None else None,
        "reviews": std.reviews,
        "editions": [e.year for e in std.editions],
    }
    slices: Slices = {("standard_log", (code,)): (std.version, std.stage.value, dumps(log_doc))}
    for interval in status_timeline(std.editions, std.paperwork(zone)):
        shown = std.edition(interval.edition_year) if interval.edition_year is not None else None
        about = shown or std.draft or std.editions[-1]
        slices[("catalogue_states", (code, iso_day(interval.valid_from)))] = (
            iso_day(interval.valid_to), std.category, interval.status, interval.edition_year,
            about.level, about.title,
        )
    for e in std.editions:
        slices[("edition_states", (code, e.year))] = (dumps(e.as_dict()),)
    return slices


def user_row(user: User) -> tuple[Any, ...]:
    return (user.name, ",".join(r.value for r in user.roles), user.token_hash, user.version)


def rows_of(std: Standard, zone: tzinfo, day: date):
    """The StandardRows the tables would give for this aggregate now, on `day`
    (None if it did not exist yet): how a replay is compared with the tables."""
    from projections.queries import StandardRows

    slices = standard_slices(std, zone)
    version, stage, doc = slices[("standard_log", (std.code,))]
    editions = {identity[1]: json.loads(payload[0]) for (table, identity), payload in slices.items()
                if table == "edition_states"}
    state = None
    for (table, identity), payload in slices.items():
        if table == "catalogue_states" and identity[1] <= day.isoformat() < payload[0]:
            state = payload[2:]
    return StandardRows(std.code, version, stage, json.loads(doc), editions,
                        tuple(state) if state is not None else None)
