"""Status as of a day (lifecycle/status.py), on real standards built through
the domain commands and on bare editions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import standard_builders as b

from lifecycle.domain import Standard
from lifecycle.status import (
    EDITION_STATUSES,
    LABELS,
    STANDARD_STATUSES,
    edition_status,
    standard_status,
    status_timeline,
)

DAY = timedelta(days=1)


@dataclass
class Ed:
    """Just the dates status.py reads (the EditionDates protocol)."""

    year: int
    issued_on: date | None = None
    approved_on: date = date(2018, 6, 1)
    effective_on: date | None = None
    trial: bool = False
    superseded_on: date | None = None
    withdrawn_on: date | None = None


def revised_then_withdrawn() -> Standard:
    s = b.revised()
    s.withdraw(b.WITHDRAWN, actor=b.APPROVER, reason="gone")
    return s


def withdrawn_before_revision_took_effect() -> Standard:
    s = b.revised()
    s.withdraw(date(2021, 6, 15), actor=b.APPROVER, reason="both gone")
    return s


# --- labels ---------------------------------------------------------------------


def test_labels_match_domain_md() -> None:
    assert LABELS == {
        "current": "现行",
        "trial": "试行",
        "issued": "即将实施",
        "superseded": "被代替",
        "withdrawn": "废止",
        "draft": "草案",
        "under_review": "审查中",
        "approved": "已批准",
    }


def test_status_words_match_api_md() -> None:
    assert set(STANDARD_STATUSES) == {
        "draft", "under_review", "approved", "issued", "trial", "current", "withdrawn"}
    assert set(EDITION_STATUSES) == set(STANDARD_STATUSES) | {"superseded"}
    assert set(LABELS) == set(EDITION_STATUSES)


# --- one story, day by day ------------------------------------------------------
#
# 2018 edition: issued 2018-12-31, trial from 2019-01-01
# 2021 edition: issued 2021-06-01, current from 2021-07-01 (replaces 2018)
# withdrawn 2023-05-01

STORY = [
    # day,              standard,    its edition, 2018 edition,  2021 edition
    (date(2018, 12, 30), "approved",  None, "approved",   "approved"),
    (date(2018, 12, 31), "issued",    2018, "issued",     "approved"),
    (date(2019, 1, 1),   "trial",     2018, "trial",      "approved"),
    (date(2021, 5, 31),  "trial",     2018, "trial",      "approved"),
    (date(2021, 6, 1),   "trial",     2018, "trial",      "issued"),
    (date(2021, 6, 30),  "trial",     2018, "trial",      "issued"),
    (date(2021, 7, 1),   "current",   2021, "superseded", "current"),
    (date(2023, 4, 30),  "current",   2021, "superseded", "current"),
    (date(2023, 5, 1),   "withdrawn", 2021, "superseded", "withdrawn"),
    (date(2030, 1, 1),   "withdrawn", 2021, "superseded", "withdrawn"),
]


@pytest.mark.parametrize(("day", "status", "year", "old", "new"), STORY,
                         ids=[str(row[0]) for row in STORY])
def test_story_status_by_day(day: date, status: str, year: int | None, old: str, new: str) -> None:
    s = revised_then_withdrawn()
    got = s.status(day)
    assert got.status == status
    assert (got.edition.year if got.edition else None) == year
    assert edition_status(s.edition(2018), day) == old
    assert edition_status(s.edition(2021), day) == new
    assert LABELS[got.status]  # every status a standard shows has a label


@pytest.mark.parametrize(("effective_on", "trial"), [
    (date(2019, 3, 1), False), (date(2019, 3, 1), True),
])
def test_first_edition_around_its_effective_date(effective_on: date, trial: bool) -> None:
    e = Ed(2018, issued_on=date(2018, 12, 31), effective_on=effective_on, trial=trial)
    in_force = "trial" if trial else "current"
    assert edition_status(e, date(2018, 12, 30)) == "approved"
    assert edition_status(e, date(2018, 12, 31)) == "issued"
    assert edition_status(e, effective_on - DAY) == "issued"
    assert edition_status(e, effective_on) == in_force
    assert edition_status(e, date(2099, 1, 1)) == in_force
    assert standard_status([e], "approved", effective_on - DAY).status == "issued"
    assert standard_status([e], "approved", effective_on).status == in_force


def test_unissued_edition_is_approved_whatever_the_day() -> None:
    e = Ed(2018)
    for day in (date.min, date(2018, 1, 1), date.max):
        assert edition_status(e, day) == "approved"


@pytest.mark.parametrize(("build", "workflow_status"), [
    (b.drafted, "draft"), (b.under_review, "under_review"), (b.approved, "approved"),
])
def test_before_any_issue_the_standard_shows_its_paperwork(build, workflow_status: str) -> None:
    s = build()
    for day in (date(2000, 1, 1), b.TODAY, date(2099, 1, 1)):
        got = s.status(day)
        assert (got.status, got.edition) == (workflow_status, None)


# --- which edition the standard speaks of (API.md) --------------------------------


def test_edition_in_force_wins_over_one_awaiting_its_date() -> None:
    s = b.revised()
    got = s.status(date(2021, 6, 15))  # 2021 issued, not yet effective
    assert (got.status, got.edition.year) == ("trial", 2018)


def test_edition_awaiting_its_date_when_none_is_in_force() -> None:
    e = Ed(2018, issued_on=date(2018, 12, 31), effective_on=date(2019, 3, 1))
    got = standard_status([e], "approved", date(2019, 1, 15))
    assert (got.status, got.edition) == ("issued", e)


def test_withdrawn_standard_speaks_of_the_last_edition_in_force() -> None:
    s = revised_then_withdrawn()
    got = s.status(date(2024, 1, 1))
    assert (got.status, got.edition.year) == ("withdrawn", 2021)


# Regression: the 2021 edition was withdrawn (2021-06-15) before its effective date
# (2021-07-01), so it was never in force; the standard speaks of 2018 throughout.
@pytest.mark.parametrize("day", [
    date(2021, 6, 15),
    date(2021, 6, 30),
    date(2021, 7, 1),
    date(2024, 1, 1),
], ids=str)
def test_withdrawn_before_the_revision_took_effect_speaks_of_the_old_edition(day: date) -> None:
    s = withdrawn_before_revision_took_effect()
    assert s.status(date(2021, 6, 14)).status == "trial"
    got = s.status(day)
    assert (got.status, got.edition.year) == ("withdrawn", 2018)


def test_no_edition_when_none_was_ever_issued() -> None:
    assert standard_status([Ed(2018)], "approved", date(2030, 1, 1)).edition is None
    assert standard_status([], "draft", date(2030, 1, 1)).edition is None


# --- the timeline ---------------------------------------------------------------

STORIES: list[Callable[[], Standard]] = [
    b.drafted, b.approved, b.issued, b.revision_approved, b.revised, b.withdrawn,
    revised_then_withdrawn, withdrawn_before_revision_took_effect,
]
SCAN_FROM, SCAN_TO = date(2017, 1, 1), date(2025, 12, 31)


@pytest.mark.parametrize("build", STORIES, ids=lambda f: f.__name__)
def test_timeline_intervals_are_adjacent_and_cover_all_time(build) -> None:
    s = build()
    intervals = status_timeline(s.editions, s.workflow_status)
    assert intervals[0].valid_from == date.min
    assert intervals[-1].valid_to == date.max
    for before, after in zip(intervals, intervals[1:]):
        assert before.valid_to == after.valid_from
        assert (before.status, before.edition_year) != (after.status, after.edition_year)
    assert all(i.valid_from < i.valid_to for i in intervals)


@pytest.mark.parametrize("build", STORIES, ids=lambda f: f.__name__)
def test_timeline_agrees_with_standard_status_every_day(build) -> None:
    s = build()
    intervals = status_timeline(s.editions, s.workflow_status)

    def covering(day: date):
        [hit] = [i for i in intervals if i.valid_from <= day < i.valid_to]
        return hit

    day = SCAN_FROM
    while day <= SCAN_TO:
        expected = standard_status(s.editions, s.workflow_status, day)
        got = covering(day)
        assert got.status == expected.status, day
        assert got.edition_year == (expected.edition.year if expected.edition else None), day
        day += DAY
    for edge in (date.min, date.max - DAY):
        assert covering(edge).status == standard_status(s.editions, s.workflow_status, edge).status


def test_timeline_of_the_story_written_out() -> None:
    s = revised_then_withdrawn()
    got = [(i.valid_from, i.valid_to, i.status, i.edition_year)
           for i in status_timeline(s.editions, s.workflow_status)]
    assert got == [
        (date.min, date(2018, 12, 31), "approved", None),
        (date(2018, 12, 31), date(2019, 1, 1), "issued", 2018),
        (date(2019, 1, 1), date(2021, 7, 1), "trial", 2018),
        (date(2021, 7, 1), date(2023, 5, 1), "current", 2021),
        (date(2023, 5, 1), date.max, "withdrawn", 2021),
    ]
