"""An aggregate's projection as *slices*: {(table, identity): payload}. A
pure function of aggregate state (and the office's zone, which turns record
times into days), so replaying the log gives the same rows as the commands
wrote."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from lifecycle.domain import Standard
from lifecycle.status import Paperwork, status_timeline
from lifecycle.users import User

Slices = dict[tuple[str, tuple[Any, ...]], tuple[Any, ...]]


@dataclass(frozen=True)
class StandardRows:
    """What the register said of one standard at one moment, and its state on one day."""

    code: str
    version: int
    stage: str
    doc: dict[str, Any]
    editions: dict[int, dict[str, Any]]
    state: tuple[Any, ...] | None  # status, edition_year, level, title
    found: dict[str, Any] | None = None  # for a search: matched_in (title, text), file, snippet


def _default(o: object) -> str:
    if isinstance(o, date):
        return o.isoformat()
    if hasattr(o, "value"):
        return o.value  # enums
    raise TypeError(type(o))


# One encoder for every document (json.dumps with options builds a new one per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_default)


def dumps(obj: Any) -> str:
    return _ENCODER.encode(obj)


def iso_day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def record_time(ts: datetime) -> str:
    """A record time as fixed-width UTC text (2026-01-02T03:04:05.000000Z), so
    strings sort as times."""
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def edition_number(code: str, year: int | None) -> str | None:
    return f"{code}—{year}" if year is not None else None


class Doc(dict):
    """A JSON document in a slice: compared as a dict, written as JSON text
    (only rows that change are ever serialised)."""

    __slots__ = ()


def to_column(value: Any) -> Any:
    return dumps(value) if isinstance(value, Doc) else value


def _draft_dict(draft: Any) -> dict[str, Any] | None:
    if draft is None:
        return None
    return {**vars(draft), "drafting_units": list(draft.drafting_units),
            "edited_by": list(draft.edited_by), "comments": list(draft.comments),
            "files": dict(draft.files)}


def standard_slices(std: Standard, zone: tzinfo, memo: dict | None = None) -> Slices:
    """`memo` (kept by a Projector across events) skips recomputing the status
    timeline when what it depends on did not change."""
    code = std.code
    log_doc = {
        "category": std.category,
        "sub_item": std.sub_item,
        "workflow_status": std.workflow_status,
        "withdrawn_on": std.withdrawn_on,
        "draft": _draft_dict(std.draft),
        "reviews": list(std.reviews),  # a copy: the slice must not change with the aggregate
        "editions": [e.year for e in std.editions],
    }
    slices: Slices = {("standard_log", (code,)): (std.version, std.stage.value, Doc(log_doc))}
    paperwork = std.paperwork(zone)
    slices.update(_remembered(memo, ("catalogue", code), _catalogue_key(std, paperwork),
                              lambda: _catalogue_slices(std, paperwork)))
    for e in std.editions:
        slices[("edition_states", (code, e.year))] = (Doc(e.as_dict()),)
        for name, f in e.files.items():
            slices[("edition_files", (code, e.year, name))] = (f["media_type"], f["size"], f["sha256"])
    return slices


def _remembered(memo: dict | None, slot: tuple, key: tuple, compute: Callable[[], Slices]) -> Slices:
    if memo is None:
        return compute()
    found = memo.get(slot)
    if found is not None and found[0] == key:
        return found[1]
    value = compute()
    memo[slot] = (key, value)
    return value


def _catalogue_key(std: Standard, paperwork: Paperwork) -> tuple:
    about = std.draft
    return (std.category, paperwork,
            (about.title, about.level) if about is not None else None,
            tuple((e.year, e.approved_on, e.issued_on, e.effective_on, e.trial, e.superseded_on,
                   e.withdrawn_on, e.title, e.level) for e in std.editions))


def _catalogue_slices(std: Standard, paperwork: Paperwork) -> Slices:
    """The status intervals over valid time (lifecycle.status), with the title
    and level of the edition (or draft) each speaks of."""
    out: Slices = {}
    for interval in status_timeline(std.editions, paperwork):
        shown = std.edition(interval.edition_year) if interval.edition_year is not None else None
        about = shown or std.draft or std.editions[-1]
        out[("catalogue_states", (std.code, iso_day(interval.valid_from)))] = (
            iso_day(interval.valid_to), std.category, interval.status, interval.edition_year,
            about.level, about.title,
        )
    return out


def user_row(user: User) -> tuple[Any, ...]:
    return (user.name, ",".join(r.value for r in user.roles), user.token_hash, user.version)


def rows_of(std: Standard, zone: tzinfo, day: date, memo: dict | None = None) -> StandardRows:
    """The StandardRows the tables would give for this aggregate now, on `day`
    (None if it did not exist yet): how a replay is compared with the tables."""
    slices = standard_slices(std, zone, memo)
    version, stage, doc = slices[("standard_log", (std.code,))]
    doc = json.loads(dumps(doc))
    editions = {identity[1]: json.loads(dumps(payload[0])) for (table, identity), payload in slices.items()
                if table == "edition_states"}
    state = None
    for (table, identity), payload in slices.items():
        if table == "catalogue_states" and identity[1] <= day.isoformat() < payload[0]:
            state = payload[2:]
    return StandardRows(std.code, version, stage, doc, editions,
                        tuple(state) if state is not None else None)
