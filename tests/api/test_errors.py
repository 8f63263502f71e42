"""Every error status of API.md, as problem+json, and nothing written on refusal."""

from __future__ import annotations

import pytest

from tests.api.helpers import PREFIX, assert_problem, days
from tests.people import add_user


# ------------------------------------------------------------------ 400
def test_malformed_json_on_create_is_400(api):
    before = api.position()
    resp = api.client.post(PREFIX + "/standards", data='{"category": "05", "title": ',
                           content_type="application/json", headers=api.auth("drafter"))
    assert_problem(resp, 400)
    assert api.position() == before


def test_malformed_json_on_command_is_400(api):
    code = api.draft()
    before = api.position()
    headers = api.auth("drafter", **{"If-Match": api.etag(code)})
    resp = api.client.post(PREFIX + f"/standards/{code}/submit", data="{not json",
                           content_type="application/json", headers=headers)
    assert_problem(resp, 400)
    assert api.position() == before


# ------------------------------------------------------------------ 401
@pytest.mark.parametrize("path", ["/standards", "/standards/JGSW05001", "/categories",
                                  "/numbers/JGSW05001", "/standards/JGSW05001/editions"])
def test_reads_without_token_are_401(api, seeded, path):
    assert_problem(api.client.get(PREFIX + path), 401)
    assert_problem(api.client.get(PREFIX + path, headers={"Authorization": "Bearer nope"}), 401)


def test_create_without_or_with_wrong_token_is_401(api):
    before = api.position()
    body = {"category": "05", "title": "标题"}
    assert_problem(api.client.post(PREFIX + "/standards", json=body), 401)
    assert_problem(api.client.post(PREFIX + "/standards", json=body,
                                   headers={"Authorization": "Bearer wrong-token"}), 401)
    assert_problem(api.client.post(PREFIX + "/standards", json=body,
                                   headers={"Authorization": "Basic ZHJhZnRlcjp4"}), 401)
    assert api.position() == before


def test_command_with_wrong_token_is_401(api):
    code = api.draft()
    etag = api.etag(code)
    before = api.position()
    resp = api.client.post(PREFIX + f"/standards/{code}/submit", json={},
                           headers={"Authorization": "Bearer x" + api.auth("drafter")["Authorization"][8:],
                                    "If-Match": etag})
    assert_problem(resp, 401)
    assert api.position() == before


def test_revoked_token_is_401(api, runner):
    from api.cli import main

    assert api.get("/standards", role="drafter").status_code == 200
    result = runner.invoke(main, ["user", "revoke", "drafter"])
    assert result.exit_code == 0, result.output
    assert_problem(api.get("/standards", role="drafter"), 401)
    before = api.position()
    assert_problem(api.create(role="drafter"), 401)
    assert api.position() == before
    # others are not affected
    assert api.get("/standards", role="drafter2").status_code == 200


# ------------------------------------------------------------------ 403 self-approval
def test_self_approval_is_403(api, service):
    from lifecycle.users import Role

    token = add_user(service, "both", [Role.DRAFTER, Role.APPROVER])
    both = {"Authorization": f"Bearer {token}"}
    resp = api.client.post(PREFIX + "/standards", json={"category": "05", "title": "自己起草"},
                           headers=both)
    assert resp.status_code == 201
    code = resp.get_json()["code"]
    resp = api.client.post(PREFIX + f"/standards/{code}/submit", json={},
                           headers={**both, "If-Match": resp.headers["ETag"]})
    assert resp.status_code == 200
    before = api.position()
    resp = api.client.post(PREFIX + f"/standards/{code}/approve", json={},
                           headers={**both, "If-Match": resp.headers["ETag"]})
    assert_problem(resp, 403)
    assert api.position() == before
    # another approver may
    assert api.command(code, "approve", "approver").status_code == 200


def test_editor_may_not_approve_either(api, service):
    from lifecycle.users import Role

    token = add_user(service, "editor", [Role.DRAFTER, Role.APPROVER])
    editor = {"Authorization": f"Bearer {token}"}
    code = api.draft()
    resp = api.client.patch(PREFIX + f"/standards/{code}/draft", json={"summary": "补充"},
                            headers={**editor, "If-Match": api.etag(code)})
    assert resp.status_code == 200
    api.ok(code, "submit", "drafter")
    before = api.position()
    resp = api.client.post(PREFIX + f"/standards/{code}/approve", json={},
                           headers={**editor, "If-Match": api.etag(code)})
    assert_problem(resp, 403)
    assert api.position() == before


def test_who_edits_a_revision_may_not_approve_it(api, service):
    from lifecycle.users import Role

    token = add_user(service, "reviser", [Role.DRAFTER, Role.APPROVER])
    reviser = {"Authorization": f"Bearer {token}"}
    code, etag = api.issued(approved_on=api.today - days(400), issued_on=api.today - days(390))
    resp = api.client.post(PREFIX + f"/standards/{code}/revisions", json={"reason": "修订"},
                           headers={**reviser, "If-Match": etag})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    resp = api.client.patch(PREFIX + f"/standards/{code}/draft", json={"summary": "修订后的内容"},
                            headers={**reviser, "If-Match": resp.headers["ETag"]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    resp = api.client.post(PREFIX + f"/standards/{code}/submit", json={},
                           headers={**reviser, "If-Match": resp.headers["ETag"]})
    assert resp.status_code == 200
    before = api.position()
    resp = api.client.post(PREFIX + f"/standards/{code}/approve", json={},
                           headers={**reviser, "If-Match": resp.headers["ETag"]})
    assert_problem(resp, 403)
    assert api.position() == before


def test_who_only_opened_a_revision_may_approve_it(api, service):
    """Issue 10 finding 18: opening a revision (by the command, without a new
    title, or by a review's outcome) writes no content."""
    from lifecycle.users import Role

    token = add_user(service, "opener", [Role.DRAFTER, Role.APPROVER])
    opener = {"Authorization": f"Bearer {token}"}
    for how in ("revision", "review"):
        code, etag = api.issued(approved_on=api.today - days(400), issued_on=api.today - days(390))
        path, body = (("revisions", {"reason": "修订"}) if how == "revision" else
                      ("reviews", {"reviewed_on": api.today.isoformat(), "outcome": "revise", "reason": "复审修订"}))
        resp = api.client.post(PREFIX + f"/standards/{code}/{path}", json=body,
                               headers={**opener, "If-Match": etag})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        api.ok(code, "submit", "drafter")
        resp = api.client.post(PREFIX + f"/standards/{code}/approve", json={},
                               headers={**opener, "If-Match": api.etag(code)})
        assert resp.status_code == 200, (how, resp.get_data(as_text=True))
        assert resp.get_json()["editions"][-1]["year"] == api.today.year


# ------------------------------------------------------------------ 404
@pytest.mark.parametrize("path", [
    "/standards/JGSW06999", "/standards/JGSW06999/editions", "/standards/JGSW06999/editions/2018",
    "/standards/XYZ123", "/standards/JGSW07001", "/standards/JGSW0500", "/standards/JGSW05001/editions/1999",
    "/standards/JGSW05001/editions/abcd",
])
def test_unknown_standard_or_bad_number_in_path_is_404(api, seeded, path):
    assert_problem(api.get(path), 404)


@pytest.mark.parametrize("etag", ['"1"', None])
def test_command_on_unknown_standard_is_404(api, etag):
    before = api.position()
    assert_problem(api.command("JGSW06999", "submit", "drafter", etag=etag), 404)
    assert_problem(api.command("NOTANUMBER", "submit", "drafter", etag=etag), 404)
    assert api.position() == before


# ------------------------------------------------------------------ 409
def test_approve_a_draft_never_submitted_is_409(api):
    code = api.draft()
    before = api.position()
    body = assert_problem(api.command(code, "approve", "approver"), 409)
    assert body["type"].endswith("invalid-transition")
    assert api.position() == before


def test_publish_twice_is_409(api):
    code, etag = api.issued()
    before = api.position()
    today = api.today.isoformat()
    resp = api.command(code, "publish", "publisher",
                       {"issued_on": today, "effective_on": today}, etag=etag)
    assert_problem(resp, 409)
    assert api.position() == before


@pytest.mark.parametrize("action,role,body", [
    ("publish", "publisher", {"issued_on": "2020-01-01", "effective_on": "2020-01-01"}),
    ("revisions", "drafter", {"reason": "修订"}),
    ("withdraw", "approver", {"withdrawn_on": "2020-01-01", "reason": "x"}),
    ("reviews", "approver", {"reviewed_on": "2020-01-01", "outcome": "confirm"}),
    ("request-changes", "reviewer", {"reason": "x"}),
])
def test_commands_on_a_draft_are_409(api, action, role, body):
    code = api.draft()
    before = api.position()
    assert_problem(api.command(code, action, role, body), 409)
    assert api.position() == before


def test_submit_twice_is_409(api):
    code = api.submitted()
    before = api.position()
    assert_problem(api.command(code, "submit", "drafter"), 409)
    assert_problem(api.command(code, "draft", "drafter", {"title": "x"}, method="PATCH"), 409)
    assert api.position() == before


def test_drafting_a_number_that_exists_is_409(api, seeded):
    before = api.position()
    resp = api.create(category="05", sub_item="001", title="重复编号")
    body = assert_problem(resp, 409)
    assert "JGSW05001" in body["detail"]
    assert api.position() == before
    # the existing standard is untouched
    assert api.get("/standards/JGSW05001").get_json()["title"] == "后勤服务管理标准 公务接待工作指南"


# ------------------------------------------------------------------ 412 / 428
@pytest.mark.parametrize("stale", ['"999"', '"0"', '"abc"', "garbage"])
def test_stale_if_match_is_412(api, stale):
    code = api.draft()
    before = api.position()
    assert_problem(api.command(code, "submit", "drafter", etag=stale), 412)
    assert api.position() == before


def test_previous_etag_is_412_after_a_change(api):
    code = api.draft()
    old = api.etag(code)
    assert api.command(code, "draft", "drafter", {"summary": "a"}, etag=old, method="PATCH").status_code == 200
    before = api.position()
    assert_problem(api.command(code, "draft", "drafter", {"summary": "b"}, etag=old, method="PATCH"), 412)
    assert api.position() == before
    assert api.get(f"/standards/{code}").get_json()["draft"]["summary"] == "a"


@pytest.mark.parametrize("action,role,body,method", [
    ("draft", "drafter", {"title": "x"}, "PATCH"),
    ("submit", "drafter", {}, "POST"),
])
def test_missing_if_match_is_428(api, action, role, body, method):
    code = api.draft()
    before = api.position()
    assert_problem(api.command(code, action, role, body, etag=None, method=method), 428)
    assert api.position() == before


def test_missing_if_match_on_issued_standard_is_428(api):
    code, _ = api.issued()
    before = api.position()
    for action, role, body in [
        ("revisions", "drafter", {"reason": "x"}),
        ("withdraw", "approver", {"withdrawn_on": api.today.isoformat(), "reason": "x"}),
        ("reviews", "approver", {"reviewed_on": api.today.isoformat(), "outcome": "confirm"}),
    ]:
        assert_problem(api.command(code, action, role, body, etag=None), 428)
    assert api.position() == before


# ------------------------------------------------------------------ 413
def test_body_over_64_kib_is_413(api):
    before = api.position()
    resp = api.create(title="标题", summary="字" * (70 * 1024))
    assert_problem(resp, 413)
    assert api.position() == before


def test_body_just_over_limit_is_413_on_command(api):
    code = api.draft()
    before = api.position()
    big = '{"summary": "' + "a" * (64 * 1024) + '"}'
    headers = api.auth("drafter", **{"If-Match": api.etag(code)})
    resp = api.client.patch(PREFIX + f"/standards/{code}/draft", data=big,
                            content_type="application/json", headers=headers)
    assert_problem(resp, 413)
    assert api.position() == before


# ------------------------------------------------------------------ 422
def _fields(resp) -> dict:
    body = assert_problem(resp, 422)
    assert isinstance(body.get("errors"), dict), body
    return body["errors"]


def test_unknown_field_is_named(api):
    before = api.position()
    errors = _fields(api.create(title="标题", colour="red"))
    assert "colour" in errors
    assert api.position() == before


def test_missing_required_fields_are_named(api):
    before = api.position()
    resp = api.client.post(PREFIX + "/standards", json={}, headers=api.auth("drafter"))
    errors = _fields(resp)
    assert {"category", "title"} <= set(errors)
    assert api.position() == before


@pytest.mark.parametrize("category", ["07", "xx", "00", "123"])
def test_bad_category_is_422(api, category):
    before = api.position()
    errors = _fields(api.create(category=category))
    assert "category" in errors
    assert api.position() == before


@pytest.mark.parametrize("title", ["", "   "])
def test_empty_title_is_422(api, title):
    before = api.position()
    assert "title" in _fields(api.create(title=title))
    assert api.position() == before


def test_title_over_length_limit_is_422(api):
    before = api.position()
    assert "title" in _fields(api.create(title="长" * 201))
    assert api.position() == before
    # 200 is fine
    assert api.create(title="长" * 200).status_code == 201


def test_bad_level_and_sub_item_are_422(api):
    before = api.position()
    assert "level" in _fields(api.create(level="national"))
    assert "sub_item" in _fields(api.create(sub_item="1000"))
    assert "sub_item" in _fields(api.create(sub_item="abc"))
    assert api.position() == before


def test_publish_bad_date_is_422(api):
    code = api.approved()
    before = api.position()
    errors = _fields(api.command(code, "publish", "publisher",
                                 {"issued_on": "2026-13-45", "effective_on": "2026-01-01"}))
    assert "issued_on" in errors
    errors = _fields(api.command(code, "publish", "publisher",
                                 {"issued_on": "yesterday", "effective_on": "2026-01-01"}))
    assert "issued_on" in errors
    assert api.position() == before


def test_publish_missing_dates_is_422(api):
    code = api.approved()
    before = api.position()
    errors = _fields(api.command(code, "publish", "publisher", {}))
    assert {"issued_on", "effective_on"} <= set(errors)
    assert api.position() == before


def test_effective_before_issued_is_422(api):
    code = api.approved()
    before = api.position()
    today = api.today
    errors = _fields(api.command(code, "publish", "publisher", {
        "issued_on": today.isoformat(), "effective_on": (today - days(1)).isoformat()}))
    assert "effective_on" in errors
    assert api.position() == before


def test_issued_before_approval_is_422(api):
    code = api.approved()
    before = api.position()
    today = api.today
    errors = _fields(api.command(code, "publish", "publisher", {
        "issued_on": (today - days(5)).isoformat(), "effective_on": today.isoformat()}))
    assert "issued_on" in errors
    assert api.position() == before


def test_approved_on_in_the_future_is_422(api):
    code = api.submitted()
    before = api.position()
    errors = _fields(api.command(code, "approve", "approver",
                                 {"approved_on": (api.today + days(1)).isoformat()}))
    assert "approved_on" in errors
    assert api.position() == before
    assert api.get(f"/standards/{code}").get_json()["status"] == "under_review"


def test_approve_bad_date_is_422(api):
    code = api.submitted()
    before = api.position()
    assert "approved_on" in _fields(api.command(code, "approve", "approver", {"approved_on": "31/12/2018"}))
    assert api.position() == before


@pytest.mark.parametrize("action,role,body,field", [
    ("request-changes", "reviewer", {}, "reason"),
    ("request-changes", "reviewer", {"reason": "  "}, "reason"),
])
def test_request_changes_needs_reason(api, action, role, body, field):
    code = api.submitted()
    before = api.position()
    assert field in _fields(api.command(code, action, role, body))
    assert api.position() == before


def test_issued_commands_validate_bodies(api):
    code, _ = api.issued()
    before = api.position()
    assert "reason" in _fields(api.command(code, "revisions", "drafter", {}))
    assert "reason" in _fields(api.command(code, "withdraw", "approver",
                                           {"withdrawn_on": api.today.isoformat()}))
    assert "withdrawn_on" in _fields(api.command(code, "withdraw", "approver", {"reason": "x"}))
    assert "outcome" in _fields(api.command(code, "reviews", "approver",
                                            {"reviewed_on": api.today.isoformat(), "outcome": "maybe"}))
    assert "reviewed_on" in _fields(api.command(code, "reviews", "approver",
                                                {"reviewed_on": (api.today + days(3)).isoformat(),
                                                 "outcome": "confirm"}))
    assert "reason" in _fields(api.command(code, "reviews", "approver",
                                           {"reviewed_on": api.today.isoformat(), "outcome": "revise"}))
    assert "withdrawn_on" in _fields(api.command(code, "withdraw", "approver",
                                                 {"withdrawn_on": (api.today - days(1)).isoformat(),
                                                  "reason": "早于发布"}))
    assert api.position() == before


def test_patch_with_nothing_to_change_is_422(api):
    code = api.draft()
    before = api.position()
    _fields(api.command(code, "draft", "drafter", {}, method="PATCH"))
    # category and sub_item cannot be edited
    assert "category" in _fields(api.command(code, "draft", "drafter", {"category": "02"}, method="PATCH"))
    assert "sub_item" in _fields(api.command(code, "draft", "drafter", {"sub_item": "009"}, method="PATCH"))
    assert api.position() == before


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=-1", "limit=x", "status=frozen",
                                   "level=national", "category=09", "after=XYZ"])
def test_bad_catalogue_query_is_422(api, query):
    assert_problem(api.get(f"/standards?{query}"), 422)


def test_bad_number_is_422_naming_the_reason(api):
    body = assert_problem(api.get("/numbers/JGSW07001"), 422)
    assert body["reason"] == "unknown-category"
    assert "07" in body["detail"]
    body = assert_problem(api.get("/numbers/ABC05001"), 422)
    assert body["reason"] == "prefix"
    body = assert_problem(api.get("/numbers/JGSW05001-18"), 422)
    assert body["reason"] == "two-digit-year"


def test_unknown_path_and_method_are_problems(api):
    assert_problem(api.get("/nothing-here"), 404)
    resp = api.client.delete(PREFIX + "/standards/JGSW05001", headers=api.auth("admin"))
    assert_problem(resp, 405)


def test_review_withdraw_before_issue_date_writes_nothing(api):
    """A review whose follow-on withdrawal is refused records neither event."""
    code, _ = api.issued()
    before = api.position()
    resp = api.command(code, "reviews", "approver", {
        "reviewed_on": (api.today - days(2)).isoformat(), "outcome": "withdraw", "reason": "复审废止"})
    assert list(_fields(resp)) == ["reviewed_on"]  # the field the client sent (issue 10, finding 14)
    assert api.position() == before
    assert api.get(f"/standards/{code}").get_json()["reviews"] == []


def test_revision_effective_not_after_old_effective_is_422(api):
    from datetime import date

    code, _ = api.issued(approved_on=date(2020, 1, 10), issued_on=date(2020, 1, 10),
                         effective_on=date(2030, 1, 1))
    api.revise(code, date(2021, 1, 1), None, None)
    before = api.position()
    errors = _fields(api.command(code, "publish", "publisher",
                                 {"issued_on": "2021-01-02", "effective_on": "2022-01-01"}))
    assert "effective_on" in errors
    assert api.position() == before


def test_a_mistyped_999_costs_one_number_not_the_category(api):
    """Issue 10 finding 3: after a draft numbered 999, automatic numbering goes on
    from the lowest unused sub-item (顺延编号, DOMAIN.md §1), and /categories says so."""
    assert api.create(category="04", sub_item="999", title="误填的999号").status_code == 201
    items = {c["code"]: c for c in api.get("/categories").get_json()["items"]}
    assert (items["04"]["next_sub_item"], items["04"]["next_code"]) == ("001", "JGSW04001")
    resp = api.create(category="04", title="下一个自动编号")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["code"] == "JGSW04001"
    items = {c["code"]: c for c in api.get("/categories").get_json()["items"]}
    assert items["04"]["next_sub_item"] == "002"


def test_a_category_with_every_number_used_refuses_an_automatic_one(api, service):
    """All 999 sub-items drafted: an automatic draft is refused and records nothing."""
    from lifecycle.commands import DraftStandard

    for n in range(1, 1000):
        service.handle(DraftStandard(category="04", sub_item=f"{n:03d}", fields={"title": f"第{n}号"},
                                     actor="drafter"))
    before = api.position()
    resp = api.create(category="04", title="再来一号")
    problem = assert_problem(resp, 422)
    assert "'001'" in problem["detail"] and "'999'" in problem["detail"]
    assert api.position() == before
    items = {c["code"]: c for c in api.get("/categories").get_json()["items"]}
    assert items["04"]["next_sub_item"] is None and items["04"]["next_code"] is None
