"""Status as of a day, derived from an edition's dates (DOMAIN.md §4).

One place decides what an edition is on a given calendar day; the catalogue's
status timeline (projections) and every view are built from these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

LABELS = {
    "draft": "草案",
    "under_review": "审查中",
    "approved": "已批准",
    "issued": "即将实施",
    "trial": "试行",
    "current": "现行",
    "superseded": "被代替",
    "withdrawn": "废止",
}
STANDARD_STATUSES = ("draft", "under_review", "approved", "issued", "trial", "current", "withdrawn")
EDITION_STATUSES = (*STANDARD_STATUSES, "superseded")
IN_FORCE = ("trial", "current")

FIRST_DAY = date.min
LAST_DAY = date.max


class EditionDates(Protocol):
    year: int
    approved_on: date
    issued_on: date | None
    effective_on: date | None
    trial: bool
    superseded_on: date | None
    withdrawn_on: date | None


def edition_status(edition: EditionDates, day: date) -> str:
    """What an approved edition is on `day`."""
    if edition.issued_on is None or day < edition.issued_on:
        return "approved"
    if edition.withdrawn_on is not None and day >= edition.withdrawn_on:
        return "withdrawn"
    if edition.superseded_on is not None and day >= edition.superseded_on:
        return "superseded"
    if edition.effective_on is not None and day < edition.effective_on:
        return "issued"
    return "trial" if edition.trial else "current"


def replacement_day(edition: EditionDates, successor: EditionDates) -> date | None:
    """The day `successor` replaces `edition` (代替), or None if it never does:
    its effective day, if it took effect then (it was not withdrawn before)
    while `edition` was still in force (not withdrawn before it either). An
    edition withdrawn before its successor takes effect is withdrawn, never
    superseded (issue 10, findings 16 and 17)."""
    eff = successor.effective_on
    if eff is None:
        return None
    for e in (successor, edition):
        if e.withdrawn_on is not None and e.withdrawn_on <= eff:
            return None
    return eff


def _took_effect(edition: EditionDates, day: date) -> bool:
    """Was the edition ever in force by `day`? (Not if withdrawn before its effective date.)"""
    eff = edition.effective_on
    return eff is not None and eff <= day and (edition.withdrawn_on is None or eff < edition.withdrawn_on)


@dataclass(frozen=True)
class StandardStatus:
    status: str
    edition: EditionDates | None  # the edition `status` speaks of (API.md)


@dataclass(frozen=True)
class Paperwork:
    """Days of the first edition's paperwork, in the office's calendar: they
    place draft (草案) and review (审查中) in valid time before approval."""

    workflow_status: str            # draft | under_review | approved, as recorded now
    drafted_on: date | None = None  # None: known since always
    submitted_on: date | None = None  # the last submission before approval


def _paperwork(p: Paperwork | str) -> Paperwork:
    return Paperwork(p) if isinstance(p, str) else p


def exists_from(editions: Sequence[EditionDates], paperwork: Paperwork | str) -> date:
    """The first day on which the standard exists in valid time: when it was
    drafted, or approved if that was earlier (a catalogue entered later)."""
    p = _paperwork(paperwork)
    days = [d for d in (p.drafted_on, editions[0].approved_on if editions else None) if d]
    return min(days) if p.drafted_on is not None else FIRST_DAY


def pre_issue_status(editions: Sequence[EditionDates], paperwork: Paperwork | str, day: date) -> str:
    p = _paperwork(paperwork)
    if editions and day >= editions[0].approved_on:
        return "approved"
    if p.drafted_on is None:
        return p.workflow_status
    reviewing = bool(editions) or p.workflow_status == "under_review"
    if reviewing and p.submitted_on is not None and day >= p.submitted_on:
        return "under_review"
    return "draft"


def standard_status(
    editions: Sequence[EditionDates], paperwork: Paperwork | str, day: date
) -> StandardStatus | None:
    """A standard's status on `day`: that of its edition in force; else of the
    one issued and awaiting its effective date; else the last one in force
    (then withdrawn); before any issue, where its paperwork stood. None
    before the standard existed. `paperwork` may be just today's workflow
    status, when the days of drafting are not known."""
    p = _paperwork(paperwork)
    if day < exists_from(editions, p):
        return None
    return _status_on(editions, p, day)


def _status_on(editions: Sequence[EditionDates], p: Paperwork, day: date) -> StandardStatus:
    """standard_status for a day on which the standard exists (one pass)."""
    in_force = awaiting = last_issued = was_in_force = None
    for e in editions:
        if e.issued_on is None or e.issued_on > day:
            continue
        last_issued = e
        status = edition_status(e, day)
        if status in IN_FORCE:
            in_force = (status, e)
        elif status == "issued":
            awaiting = (status, e)
        if _took_effect(e, day):
            was_in_force = e
    if in_force is not None:
        return StandardStatus(*in_force)
    if awaiting is not None:
        return StandardStatus(*awaiting)
    if last_issued is not None:
        return StandardStatus("withdrawn", was_in_force or last_issued)
    return StandardStatus(pre_issue_status(editions, p, day), None)


def change_days(editions: Sequence[EditionDates], paperwork: Paperwork | str = "draft") -> list[date]:
    """Every day on which some status can change."""
    p = _paperwork(paperwork)
    days = {
        d
        for e in editions
        for d in (e.approved_on, e.issued_on, e.effective_on, e.superseded_on, e.withdrawn_on)
        if d is not None
    }
    days.update(d for d in (p.drafted_on, p.submitted_on) if d is not None)
    return sorted(days)


@dataclass(frozen=True)
class Interval:
    """`status` holds on every day in [valid_from, valid_to)."""

    valid_from: date
    valid_to: date
    status: str
    edition_year: int | None


def status_timeline(editions: Sequence[EditionDates], paperwork: Paperwork | str) -> list[Interval]:
    """The standard's status over valid time, as adjacent intervals from the
    day it came to exist."""
    p = _paperwork(paperwork)
    first = exists_from(editions, p)
    starts = [first, *(d for d in change_days(editions, p) if d > first)]
    ends = [*starts[1:], LAST_DAY]
    intervals: list[Interval] = []
    for start, end in zip(starts, ends, strict=True):
        s = _status_on(editions, p, start)
        year = s.edition.year if s.edition is not None else None
        begins = start
        if intervals and (intervals[-1].status, intervals[-1].edition_year) == (s.status, year):
            begins = intervals.pop().valid_from  # the same status goes on: one interval
        intervals.append(Interval(begins, end, s.status, year))
    return intervals
