"""Periodic review (复审): when a standard in force is due, and why.

- `interval`: an edition in force is due `review_years` (1–5; China's
  Standardization Law art. 29 sets at most five) after its effective date
  or the last review, whichever is later. Any review restarts the clock.
- `reference_changed`: when a standard it cites takes a new edition into
  force, or is withdrawn, after the citing edition took effect; due from
  that day until the citing standard is reviewed on or after it.
- `paperwork`: an emergency approval whose paperwork is not yet completed.

Pure functions of a standard's editions and reviews (the projections keep
their results bitemporally), and of candidate rows (the due list's read)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from lifecycle.status import IN_FORCE, Interval, replacement_day

DEFAULT_WITHIN = 90  # days ahead the due list looks by default

INTERVAL = "interval"
REFERENCE_CHANGED = "reference_changed"
PAPERWORK = "paperwork"


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class ClockSegment:
    """While `valid_from <= day < valid_to`, edition `year` is due on `due_on`."""

    valid_from: date
    valid_to: date
    year: int
    clock_from: date  # its effective date, or the last review
    due_on: date


def review_clock(timeline: Sequence[Interval], editions: Sequence[Any], reviewed_on: Iterable[date],
                 default_years: int) -> list[ClockSegment]:
    """The due date of the edition in force over valid time: one segment per
    stretch in force, cut at every review."""
    by_year = {e.year: e for e in editions}
    reviews = sorted(set(reviewed_on))
    out: list[ClockSegment] = []
    for interval in timeline:
        if interval.status not in IN_FORCE or interval.edition_year is None:
            continue
        edition = by_year[interval.edition_year]
        years = edition.review_years or default_years
        cuts = [interval.valid_from, *(r for r in reviews if interval.valid_from < r < interval.valid_to)]
        for start, end in zip(cuts, [*cuts[1:], interval.valid_to], strict=True):
            clock = max([edition.effective_on, *(r for r in reviews if r <= start)])
            begins = start
            last = out[-1] if out else None
            if last and last.valid_to == start and (last.year, last.clock_from) == (edition.year, clock):
                begins = out.pop().valid_from  # the same clock goes on (trial became current)
            out.append(ClockSegment(begins, end, edition.year, clock, add_years(clock, years)))
    return out


@dataclass(frozen=True)
class Change:
    """A day on which a standard's edition in force changed for those citing it."""

    day: date
    kind: str          # new_edition | withdrawn
    year: int | None   # the new edition


def changes(editions: Sequence[Any], withdrawn_on: date | None) -> list[Change]:
    """Every day an edition of this standard took effect, and its withdrawal."""
    out = []
    previous = None
    for e in editions:
        if e.effective_on is not None and replacement_day(previous or e, e) == e.effective_on:
            out.append(Change(e.effective_on, "new_edition", e.year))
        if e.issued_on is not None:
            previous = e
    if withdrawn_on is not None:
        out = [c for c in out if c.day < withdrawn_on]
        out.append(Change(withdrawn_on, "withdrawn", None))
    return out


@dataclass(frozen=True)
class DueReason:
    reason: str
    due_on: date
    detail: str | None = None  # the standard cited, for reference_changed


def reference_due(change_day: date, cited_since: date, reviews: Iterable[date], day: date) -> bool:
    """Is a change of a cited standard on `change_day` a reason to review the
    citing edition (in force since `cited_since`) as of `day`? Yes if it
    came after the citing edition took effect and no review on or after it
    (up to `day`) closed it."""
    return change_day > cited_since and not any(change_day <= r <= day for r in reviews)
