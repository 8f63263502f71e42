"""Issue 10, the domain's findings, through the API on both stores: dates a
command takes stay within the numbering rules' years and the lifecycle's
order (2, 14); a withdrawal dated after today is scheduled, correctable and
cancellable (8); supersession in valid time (16, 17)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.api.helpers import assert_problem, days


def refused(api, resp, field: str) -> None:
    body = assert_problem(resp, 422)
    assert list(body["errors"]) == [field], body


# ------------------------------------------------------------------ finding 2
@pytest.mark.parametrize("approved_on", ["0001-01-01", "1900-06-01", "1948-12-31"])
def test_an_approval_before_1949_is_refused_and_records_nothing(api, approved_on):
    code = api.submitted()
    before = api.position()
    resp = api.command(code, "approve", "approver", {"approved_on": approved_on})
    refused(api, resp, "approved_on")
    assert "1949-01-01" in resp.get_json()["detail"]
    assert api.position() == before
    assert api.get(f"/standards/{code}").get_json()["editions"] == []


def test_a_historical_edition_can_still_be_back_entered(api):
    code, _ = api.issued(approved_on=date(1949, 1, 1), issued_on=date(1949, 3, 1),
                         effective_on=date(1949, 4, 1))
    edition = api.get(f"/standards/{code}/editions/1949").get_json()
    assert (edition["number"], edition["status"]) == (f"{code}—1949", "current")
    assert api.get(f"/numbers/{code}-1949").status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"issued_on": "2019-12-31", "effective_on": "2020-02-01"}, "issued_on"),     # before approval
    ({"issued_on": "2020-02-01", "effective_on": "2020-01-31"}, "effective_on"),  # before issue
    ({"issued_on": "2020-02-01", "effective_on": "2101-01-01"}, "effective_on"),  # past the numbering's years
    ({"issued_on": "2101-01-01", "effective_on": "2101-01-02"}, "issued_on"),
])
def test_issue_dates_keep_the_lifecycle_order_and_range(api, body, field):
    code = api.approved(approved_on=date(2020, 1, 1))
    before = api.position()
    refused(api, api.command(code, "publish", "publisher", body), field)
    assert api.position() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"withdrawn_on": "2020-01-09", "reason": "废止"}, "withdrawn_on"),   # before the issue
    ({"withdrawn_on": "2101-01-01", "reason": "废止"}, "withdrawn_on"),
])
def test_withdrawal_dates_keep_the_order_and_range(api, body, field):
    code, _ = api.issued(approved_on=date(2020, 1, 1), issued_on=date(2020, 1, 10))
    before = api.position()
    refused(api, api.command(code, "withdraw", "approver", body), field)
    assert api.position() == before


# ------------------------------------------------------------------ finding 14
@pytest.mark.parametrize("outcome", ["confirm", "revise", "withdraw"])
def test_a_review_before_the_edition_was_issued_is_refused_naming_reviewed_on(api, outcome):
    code, _ = api.issued(approved_on=date(2020, 1, 1), issued_on=date(2020, 1, 10))
    before = api.position()
    resp = api.command(code, "reviews", "approver",
                       {"reviewed_on": "2020-01-09", "outcome": outcome, "reason": "复审"})
    refused(api, resp, "reviewed_on")
    assert api.position() == before


# ------------------------------------------------------------------ finding 8
@pytest.fixture
def scheduled(api):
    """An issued standard whose withdrawal is recorded for 30 days from today."""
    code, _ = api.issued(approved_on=api.today - days(400), issued_on=api.today - days(390),
                         effective_on=api.today - days(380))
    view = api.ok(code, "withdraw", "approver",
                  {"withdrawn_on": (api.today + days(30)).isoformat(), "reason": "计划废止"})
    return code, view


def status_on(api, code: str, day: date) -> str:
    return api.get(f"/standards/{code}?as_of={day.isoformat()}").get_json()["status"]


def test_a_withdrawal_dated_after_today_leaves_the_standard_in_force_until_its_day(api, scheduled):
    code, view = scheduled
    assert (view["status"], view["stage"]) == ("current", "issued")
    assert view["withdrawal_scheduled_on"] == (api.today + days(30)).isoformat()
    assert status_on(api, code, api.today + days(29)) == "current"
    on_the_day = api.get(f"/standards/{code}?as_of={(api.today + days(30)).isoformat()}").get_json()
    assert (on_the_day["status"], on_the_day["stage"], on_the_day["withdrawal_scheduled_on"]) == (
        "withdrawn", "withdrawn", None)
    catalogue = api.get("/standards?status=current&limit=500").get_json()["items"]
    assert code in [r["code"] for r in catalogue]


def test_until_its_day_the_standard_takes_reviews_and_revisions(api, scheduled):
    code, _ = scheduled
    api.ok(code, "reviews", "approver", {"reviewed_on": api.today.isoformat(), "outcome": "confirm",
                                         "reason": "复审确认"})
    view = api.ok(code, "revisions", "drafter", {"reason": "废止前仍需修订"})
    assert view["draft"]["revision_of"] is not None
    assert view["withdrawal_scheduled_on"] == (api.today + days(30)).isoformat()


def test_a_scheduled_withdrawal_can_be_corrected_before_its_day(api, scheduled):
    code, _ = scheduled
    view = api.ok(code, "withdraw", "approver",
                  {"withdrawn_on": (api.today + days(60)).isoformat(), "reason": "推迟废止"})
    assert view["withdrawal_scheduled_on"] == (api.today + days(60)).isoformat()
    assert status_on(api, code, api.today + days(45)) == "current"
    withdrawn = api.get(f"/standards/{code}?as_of={(api.today + days(60)).isoformat()}").get_json()
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["edition"]["withdrawal_reason"] == "推迟废止"
    # corrected to today: withdrawn at once, and then nothing more is accepted
    api.ok(code, "withdraw", "approver", {"withdrawn_on": api.today.isoformat(), "reason": "立即废止"})
    assert status_on(api, code, api.today) == "withdrawn"
    assert_problem(api.command(code, "withdraw", "approver",
                               {"withdrawn_on": api.today.isoformat(), "reason": "again"}), 409)


def test_a_scheduled_withdrawal_can_be_cancelled_by_an_approver(api, scheduled):
    code, _ = scheduled
    before = api.position()
    assert_problem(api.command(code, "withdraw/cancel", "approver", {}), 422)   # reason required
    assert_problem(api.command(code, "withdraw/cancel", "drafter", {"reason": "x"}), 403)
    assert_problem(api.command(code, "withdraw/cancel", "approver", {"reason": "x"}, etag=None), 428)
    assert api.position() == before
    view = api.ok(code, "withdraw/cancel", "approver", {"reason": "决定继续使用"})
    assert view["withdrawal_scheduled_on"] is None
    assert status_on(api, code, api.today + days(90)) == "current"
    events = api.get(f"/standards/{code}/events").get_json()["items"]
    assert events[-1]["type"] == "standard.withdrawal_cancelled"
    assert events[-1]["signature"]["meaning_label"] == "撤销废止"
    # nothing scheduled any more: a second cancellation is a conflict
    before = api.position()
    assert_problem(api.command(code, "withdraw/cancel", "approver", {"reason": "again"}), 409)
    assert api.position() == before


def test_a_withdrawal_already_in_effect_cannot_be_cancelled(api):
    code, _ = api.issued(approved_on=api.today - days(10))
    api.ok(code, "withdraw", "approver", {"withdrawn_on": api.today.isoformat(), "reason": "废止"})
    assert_problem(api.command(code, "withdraw/cancel", "approver", {"reason": "反悔"}), 409)


# ------------------------------------------------------------------ findings 16 and 17
def test_a_successor_replaces_from_its_effective_day_and_not_before(api):
    """The auditor's JGSW02004 case: —2024 issued 06-05, effective 07-05."""
    code, _ = api.issued(approved_on=date(2023, 3, 1), issued_on=date(2023, 3, 10))
    api.ok(code, "revisions", "drafter", {"reason": "修订"})
    api.ok(code, "submit", "drafter")
    api.ok(code, "approve", "approver", {"approved_on": "2024-05-20"})

    def links(day: str) -> dict:
        items = api.get(f"/standards/{code}/editions?as_of={day}").get_json()["items"]
        return {e["year"]: {k: e[k] for k in ("status", "replaces", "replaced_by", "will_replace",
                                              "will_be_replaced_by", "superseded_on")} for e in items}

    before_the_issue = links("2024-06-03")
    api.publish(code, date(2024, 6, 5), date(2024, 7, 5))
    assert links("2024-06-03") == before_the_issue  # an event dated 06-05 does not change 06-03
    assert before_the_issue[2023]["replaced_by"] is None
    assert links("2024-06-10")[2023] == {"status": "current", "replaces": None, "replaced_by": None,
                                         "will_replace": None, "will_be_replaced_by": f"{code}—2024",
                                         "superseded_on": None}
    on = links("2024-07-05")
    assert on[2023]["status"] == "superseded" and on[2023]["replaced_by"] == f"{code}—2024"
    assert on[2023]["superseded_on"] == "2024-07-05" and on[2024]["replaces"] == f"{code}—2023"


def test_an_edition_withdrawn_before_its_successor_takes_effect_is_withdrawn_not_superseded(api):
    """The auditor's JGSW06017 case: the revision was pending when the standard was withdrawn."""
    code, _ = api.issued(approved_on=date(2020, 3, 1), issued_on=date(2020, 3, 10))
    api.revise(code, api.today - timedelta(days=20), api.today - timedelta(days=10), api.today + days(90))
    api.ok(code, "withdraw", "approver", {"withdrawn_on": (api.today + days(14)).isoformat(),
                                          "reason": "整体废止"})
    later = (api.today + days(90)).isoformat()
    items = {e["year"]: e for e in api.get(f"/standards/{code}/editions?as_of={later}").get_json()["items"]}
    old, new = items[2020], items[api.today.year]
    assert (old["status"], old["replaced_by"], old["superseded_on"], old["will_be_replaced_by"]) == (
        "withdrawn", None, None, None)
    assert (new["status"], new["replaces"], new["will_replace"]) == ("withdrawn", None, None)
    view = api.get(f"/standards/{code}?as_of={later}").get_json()
    assert (view["status"], view["edition"]["number"]) == ("withdrawn", f"{code}—2020")
