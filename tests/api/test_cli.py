"""The `lifecycle` command line through click's runner, on the same store as the API."""

from __future__ import annotations

from datetime import date

from api.cli import main
from tests.api.helpers import PREFIX, assert_problem


def test_user_add_prints_only_the_token_and_it_authenticates(api, runner):
    result = runner.invoke(main, ["user", "add", "wang.li", "--role", "drafter"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert token == token.strip() and len(token) >= 20 and " " not in token
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get(PREFIX + "/standards", headers=headers).status_code == 200
    resp = api.client.post(PREFIX + "/standards", json={"category": "05", "title": "命令行用户起草"},
                           headers=headers)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["draft"]["drafted_by"] == "wang.li"
    # only drafter: may not approve
    resp = api.client.post(PREFIX + f"/standards/{resp.get_json()['code']}/approve", json={},
                           headers={**headers, "If-Match": resp.headers["ETag"]})
    assert_problem(resp, 403)


def test_user_add_several_roles(api, runner):
    result = runner.invoke(main, ["user", "add", "zhang", "--role", "reviewer,approver", "--role", "publisher"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert len(result.stdout.splitlines()) == 1
    code = api.submitted()
    headers = {"Authorization": f"Bearer {token}", "If-Match": api.etag(code)}
    resp = api.client.post(PREFIX + f"/standards/{code}/approve", json={}, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    headers["If-Match"] = resp.headers["ETag"]
    today = api.today.isoformat()
    resp = api.client.post(PREFIX + f"/standards/{code}/publish",
                           json={"issued_on": today, "effective_on": today}, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_user_add_unknown_role_fails(api, runner, service):
    before = api.position()
    result = runner.invoke(main, ["user", "add", "li", "--role", "boss"])
    assert result.exit_code != 0
    assert result.stdout.strip() == ""
    assert api.position() == before


def test_user_add_twice_fails(api, runner):
    assert runner.invoke(main, ["user", "add", "chen", "--role", "drafter"]).exit_code == 0
    before = api.position()
    result = runner.invoke(main, ["user", "add", "chen", "--role", "approver"])
    assert result.exit_code != 0
    assert result.stdout.strip() == ""
    assert api.position() == before


def test_user_revoke_takes_effect_at_once(api, runner):
    token = runner.invoke(main, ["user", "add", "zhao", "--role", "auditor"]).stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get(PREFIX + "/categories", headers=headers).status_code == 200
    result = runner.invoke(main, ["user", "revoke", "zhao"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == ""
    assert_problem(api.client.get(PREFIX + "/categories", headers=headers), 401)


def test_user_revoke_unknown_fails(runner):
    assert runner.invoke(main, ["user", "revoke", "nobody"]).exit_code != 0


def test_seed_twice_records_nine_then_nothing(api, runner, service):
    start = api.position()
    result = runner.invoke(main, ["seed"])
    assert result.exit_code == 0, result.output
    after_first = api.position()
    # nine standards: drafted, submitted, approved (+ issued for three) = 9*3 + 3 events
    assert after_first - start == 30
    assert "9" in result.stderr and result.stdout.strip() == ""
    rows = api.get("/standards").get_json()["items"]
    assert len(rows) == 9
    result = runner.invoke(main, ["seed"])
    assert result.exit_code == 0, result.output
    assert api.position() == after_first
    assert len(api.get("/standards").get_json()["items"]) == 9


def test_seed_via_cli_is_served_by_api(api, runner, tokens):
    assert runner.invoke(main, ["seed"]).exit_code == 0
    rows = api.get("/standards").get_json()["items"]
    assert len(rows) == 9
    assert sum(1 for r in rows if r["status"] == "trial") == 3


def _workflow_with_revision_and_withdrawal(api):
    from lifecycle.seed import seed

    seed(api.service)
    api.publish("JGSW05001", date(2018, 12, 31), date(2019, 1, 1))
    api.revise("JGSW05001", date(2021, 5, 10), date(2021, 6, 1), date(2021, 7, 1),
               title="后勤服务管理标准 公务接待工作指南（修订）")
    api.publish("JGSW05002", date(2019, 1, 1), date(2019, 2, 1))
    api.ok("JGSW05002", "withdraw", "approver", {"withdrawn_on": "2024-01-01", "reason": "并入 JGSW05001"})
    api.publish("JGSW05003", api.today, api.today)
    api.ok("JGSW05003", "revisions", "drafter", {"reason": "开始修订"})
    code = api.draft(category="06", title="其他管理标准 草案")
    api.ok(code, "draft", "drafter2", {"summary": "补充"}, method="PATCH")
    api.ok("JGSW01001", "reviews", "approver", {"reviewed_on": "2024-06-01", "outcome": "confirm"})


def test_rebuild_reproduces_the_projections(api, runner, service):
    _workflow_with_revision_and_withdrawal(api)
    before = service.reads.dump()
    catalogue = api.get("/standards").get_json()
    result = runner.invoke(main, ["rebuild"])
    assert result.exit_code == 0, result.output
    after = service.reads.dump()
    assert after == before
    assert api.get("/standards").get_json() == catalogue
    # a command after the rebuild still works and its read sees it
    api.ok("JGSW05003", "submit", "drafter")
    assert api.get("/standards/JGSW05003").get_json()["draft"]["stage"] == "under_review"


def test_rebuild_output_goes_to_stderr(api, runner):
    _workflow_with_revision_and_withdrawal(api)
    result = runner.invoke(main, ["rebuild"])
    assert result.exit_code == 0
    assert result.stdout.strip() == ""
    assert str(api.position()) in result.stderr
