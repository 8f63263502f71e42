"""/subscriptions through the Flask client on both stores: admins only, the
secret in the creation's answer and nowhere else, every refusal a problem,
every command an event of the audit log."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from api import create_app
from api.bootstrap import bootstrap
from api.cli import main
from lifecycle.config import parse_networks
from lifecycle.seed import seed
from tests.api.helpers import PREFIX, assert_problem
from tests.conftest import ROLE_USERS
from tests.people import add_user

HOOK = "http://127.0.0.1:9/hooks/jgsw"


@pytest.fixture
def hooks(settings):
    """An app whose settings allow loopback targets, with an admin and an auditor."""
    register = bootstrap(replace(settings, webhook_allow=parse_networks("127.0.0.0/8, 10.8.0.0/16")))
    flask_app = create_app(service=register)
    flask_app.config.update(TESTING=True)
    tokens = {name: add_user(register, name, roles) for name, roles in ROLE_USERS.items()}
    yield Hooks(flask_app.test_client(), tokens, register)
    register.close()


class Hooks:
    def __init__(self, client, tokens, register) -> None:
        self.client, self.tokens, self.register = client, tokens, register

    def call(self, method: str, path: str = "", role: str = "admin", **kw):
        return self.client.open(f"{PREFIX}/subscriptions{path}", method=method,
                                headers={"Authorization": f"Bearer {self.tokens[role]}"}, **kw)

    def create(self, **body):
        body.setdefault("url", HOOK)
        resp = self.call("POST", json=body)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.get_json()


def test_an_admin_subscribes_and_sees_the_secret_once(hooks):
    made = hooks.create(types=["jgsw.standard.approved", "jgsw.standard.issued"], categories=["5", "01"],
                        description="审批流程引擎", reason="接入审批流程")
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["types"] == ["jgsw.standard.approved", "jgsw.standard.issued"]
    assert made["categories"] == ["01", "05"] and made["state"] == "active"
    assert made["position"] == hooks.register.log_position() and made["lag"] == 0
    assert made["created_by"] == "admin" and made["last_error"] is None

    one = hooks.call("GET", f"/{made['id']}")
    assert one.status_code == 200 and "secret" not in one.get_json()
    assert one.get_json() == {k: v for k, v in made.items() if k != "secret"}
    listed = hooks.call("GET").get_json()
    assert [s["id"] for s in listed["items"]] == [made["id"]] and listed["next"] is None
    assert made["secret"] not in hooks.call("GET").get_data(as_text=True)


def test_commands_change_pause_resume_replay_and_delete_it_as_events(hooks):
    made = hooks.create()
    sid = made["id"]
    seed(hooks.register)
    changed = hooks.call("PATCH", f"/{sid}", json={"types": ["jgsw.standard.withdrawn"], "url": HOOK + "/v2",
                                                   "description": None, "reason": "只要废止"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["types"] == ["jgsw.standard.withdrawn"] and changed.get_json()["url"] == HOOK + "/v2"
    assert changed.get_json()["lag"] > 0  # the seed came after it

    paused = hooks.call("POST", f"/{sid}/pause", json={"reason": "接收方维护"}).get_json()
    assert (paused["state"], paused["state_reason"], paused["state_by"]) == ("paused", "接收方维护", "admin")
    assert_problem(hooks.call("POST", f"/{sid}/pause", json={}), 409)
    assert hooks.call("POST", f"/{sid}/resume", json={}).get_json()["state"] == "active"
    assert_problem(hooks.call("POST", f"/{sid}/resume", json={}), 409)

    replayed = hooks.call("POST", f"/{sid}/replay", json={"from": 3, "reason": "重新同步"})
    assert replayed.status_code == 200 and replayed.get_json()["position"] == 2
    last = hooks.register.log_position()
    body = assert_problem(hooks.call("POST", f"/{sid}/replay", json={"from": last + 2}), 422)
    assert "from" in body["errors"]

    gone = hooks.call("DELETE", f"/{sid}", query_string={"reason": "停用"})
    assert gone.status_code == 204 and gone.get_data() == b""
    assert_problem(hooks.call("GET", f"/{sid}"), 404)
    assert_problem(hooks.call("POST", f"/{sid}/pause", json={}), 404)
    assert hooks.call("GET").get_json()["items"] == []

    log = hooks.register.audit.page(0, 1000)[0]
    mine = [(e["type"], e["label"], e["actor"], e["reason"]) for e in log if e.get("subscription") == sid]
    assert mine == [
        ("subscription.created", "创建订阅", "admin", None),
        ("subscription.changed", "修改订阅", "admin", "只要废止"),
        ("subscription.paused", "暂停订阅", "admin", "接收方维护"),
        ("subscription.resumed", "恢复订阅", "admin", None),
        ("subscription.replayed", "重放订阅", "admin", "重新同步"),
        ("subscription.deleted", "删除订阅", "admin", "停用"),
    ]
    events = hooks.client.get(f"{PREFIX}/events?limit=500",
                              headers={"Authorization": f"Bearer {hooks.tokens['auditor']}"}).get_json()
    assert any(e.get("subscription") == sid and e["data"]["url"] == HOOK for e in events["items"])


@pytest.mark.parametrize("url", [
    "http://10.1.2.3/hook",                 # private
    "http://192.168.1.10:8080/hook",        # private
    "http://169.254.169.254/latest/",       # metadata (link-local)
    "http://100.100.100.200/",              # Alibaba Cloud metadata (shared address space)
    "http://[::1]/hook",                    # loopback, IPv6: not in 127.0.0.0/8
    "http://[fe80::1]/hook",                # link-local
    "http://0.0.0.0/hook",                  # unspecified
    "http://8.8.8.8/hook",                  # public but not https
    "https://nowhere.invalid/hook",         # does not resolve
    "ftp://127.0.0.1/hook",                 # not http(s)
    "http://admin:pw@127.0.0.1/hook",       # credentials in the URL
    "not a url",
])
def test_a_target_it_may_not_send_to_is_a_422_naming_the_url(hooks, url):
    before = hooks.register.log_position()
    body = assert_problem(hooks.call("POST", json={"url": url}), 422)
    assert list(body["errors"]) == ["url"] and body["errors"]["url"][0]
    assert hooks.register.log_position() == before, "nothing recorded"


def test_allowed_networks_and_public_https_targets_are_accepted(hooks):
    for url in ("http://127.0.0.1:8080/a", "http://localhost:9/b", "http://10.8.3.4/c",
                "https://8.8.8.8/d", "http://[::ffff:127.0.0.1]:81/e"):
        assert hooks.call("POST", json={"url": url}).status_code == 201, url


def test_a_change_to_a_refused_url_is_refused_and_changes_nothing(hooks):
    sid = hooks.create()["id"]
    assert_problem(hooks.call("PATCH", f"/{sid}", json={"url": "http://10.9.9.9/"}), 422)
    assert hooks.call("GET", f"/{sid}").get_json()["url"] == HOOK


@pytest.mark.parametrize(("body", "field"), [
    ({"url": HOOK, "types": ["jgsw.standard.nonsense"]}, "types"),
    ({"url": HOOK, "types": []}, "types"),
    ({"url": HOOK, "types": "jgsw.standard.approved"}, "types"),
    ({"url": HOOK, "categories": ["07"]}, "categories"),
    ({"url": HOOK, "categories": []}, "categories"),
    ({"url": HOOK, "secret": "whsec_mine"}, "secret"),
    ({"url": HOOK, "description": "x" * 501}, "description"),
    ({"types": ["jgsw.standard.approved"]}, "url"),
    ({"url": ""}, "url"),
])
def test_bad_bodies_are_422_per_field(hooks, body, field):
    found = assert_problem(hooks.call("POST", json=body), 422)
    assert field in found["errors"], found


def test_bad_requests_are_problems(hooks):
    sid = hooks.create()["id"]
    assert_problem(hooks.call("GET", f"/{uuid4()}"), 404)
    assert_problem(hooks.call("GET", "/not-an-id"), 404)
    assert_problem(hooks.call("PATCH", f"/{sid}", json={}), 422)
    assert_problem(hooks.call("PATCH", f"/{sid}", json={"reason": "只有原因"}), 422)
    assert_problem(hooks.call("POST", f"/{sid}/replay", json={}), 422)
    assert_problem(hooks.call("POST", f"/{sid}/replay", json={"from": 0}), 422)
    assert_problem(hooks.call("DELETE", f"/{sid}", query_string={"force": "1"}), 422)
    assert_problem(hooks.call("POST", data="{not json", content_type="application/json"), 400)
    assert_problem(hooks.call("GET", query_string={"limit": "5"}), 422)


@pytest.mark.parametrize("role", ["drafter", "approver", "auditor"])
def test_only_admins_manage_or_read_subscriptions(hooks, role):
    sid = hooks.create()["id"]
    for method, path, body in (("POST", "", {"url": HOOK}), ("GET", "", None), ("GET", f"/{sid}", None),
                               ("PATCH", f"/{sid}", {"description": "x"}), ("DELETE", f"/{sid}", None),
                               ("POST", f"/{sid}/pause", {}), ("POST", f"/{sid}/replay", {"from": 1})):
        assert_problem(hooks.call(method, path, role=role, json=body), 403)
    assert_problem(hooks.client.get(f"{PREFIX}/subscriptions"), 401)
    assert hooks.call("GET", f"/{sid}").get_json()["state"] == "active"


def test_the_secret_is_in_no_event_no_export_and_survives_rebuild(hooks, runner, tmp_path):
    secret = hooks.create()["secret"]
    seed(hooks.register)
    raw = secret.removeprefix("whsec_")
    log = hooks.register.audit.page(0, 1000)[0]
    assert raw not in repr(log)
    out = tmp_path / "log.jsonl"
    assert runner.invoke(main, ["export", str(out)]).exit_code == 0
    assert raw not in out.read_text()
    assert runner.invoke(main, ["rebuild"]).exit_code == 0
    with hooks.register.reads.cursor() as c:
        c.execute("SELECT secret FROM subscription_secrets")
        kept = [tuple(r.values())[0] if isinstance(r, dict) else r[0] for r in c.fetchall()]
    assert kept == [secret], "rebuild never touches the secrets"


def test_an_imported_log_brings_subscriptions_without_their_secret(hooks, runner, tmp_path, settings):
    sid = hooks.create()["id"]
    out = tmp_path / "log.jsonl"
    assert runner.invoke(main, ["export", str(out)]).exit_code == 0
    target = f"sqlite:///{tmp_path / 'imported.db'}"
    result = runner.invoke(main, ["import", str(out)], env={"LIFECYCLE_DATABASE_URL": target})
    assert result.exit_code == 0, result.output
    imported = bootstrap(replace(settings, database_url=target))
    try:
        [view] = imported.subscriptions.views(imported.log_position())
        assert view["id"] == sid and view["position"] is None and "delete it and subscribe again" in \
            view["last_error"]
    finally:
        imported.close()
