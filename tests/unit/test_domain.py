"""The Standard aggregate's rules (lifecycle/domain.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import standard_builders as b

from lifecycle.domain import ReviewOutcome, Standard
from lifecycle.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from lifecycle.numbering import parse_code
from lifecycle.workflow import Stage

DAY = timedelta(days=1)


def unchanged(standard: Standard):
    """Snapshot to compare after a refused command."""
    return standard.version, len(standard.pending_events), len(standard.editions), standard.stage


# --- drafting -------------------------------------------------------------------


def test_create_opens_a_draft_with_the_default_level() -> None:
    s = b.drafted()
    assert s.code == "JGSW05001"
    assert (s.category, s.sub_item) == ("05", "001")
    assert s.stage is Stage.DRAFT
    assert s.draft is not None
    assert s.draft.title == b.FIELDS["title"]
    assert s.draft.level == "item"
    assert s.draft.drafted_by == b.DRAFTER
    assert s.editions == []


@pytest.mark.parametrize(("code", "level"), [
    ("JGSW01003", "basic"), ("JGSW05000", "category"), ("JGSW05001", "item"),
])
def test_default_level_follows_the_layers(code: str, level: str) -> None:
    s = Standard.create(parse_code(code), {"title": "t"}, actor=b.DRAFTER)
    assert s.draft.level == level


@pytest.mark.parametrize(("fields", "field"), [
    ({"title": "  "}, "title"),
    ({"title": "t", "level": "national"}, "level"),
])
def test_create_refuses_bad_fields(fields: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Standard.create(b.CODE, fields, actor=b.DRAFTER)
    assert info.value.field == field


def test_edit_draft_records_the_editor_and_refuses_unknown_fields() -> None:
    s = b.drafted()
    s.edit_draft({"title": "新标题", "drafting_units": ("甲", "乙")}, actor=b.EDITOR)
    assert s.draft.title == "新标题"
    assert s.draft.drafting_units == ["甲", "乙"]
    assert s.draft.edited_by == [b.EDITOR]
    before = unchanged(s)
    with pytest.raises(InvalidInput) as info:
        s.edit_draft({"sub_item": "009"}, actor=b.EDITOR)
    assert info.value.field == "sub_item"
    assert unchanged(s) == before


# --- approval -------------------------------------------------------------------


def test_approving_sets_the_year_code_from_the_approval_date() -> None:
    s = b.under_review()
    s.approve(date(2019, 2, 28), b.TODAY, actor=b.APPROVER)
    assert s.stage is Stage.APPROVED
    assert s.draft is None
    [edition] = s.editions
    assert edition.year == 2019
    assert edition.approved_on == date(2019, 2, 28)
    assert edition.approved_by == b.APPROVER
    assert edition.drafted_by == b.DRAFTER
    assert edition.title == b.FIELDS["title"]
    assert edition.issued_on is None


@pytest.mark.parametrize("approved_on", [date(2018, 12, 31), date(2017, 5, 1)],
                         ids=["same-year", "earlier-year"])
def test_second_edition_in_a_year_already_used_is_a_conflict(approved_on: date) -> None:
    s = b.revision_under_review()  # the first edition is 2018
    before = unchanged(s)
    with pytest.raises(Conflict) as info:
        s.approve(approved_on, b.TODAY, actor=b.APPROVER)
    assert info.value.details["number"] == "JGSW05001—2018"
    assert [e.year for e in s.editions] == [2018]
    assert unchanged(s) == before


def test_revision_approved_in_a_later_year_gets_that_year() -> None:
    s = b.revision_approved()
    assert [e.year for e in s.editions] == [2018, 2021]


def test_approved_on_in_the_future_is_invalid_input() -> None:
    s = b.under_review()
    before = unchanged(s)
    with pytest.raises(InvalidInput) as info:
        s.approve(b.TODAY + DAY, b.TODAY, actor=b.APPROVER)
    assert info.value.field == "approved_on"
    assert unchanged(s) == before


def test_approved_on_today_is_allowed() -> None:
    s = b.under_review()
    s.approve(b.TODAY, b.TODAY, actor=b.APPROVER)
    assert s.editions[-1].year == b.TODAY.year


def _edited_and_submitted() -> Standard:
    s = b.drafted()
    s.edit_draft({"summary": "补充"}, actor=b.EDITOR)
    s.submit(actor=b.DRAFTER)
    return s


@pytest.mark.parametrize("actor", [b.DRAFTER, b.EDITOR], ids=["drafter", "editor"])
def test_drafter_or_editor_may_not_approve(actor: str) -> None:
    s = _edited_and_submitted()
    before = unchanged(s)
    with pytest.raises(Forbidden) as info:
        s.approve(b.FIRST_APPROVED, b.TODAY, actor=actor)
    assert info.value.details["rule"] == "no-self-approval"
    assert unchanged(s) == before
    assert s.editions == []


def test_another_person_may_approve() -> None:
    s = _edited_and_submitted()
    s.approve(b.FIRST_APPROVED, b.TODAY, actor=b.APPROVER)
    assert s.editions[-1].approved_by == b.APPROVER


def test_opening_a_revision_alone_writes_nothing_so_the_opener_may_approve_it() -> None:
    """Issue 10 finding 18: only those who write a draft's content are its contributors."""
    s = b.issued()
    s.open_revision(actor="erin", reason="update")
    s.submit(actor=b.DRAFTER)
    s.approve(b.REVISION_APPROVED, b.TODAY, actor="erin")
    assert s.editions[-1].approved_by == "erin"


def test_a_review_that_opens_a_revision_does_not_bar_its_reviewer() -> None:
    s = b.issued()
    s.review(date(2020, 6, 1), ReviewOutcome.REVISE, b.TODAY, actor=b.APPROVER, reason="needs work")
    s.submit(actor=b.DRAFTER)
    s.approve(b.REVISION_APPROVED, b.TODAY, actor=b.APPROVER)
    assert s.editions[-1].approved_by == b.APPROVER


@pytest.mark.parametrize("write", [
    lambda s: s.open_revision(actor="erin", reason="update", title="新的标题"),
    lambda s: (s.open_revision(actor="erin", reason="update"),
               s.edit_draft({"summary": "改写"}, actor="erin")),
], ids=["opened-with-a-new-title", "opened-then-edited"])
def test_who_wrote_the_revision_may_not_approve_it(write) -> None:
    s = b.issued()
    write(s)
    s.submit(actor=b.DRAFTER)
    with pytest.raises(Forbidden):
        s.approve(b.REVISION_APPROVED, b.TODAY, actor="erin")
    # the first edition's drafter did not touch the revision
    s.approve(b.REVISION_APPROVED, b.TODAY, actor=b.DRAFTER)
    assert s.editions[-1].approved_by == b.DRAFTER


# --- publishing -----------------------------------------------------------------


@pytest.mark.parametrize(("issued_on", "effective_on", "field"), [
    (date(2018, 12, 31), date(2018, 12, 30), "effective_on"),
    (b.FIRST_APPROVED - DAY, date(2019, 1, 1), "issued_on"),
], ids=["effective-before-issue", "issue-before-approval"])
def test_publish_refuses_dates_out_of_order(issued_on: date, effective_on: date, field: str) -> None:
    s = b.approved()
    before = unchanged(s)
    with pytest.raises(InvalidInput) as info:
        s.publish(issued_on, effective_on, trial=False, actor=b.PUBLISHER)
    assert info.value.field == field
    assert unchanged(s) == before
    assert s.editions[-1].issued_on is None


def test_publish_on_the_approval_day_effective_the_same_day_is_allowed() -> None:
    s = b.approved()
    s.publish(b.FIRST_APPROVED, b.FIRST_APPROVED, trial=False, actor=b.PUBLISHER)
    e = s.editions[-1]
    assert (e.issued_on, e.effective_on, e.trial, e.issued_by) == (
        b.FIRST_APPROVED, b.FIRST_APPROVED, False, b.PUBLISHER)


def test_publish_records_trial() -> None:
    e = b.issued().editions[-1]
    assert (e.issued_on, e.effective_on, e.trial) == (b.FIRST_ISSUED, b.FIRST_EFFECTIVE, True)
    assert e.replaces is None and e.replaced_by is None and e.superseded_on is None


@pytest.mark.parametrize(("effective_on", "allowed"), [
    (date(2019, 12, 31), False),
    (date(2020, 1, 1), False),
    (date(2020, 1, 2), True),
])
def test_revision_must_take_effect_after_the_edition_it_replaces(effective_on, allowed) -> None:
    s = b.approved()  # 2018 edition, approved 2018-06-01
    s.publish(date(2018, 7, 1), date(2020, 1, 1), trial=False, actor=b.PUBLISHER)
    s.open_revision(actor=b.DRAFTER, reason="early fix")
    s.submit(actor=b.DRAFTER)
    s.approve(date(2019, 3, 1), b.TODAY, actor=b.APPROVER)
    if allowed:
        s.publish(date(2019, 4, 1), effective_on, trial=False, actor=b.PUBLISHER)
        assert s.editions[0].superseded_on == effective_on
        return
    before = unchanged(s)
    with pytest.raises(InvalidInput) as info:
        s.publish(date(2019, 4, 1), effective_on, trial=False, actor=b.PUBLISHER)
    assert info.value.field == "effective_on"
    assert unchanged(s) == before


# --- revision -------------------------------------------------------------------


def test_open_revision_copies_the_edition_in_force_and_needs_a_reason() -> None:
    s = b.issued()
    with pytest.raises(InvalidInput) as info:
        s.open_revision(actor=b.DRAFTER, reason=" ")
    assert info.value.field == "reason"
    s.open_revision(actor=b.DRAFTER, reason="update", title="新标题")
    assert s.draft.revision_of == 2018
    assert s.draft.title == "新标题"
    assert s.draft.summary == b.FIELDS["summary"]
    assert s.draft.drafted_by == b.DRAFTER


def test_revision_keeps_the_old_edition_in_force_until_its_effective_date() -> None:
    s = b.revised()
    old, new = s.editions
    eve = b.REVISION_EFFECTIVE - DAY

    # before the revision takes effect: the old edition stays in force
    on_eve = s.status(eve)
    assert on_eve.status == "trial"
    assert on_eve.edition is old
    # between issue and effect too (the new one is only 即将实施)
    assert s.status(b.REVISION_ISSUED).edition is old

    # on the effective day: the old one is superseded, the new one in force
    on_day = s.status(b.REVISION_EFFECTIVE)
    assert on_day.status == "current"
    assert on_day.edition is new

    assert old.superseded_on == new.effective_on == b.REVISION_EFFECTIVE
    assert old.replaced_by == new.year == 2021
    assert new.replaces == old.year == 2018
    assert new.replaced_by is None and old.replaces is None


def test_revision_draft_keeps_the_status_of_the_edition_in_force() -> None:
    for build in (b.revision_draft, b.revision_under_review, b.revision_approved):
        s = build()
        st = s.status(date(2020, 1, 1))
        assert (st.status, st.edition.year) == ("trial", 2018), build.__name__


# --- withdrawal -----------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_withdraw_requires_a_reason(reason) -> None:
    s = b.issued()
    before = unchanged(s)
    with pytest.raises(InvalidInput) as info:
        s.withdraw(b.WITHDRAWN, actor=b.APPROVER, reason=reason)
    assert info.value.field == "reason"
    assert unchanged(s) == before


def test_withdraw_before_the_issue_date_is_refused() -> None:
    s = b.issued()
    with pytest.raises(InvalidInput) as info:
        s.withdraw(b.FIRST_ISSUED - DAY, actor=b.APPROVER, reason="x")
    assert info.value.field == "withdrawn_on"


def test_withdraw_sets_withdrawn_from_the_withdrawal_date() -> None:
    s = b.withdrawn()
    assert s.stage is Stage.WITHDRAWN
    edition = s.editions[-1]
    assert edition.withdrawn_on == b.WITHDRAWN
    assert edition.withdrawal_reason == "no longer needed"
    assert s.status(b.WITHDRAWN - DAY).status == "trial"
    assert s.status(b.WITHDRAWN).status == "withdrawn"
    assert s.status(b.WITHDRAWN + 400 * DAY).status == "withdrawn"
    assert s.status(b.WITHDRAWN).edition is edition


@pytest.mark.parametrize("build", [b.revision_draft, b.revision_under_review])
def test_withdraw_abandons_an_open_revision_draft(build) -> None:
    s = build()
    assert s.draft is not None
    s.withdraw(b.WITHDRAWN, actor=b.APPROVER, reason="gone", today=b.TODAY)
    assert s.stage_on(b.TODAY) is Stage.WITHDRAWN
    with pytest.raises(InvalidTransition):  # the revision can go no further
        s.submit(actor=b.DRAFTER, today=b.TODAY)
    assert [e.year for e in s.editions] == [2018]


def test_withdraw_after_a_revision_leaves_the_superseded_edition_superseded() -> None:
    s = b.revised()
    s.withdraw(b.WITHDRAWN, actor=b.APPROVER, reason="gone")
    old, new = s.editions
    assert old.withdrawn_on is None
    assert new.withdrawn_on == b.WITHDRAWN
    st = s.status(b.WITHDRAWN)
    assert (st.status, st.edition) == ("withdrawn", new)


# --- periodic review (复审) -----------------------------------------------------


def test_review_confirm_records_it_and_changes_nothing_else() -> None:
    s = b.issued()
    v = s.version
    s.review(date(2023, 1, 1), ReviewOutcome.CONFIRM, b.TODAY, actor=b.APPROVER)
    assert s.version == v + 1
    assert s.stage is Stage.ISSUED
    assert s.reviews == [{"reviewed_on": date(2023, 1, 1), "outcome": "confirm",
                          "by": b.APPROVER, "reason": None}]


def test_review_revise_opens_a_revision() -> None:
    s = b.issued()
    s.review(date(2023, 1, 1), ReviewOutcome.REVISE, b.TODAY, actor=b.APPROVER, reason="old")
    assert s.stage is Stage.REVISION_DRAFT
    assert s.draft.revision_of == 2018
    assert s.reviews[-1]["outcome"] == "revise"
    types = [type(e).__name__ for e in s.pending_events[-2:]]
    assert types == ["Reviewed", "RevisionOpened"]


def test_review_withdraw_withdraws_on_the_review_date() -> None:
    s = b.issued()
    s.review(date(2023, 1, 1), ReviewOutcome.WITHDRAW, b.TODAY, actor=b.APPROVER, reason="obsolete")
    assert s.stage is Stage.WITHDRAWN
    assert s.editions[-1].withdrawn_on == date(2023, 1, 1)
    assert s.status(date(2023, 1, 1)).status == "withdrawn"


@pytest.mark.parametrize("outcome", [ReviewOutcome.REVISE, ReviewOutcome.WITHDRAW])
def test_review_that_changes_something_needs_a_reason(outcome: ReviewOutcome) -> None:
    s = b.issued()
    before = unchanged(s)
    with pytest.raises(InvalidInput) as info:
        s.review(date(2023, 1, 1), outcome, b.TODAY, actor=b.APPROVER, reason=None)
    assert info.value.field == "reason"
    assert unchanged(s) == before


def test_review_in_the_future_is_refused() -> None:
    s = b.issued()
    with pytest.raises(InvalidInput) as info:
        s.review(b.TODAY + DAY, ReviewOutcome.CONFIRM, b.TODAY, actor=b.APPROVER)
    assert info.value.field == "reviewed_on"


def test_refused_review_withdraw_leaves_the_standard_unchanged() -> None:
    s = b.issued()
    before = unchanged(s)
    with pytest.raises(InvalidInput):
        s.review(b.FIRST_ISSUED - DAY, ReviewOutcome.WITHDRAW, b.TODAY,
                 actor=b.APPROVER, reason="obsolete")
    assert unchanged(s) == before
    assert s.reviews == []


# --- sending back ---------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "  "])
def test_request_changes_requires_a_reason(reason) -> None:
    s = b.under_review()
    before = unchanged(s)
    with pytest.raises(InvalidInput) as info:
        s.request_changes(actor=b.APPROVER, reason=reason)
    assert info.value.field == "reason"
    assert unchanged(s) == before


@pytest.mark.parametrize(("build", "back_to"), [
    (b.under_review, Stage.DRAFT),
    (b.revision_under_review, Stage.REVISION_DRAFT),
])
def test_request_changes_returns_the_draft_with_the_comment(build, back_to: Stage) -> None:
    s = build()
    s.request_changes(actor="rita", reason="§3 unclear")
    assert s.stage is back_to
    assert s.draft.stage == "draft"
    assert s.draft.comments == ["§3 unclear"]
    s.submit(actor=b.DRAFTER)
    s.request_changes(actor="rita", reason="still unclear")
    assert s.draft.comments == ["§3 unclear", "still unclear"]


# --- events and replay ----------------------------------------------------------


def _full_story() -> Standard:
    s = b.drafted()
    s.edit_draft({"summary": "补充"}, actor=b.EDITOR, reason="add summary")
    s.submit(actor=b.DRAFTER, reason="ready")
    s.request_changes(actor="rita", reason="fix §2")
    s.submit(actor=b.DRAFTER, reason="fixed")
    s.approve(b.FIRST_APPROVED, b.TODAY, actor=b.APPROVER, reason="ok")
    s.publish(b.FIRST_ISSUED, b.FIRST_EFFECTIVE, trial=True, actor=b.PUBLISHER, reason="issue")
    s.review(date(2020, 1, 1), ReviewOutcome.CONFIRM, b.TODAY, actor=b.APPROVER, reason="fit")
    s.open_revision(actor=b.DRAFTER, reason="update")
    s.submit(actor=b.DRAFTER, reason="ready")
    s.approve(b.REVISION_APPROVED, b.TODAY, actor=b.APPROVER, reason="ok")
    s.publish(b.REVISION_ISSUED, b.REVISION_EFFECTIVE, trial=False, actor=b.PUBLISHER, reason="go")
    s.withdraw(b.WITHDRAWN, actor=b.APPROVER, reason="gone")
    return s


def test_every_event_carries_actor_and_reason() -> None:
    events = _full_story().collect_events()
    got = [(type(e).__name__, e.actor, e.reason) for e in events]
    assert got == [
        ("Drafted", b.DRAFTER, "first draft"),
        ("DraftEdited", b.EDITOR, "add summary"),
        ("Submitted", b.DRAFTER, "ready"),
        ("ChangesRequested", "rita", "fix §2"),
        ("Submitted", b.DRAFTER, "fixed"),
        ("Approved", b.APPROVER, "ok"),
        ("Issued", b.PUBLISHER, "issue"),
        ("Reviewed", b.APPROVER, "fit"),
        ("RevisionOpened", b.DRAFTER, "update"),
        ("Submitted", b.DRAFTER, "ready"),
        ("Approved", b.APPROVER, "ok"),
        ("Issued", b.PUBLISHER, "go"),
        ("Withdrawn", b.APPROVER, "gone"),
    ]
    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))


REPLAY_BUILDERS = [b.drafted, b.under_review, b.approved, b.issued, b.revision_draft,
                   b.revision_under_review, b.revision_approved, b.revised, b.withdrawn,
                   _full_story, _edited_and_submitted]


@pytest.mark.parametrize("build", REPLAY_BUILDERS, ids=lambda f: f.__name__)
def test_replaying_the_events_gives_an_equal_state(build) -> None:
    s = build()
    rebuilt = b.replay(s)
    assert rebuilt is not s
    assert rebuilt.id == s.id
    assert rebuilt.version == s.version
    assert rebuilt.stage is s.stage
    assert rebuilt.editions == s.editions
    assert rebuilt.draft == s.draft
    assert rebuilt.withdrawn_on == s.withdrawn_on
    assert rebuilt.reviews == s.reviews
    for day in (date(2018, 12, 31), date(2019, 1, 1), date(2021, 7, 1), date(2024, 1, 1)):
        assert rebuilt.status(day).status == s.status(day).status


# --- a withdrawal dated after today (issue 10, finding 8) ----------------------


def test_a_scheduled_withdrawal_takes_effect_on_its_day() -> None:
    s = b.issued()
    day = b.TODAY + 10 * DAY
    s.withdraw(day, actor=b.APPROVER, reason="计划废止", today=b.TODAY)
    assert s.stage_on(b.TODAY) is Stage.ISSUED and s.withdrawal_scheduled(b.TODAY)
    assert s.stage_on(day - DAY) is Stage.ISSUED
    assert s.stage_on(day) is Stage.WITHDRAWN
    s.open_revision(actor=b.DRAFTER, reason="still revising", today=day - DAY)
    with pytest.raises(InvalidTransition):  # on its day nothing more is accepted
        s.submit(actor=b.DRAFTER, today=day)
    with pytest.raises(InvalidTransition):
        s.cancel_withdrawal(actor=b.APPROVER, reason="too late", today=day)
    assert s.status(day).status == "withdrawn" and s.status(day - DAY).status == "trial"


def test_a_revision_issued_while_a_withdrawal_is_scheduled_is_withdrawn_with_the_standard() -> None:
    s = b.issued()
    day = date(2025, 6, 1)
    s.withdraw(day, actor=b.APPROVER, reason="计划废止", today=date(2021, 1, 1))
    s.open_revision(actor=b.DRAFTER, reason="revise", today=date(2021, 1, 1))
    s.submit(actor=b.DRAFTER, today=date(2021, 1, 1))
    s.approve(b.REVISION_APPROVED, date(2021, 3, 2), actor=b.APPROVER)
    s.publish(b.REVISION_ISSUED, b.REVISION_EFFECTIVE, trial=False, actor=b.PUBLISHER, today=b.REVISION_ISSUED)
    old, new = s.editions
    assert (old.withdrawn_on, new.withdrawn_on) == (None, day)  # the old one was superseded first
    s.cancel_withdrawal(actor=b.APPROVER, reason="keep it", today=date(2022, 1, 1))
    assert (old.withdrawn_on, new.withdrawn_on, s.withdrawn_on) == (None, None, None)


def _mutables(value, path="state"):
    """Every list and dict inside a standard's state, with where it lies."""
    if isinstance(value, list):
        yield path, value
        for i, x in enumerate(value):
            yield from _mutables(x, f"{path}[{i}]")
    elif isinstance(value, dict):
        yield path, value
        for k, x in value.items():
            yield from _mutables(x, f"{path}[{k!r}]")
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        yield from _mutables(vars(value), path)


def test_a_deep_copy_of_a_standard_equals_it_and_shares_nothing_that_changes() -> None:
    """The repository hands each command a deep copy of a cached standard
    (Standard.__deepcopy__): equal state, and no list or dict in common, so a
    command that fails leaves the cached one as it was."""
    import copy

    s = b.revised()
    s.open_amendment(2021, "改第3条", "第3条修改为……", ["GB/T 1.1—2020"], today=b.TODAY, actor=b.EDITOR)
    s.review(date(2025, 6, 1), ReviewOutcome.REVISE, today=b.TODAY, actor=b.APPROVER, reason="需要修订")
    s.attach_file("正文.pdf", "application/pdf", 10, "0" * 64, actor=b.EDITOR)
    s.collect_events()
    c = copy.deepcopy(s)
    assert type(c) is Standard and vars(c) == vars(s)
    assert [type(e) for e in c.editions] == [type(e) for e in s.editions]
    theirs = {id(v) for _, v in _mutables(vars(s))}
    shared = [where for where, v in _mutables(vars(c)) if id(v) in theirs]
    assert shared == []
    assert s.draft is not None and c.draft is not None and c.draft is not s.draft
    c.draft.files["正文.pdf"]["size"] = 11
    c.editions[-1].amendments[0]["summary"] = "changed"
    assert s.draft.files["正文.pdf"]["size"] == 10 and s.editions[-1].amendments[0]["summary"] == "改第3条"
