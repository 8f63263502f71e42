"""Issue 13 through the API, on both stores: amendment sheets (修改单) and
emergency approval (紧急批准) with the paperwork after (补办手续)."""

from __future__ import annotations

from datetime import date

import pytest

from lifecycle.users import Role
from tests.api.helpers import PREFIX, assert_problem, days
from tests.people import add_user

AMEND = {"summary": "更正第3.1条的消毒频次", "changes": "3.1 餐具每餐消毒，每日检查。", "reason": "执行中发现错误"}


@pytest.fixture
def issued(api):
    """An edition issued a year ago and in force: JGSW05xxx—<last year>."""
    approved = api.today - days(400)
    code, _ = api.issued(approved_on=approved, issued_on=approved, effective_on=approved + days(10))
    return code, approved.year


def amend(api, code, year, role="drafter", body=None, **kw):
    return api.command(code, f"editions/{year}/amendments", role, {**AMEND, **(body or {})}, **kw)


def edition(api, code, year, **query) -> dict:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return api.get(f"/standards/{code}/editions/{year}?{q}").get_json()


# ------------------------------------------------------------------ amendment sheets
def test_an_amendment_is_opened_approved_and_takes_effect(api, issued):
    code, year = issued
    resp = amend(api, code, year)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    [draft] = edition(api, code, year)["amendments"]
    assert (draft["n"], draft["number"], draft["status"], draft["status_label"]) == (1, None, "draft", "草案")
    effective = api.today + days(10)
    api.ok(code, f"editions/{year}/amendments/1/approve", "approver",
           {"approved_on": api.today.isoformat(), "effective_on": effective.isoformat()})
    number = f"{code}—{year}/XG1—{api.today.year}"
    [approved] = edition(api, code, year)["amendments"]
    assert (approved["number"], approved["status"]) == (number, "approved")
    later = edition(api, code, year, as_of=effective.isoformat())["amendments"]
    assert [(a["number"], a["status"]) for a in later] == [(number, "in_force")]
    row = {r["code"]: r for r in api.get(f"/standards?as_of={effective.isoformat()}&limit=500")
           .get_json()["items"]}[code]
    assert row["amendments_in_force"] == 1
    assert api.get(f"/standards/{code}").get_json()["amendments_in_force"] == 0
    # as of a day before it was opened, there is no such sheet
    assert edition(api, code, year, as_of=(api.today - days(1)).isoformat())["amendments"] == []
    events = api.get(f"/standards/{code}/events").get_json()["items"]
    signed = events[-1]
    assert (signed["type"], signed["signature"]["meaning_label"]) == ("standard.amendment_approved", "批准修改单")


def test_one_amendment_in_draft_at_a_time_and_numbers_never_reused(api, issued):
    code, year = issued
    assert amend(api, code, year).status_code == 201
    before = api.position()
    assert_problem(amend(api, code, year), 409)
    assert api.position() == before
    assert_problem(api.command(code, f"editions/{year}/amendments/1", "drafter2", method="DELETE"), 422)
    resp = api.client.delete(f"{PREFIX}/standards/{code}/editions/{year}/amendments/1?reason=x",
                             headers={**api.auth("drafter2"), "If-Match": api.etag(code)})
    assert_problem(resp, 403)  # only its drafter drops it
    assert api.position() == before
    resp = api.client.delete(f"{PREFIX}/standards/{code}/editions/{year}/amendments/1?reason=不再需要",
                             headers={**api.auth("drafter"), "If-Match": api.etag(code)})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert amend(api, code, year).status_code == 201
    sheets = edition(api, code, year)["amendments"]
    assert [(a["n"], a["status"]) for a in sheets] == [(1, "dropped"), (2, "draft")]
    assert_problem(api.command(code, f"editions/{year}/amendments/1/approve", "approver", {}), 409)


def test_nobody_approves_an_amendment_they_drafted(api, service, issued):
    code, year = issued
    token = add_user(service, "both", [Role.DRAFTER, Role.APPROVER])
    both = {"Authorization": f"Bearer {token}"}
    resp = api.client.post(f"{PREFIX}/standards/{code}/editions/{year}/amendments", json=AMEND,
                           headers={**both, "If-Match": api.etag(code)})
    assert resp.status_code == 201
    before = api.position()
    resp = api.client.post(f"{PREFIX}/standards/{code}/editions/{year}/amendments/1/approve", json={},
                           headers={**both, "If-Match": api.etag(code)})
    assert_problem(resp, 403)
    assert api.position() == before


@pytest.mark.parametrize("body", [{"summary": ""}, {"changes": "  "}, {"summary": None}])
def test_an_amendment_needs_a_summary_and_its_changes(api, issued, body):
    code, year = issued
    before = api.position()
    assert_problem(amend(api, code, year, body=body), 422)
    assert api.position() == before


def test_only_an_edition_issued_or_in_force_takes_amendments(api, issued):
    drafted = api.draft()
    assert_problem(api.command(drafted, "editions/2024/amendments", "drafter", AMEND), 409)
    code, year = issued
    api.revise(code, api.today - days(5), api.today - days(4), api.today - days(3))
    before = api.position()
    resp = amend(api, code, year)  # now superseded
    assert "superseded" in assert_problem(resp, 409)["detail"]
    assert_problem(amend(api, code, 1999), 404)
    assert api.position() == before


def test_an_amendment_can_give_the_edition_a_new_reference_list(api, seeded):
    code, _ = api.issued(approved_on=date(2020, 1, 1), issued_on=date(2020, 1, 5),
                         references=["JGSW01001", "资产管理标准 要求"])
    assert amend(api, code, 2020, body={"references": ["JGSW01001", "JGSW05003"]}).status_code == 201
    effective = api.today + days(5)
    api.ok(code, "editions/2020/amendments/1/approve", "approver", {"effective_on": effective.isoformat()})

    def cited(day):
        body = api.get(f"/standards/{code}/editions/2020/references?as_of={day.isoformat()}").get_json()
        return [i["reference"] for i in body["items"]]

    assert cited(api.today) == ["JGSW01001", "资产管理标准 要求"]
    assert cited(effective) == ["JGSW01001", "JGSW05003"]  # the planned reference became a number
    citing = api.get(f"/standards/JGSW05003/referenced-by?as_of={effective.isoformat()}").get_json()
    assert [i["code"] for i in citing["items"]] == [code]


def test_an_undated_reference_resolves_with_the_amendments_in_force(api, seeded, issued):
    cited, year = issued
    citing, _ = api.issued(approved_on=api.today - days(30), references=[cited])
    assert amend(api, cited, year).status_code == 201
    api.ok(cited, f"editions/{year}/amendments/1/approve", "approver",
           {"effective_on": (api.today + days(1)).isoformat()})
    y = (api.today - days(30)).year

    def resolved(day):
        body = api.get(f"/standards/{citing}/editions/{y}/references?as_of={day.isoformat()}").get_json()
        return body["items"][0]

    assert resolved(api.today)["amendments"] == []
    assert resolved(api.today + days(1))["amendments"] == [f"{cited}—{year}/XG1—{api.today.year}"]


def test_a_revision_carries_no_amendment_over(api, issued):
    code, year = issued
    assert amend(api, code, year).status_code == 201
    api.ok(code, f"editions/{year}/amendments/1/approve", "approver", {})
    view = api.revise(code, api.today, api.today, api.today + days(1))
    new = api.get(f"/standards/{code}/editions/{api.today.year}").get_json()
    assert new["amendments"] == []
    assert len(edition(api, code, year)["amendments"]) == 1  # they stay on the old edition's history
    assert view["edition"]["year"] == year


# ------------------------------------------------------------------ emergency approval
def emergency(api, code, role="approver", **body):
    return api.command(code, "approve", role, {"emergency": True, "reason": "暴雨后紧急修订", **body})


def test_an_approver_approves_an_unreviewed_draft_in_an_emergency(api):
    code = api.draft()  # never submitted
    resp = emergency(api, code)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    got = api.get(f"/standards/{code}/editions/{api.today.year}").get_json()
    assert (got["emergency"], got["paperwork_due"], got["paperwork_completed_on"]) == (
        True, (api.today + days(30)).isoformat(), None)
    api.publish(code, api.today, api.today)  # everything else works as for any edition
    events = api.get(f"/standards/{code}/events").get_json()["items"]
    meanings = [e["signature"]["meaning_label"] for e in events if "signature" in e]
    assert meanings == ["紧急批准", "发布"]


@pytest.mark.parametrize(("body", "status"), [
    ({"reason": None}, 422),                                  # a reason is required
    ({"paperwork_due": "2999-01-01"}, 422),
    ({"paperwork_due": "later"}, 422),
])
def test_bad_emergency_approvals_record_nothing(api, body, status):
    code = api.draft()
    before = api.position()
    payload = {k: v for k, v in body.items() if v is not None}
    resp = api.command(code, "approve", "approver", {"emergency": True, **({"reason": "紧急"} if "reason" not in body else {}), **payload})
    assert_problem(resp, status)
    assert api.position() == before


def test_paperwork_is_due_at_most_90_days_after_and_only_in_an_emergency(api):
    code = api.draft()
    before = api.position()
    assert_problem(emergency(api, code, paperwork_due=(api.today + days(91)).isoformat()), 422)
    assert_problem(api.command(api.submitted(), "approve", "approver",
                               {"paperwork_due": (api.today + days(10)).isoformat()}), 422)
    assert api.position() == before + 2  # only the draft and the submission above
    assert emergency(api, code, paperwork_due=(api.today + days(90)).isoformat()).status_code == 200


def test_nobody_approves_their_own_draft_even_in_an_emergency(api, service):
    token = add_user(service, "both", [Role.DRAFTER, Role.APPROVER])
    resp = api.client.post(f"{PREFIX}/standards", json={"category": "05", "title": "紧急自批"},
                           headers={"Authorization": f"Bearer {token}"})
    code = resp.get_json()["code"]
    before = api.position()
    resp = api.client.post(f"{PREFIX}/standards/{code}/approve", json={"emergency": True, "reason": "急"},
                           headers={"Authorization": f"Bearer {token}", "If-Match": api.etag(code)})
    assert_problem(resp, 403)
    assert api.position() == before


def test_the_paperwork_is_on_the_due_list_until_someone_else_completes_it(api):
    code = api.draft()
    emergency(api, code, paperwork_due=(api.today + days(10)).isoformat())
    year = api.today.year

    def due(day):
        items = api.get(f"/reviews/due?as_of={day.isoformat()}&within=0").get_json()["items"]
        return {i["code"]: i for i in items}

    assert code not in due(api.today)
    overdue = due(api.today + days(15))[code]
    assert (overdue["reasons"], overdue["overdue_days"]) == (["paperwork"], 5)
    path = f"editions/{year}/paperwork"
    body = {"completed_on": api.today.isoformat(), "reason": "补齐审查记录"}
    before = api.position()
    assert_problem(api.command(code, path, "approver", body), 403)  # the emergency approver
    assert_problem(api.command(code, path, "drafter", body), 403)   # not a reviewer or approver
    assert_problem(api.command(code, path, "reviewer", {"completed_on": api.today.isoformat()}), 422)
    assert api.position() == before
    api.ok(code, path, "reviewer", body)
    got = api.get(f"/standards/{code}/editions/{year}").get_json()
    assert got["paperwork_completed_on"] == api.today.isoformat() and got["emergency"] is True
    assert code not in due(api.today + days(15))
    assert_problem(api.command(code, path, "reviewer", body), 409)  # completed once
    events = api.get(f"/standards/{code}/events").get_json()["items"]
    assert events[-1]["signature"]["meaning_label"] == "补办手续"


def test_paperwork_cannot_be_completed_where_none_is_due(api):
    code, _ = api.issued()
    before = api.position()
    resp = api.command(code, f"editions/{api.today.year}/paperwork", "reviewer",
                       {"completed_on": api.today.isoformat(), "reason": "无"})
    assert_problem(resp, 409)
    assert api.position() == before
