"""Webhook deliveries on both stores, through the real deliverer (threads in
this process, each with its own register) to a real HTTP receiver on
127.0.0.1: order, filters, signatures, retries, the pause after the retry
window, replays, deletion, and two deliverers sharing the work."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from uuid import UUID

import pytest

from api.bootstrap import bootstrap
from lifecycle import commands as cmd
from lifecycle.config import Settings, parse_networks
from lifecycle.seed import seed
from lifecycle.subscriptions import new_secret
from lifecycle.users import Role
from projections.deliverer import Deliverer
from projections.register import Register
from tests.people import add_user, send
from tests.receiver import Receiver

APPROVED, ISSUED, SUBMITTED, DRAFTED = (f"jgsw.standard.{t}" for t in ("approved", "issued", "submitted",
                                                                       "drafted"))


@pytest.fixture
def hooked(settings: Settings) -> Settings:
    """The store under test, with loopback allowed and short timeouts."""
    return replace(settings, webhook_allow=parse_networks("127.0.0.0/8"), webhook_timeout=1.0)


@pytest.fixture
def register(hooked: Settings) -> Iterator[Register]:
    app = bootstrap(hooked)
    yield app
    app.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class Running:
    """A deliverer in a thread, with a register of its own (as a process has)."""

    def __init__(self, settings: Settings, **options) -> None:
        self.register = bootstrap(settings, create_tables=False)
        self.deliverer = Deliverer(self.register, **options)
        self.thread = threading.Thread(target=self.deliverer.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.deliverer.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()
        self.register.close()


@pytest.fixture
def deliverers(hooked: Settings) -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for running in started:
        if running.thread.is_alive():
            running.stop()


def subscribe(app: Register, url: str, **filters) -> tuple[str, str]:
    secret = new_secret()
    sub = app.handle(cmd.Subscribe(url=url, actor="admin", secret=secret, **filters))
    return str(sub.id), secret


def matching(app: Register, after: int, types: set[str] | None = None,
             categories: set[str] | None = None) -> list[int]:
    """Positions after `after` of standards' events these filters let through (from the audit log)."""
    items, _ = app.audit.page(after, 10_000)
    return [e["position"] for e in items if e["code"] is not None
            and (types is None or f"jgsw.{e['type']}" in types)
            and (categories is None or e["code"][4:6] in categories)]


def view(app: Register, sid: str) -> dict:
    return app.subscriptions.views(app.log_position(), sid)[0]


def wait_until(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not so within {timeout} s")


def workflow(app: Register, category: str = "02") -> str:
    """A new standard drafted, submitted, approved and issued; its code."""
    std = send(app, cmd.DraftStandard, category=category, fields={"title": "测试 订阅工作指南"}, actor="drafter")
    send(app, cmd.Submit, std.code, actor="drafter")
    send(app, cmd.Approve, std.code, approved_on=date(2024, 3, 1), actor="approver", reason="审议通过")
    send(app, cmd.Publish, std.code, issued_on=date(2024, 4, 1), effective_on=date(2024, 5, 1), actor="pub")
    return std.code


def test_every_matching_event_arrives_in_order_signed_after_refusals_and_a_timeout(
        register, hooked, receiver, deliverers):
    receiver.script[:] = ["refuse", "refuse", "hang"]
    receiver.hang = 2.5  # longer than the deliverer's timeout (1 s): a retry follows
    types, categories = {APPROVED, ISSUED, DRAFTED, SUBMITTED}, {"01", "05"}
    sid, secret = subscribe(register, receiver.url, types=sorted(types), categories=sorted(categories),
                            description="审批流程引擎")
    created = register.log_position()
    seed(register)
    add_user(register, "someone", [Role.DRAFTER])   # a user's event: never delivered
    workflow(register, "05")
    workflow(register, "02")                        # a category the filter leaves out
    expected = matching(register, created, types, categories)
    assert len(expected) > 10

    deliverers.append(Running(hooked))
    got = receiver.wait_for(set(expected), timeout=60)

    assert set(got) == set(expected), "only the matching events, and each of them"
    assert got == sorted(got), "in log order (a retried event may come twice, never out of order)"
    assert [a.action for a in receiver.arrivals[:3]] == ["refuse", "refuse", "hang"]
    assert receiver.arrivals[3].position == receiver.arrivals[0].position, "the refused event comes again"
    receiver.verify_all(secret)

    first = receiver.accepted()[-1]
    event = first.event
    assert first.headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
    assert event["specversion"] == "1.0" and event["type"] == ISSUED and event["subject"].startswith("JGSW05")
    assert event["source"] == "/api/v1/standards" and event["datacontenttype"] == "application/json"
    assert event["time"] == event["data"]["recorded_at"]
    assert event["data"]["signature"]["meaning"] == "issue" and event["data"]["signature"]["meaning_label"] == "发布"
    approval = next(a.event for a in receiver.accepted() if a.event["data"]["reason"] == "审议通过")
    assert approval["type"] == APPROVED and approval["data"]["label"] == "批准"
    assert approval["data"]["actor"] == "approver" and approval["data"]["data"]["year"] == 2024
    assert first.headers["webhook-id"] == f"{event['id']}-{sid}"

    # the same entry as the audit log gives for that position
    entry = register.audit.page(int(event["id"]) - 1, 1)[0][0]
    assert event["data"] == entry

    state = wait_until(lambda: (v := view(register, sid))["attempts"] == 0 and v["lag"] == 0 and v)
    assert state["state"] == "active" and state["last_error"] is None and state["last_status"] == 204
    assert state["delivered"] >= len(expected)


def test_no_event_arrives_once_a_change_of_filters_excludes_it(register, hooked, receiver, deliverers):
    sid, secret = subscribe(register, receiver.url)
    deliverers.append(Running(hooked))
    code = workflow(register, "03")
    receiver.wait_for(set(matching(register, 0)))

    register.handle(cmd.ChangeSubscription(subscription_id=UUID(sid), actor="admin",
                                           changes={"types": [SUBMITTED, ISSUED], "categories": ["03"]}))
    changed = register.log_position()
    workflow(register, "03")
    workflow(register, "04")
    send(register, cmd.OpenRevision, code, actor="drafter", reason="修订")
    send(register, cmd.Submit, code, actor="drafter")
    wanted = set(matching(register, changed, {SUBMITTED, ISSUED}, {"03"}))
    receiver.wait_for(wanted)
    time.sleep(1.0)  # time for anything else to (wrongly) arrive
    after = [a.event for a in receiver.accepted() if int(a.event["id"]) > changed]
    assert {int(e["id"]) for e in after} == wanted
    assert all(e["type"] in (SUBMITTED, ISSUED) and e["subject"].startswith("JGSW03") for e in after)
    receiver.verify_all(secret)


def test_a_subscription_that_keeps_failing_is_paused_saying_why_then_resumes(
        hooked, receiver, deliverers):
    settings = replace(hooked, webhook_retry_hours=1.5 / 3600)  # retries for 1.5 s
    app = bootstrap(settings)
    try:
        receiver.script[:] = ["refuse"] * 1000
        sid, secret = subscribe(app, receiver.url, types=[DRAFTED])
        send(app, cmd.DraftStandard, category="06", fields={"title": "其他 失败测试"}, actor="drafter")
        deliverers.append(Running(settings))

        paused = wait_until(lambda: (v := view(app, sid))["state"] == "paused" and v, timeout=30)
        assert paused["state_by"] == "deliverer" and "HTTP 503" in paused["state_reason"]
        assert "busy, try later" in paused["last_error"] and paused["last_status"] == 503
        assert paused["attempts"] >= 2 and paused["delivered"] == 0
        log = [e for e in app.audit.page(0, 1000)[0] if e["type"] == "subscription.paused"]
        assert log[-1]["actor"] == "deliverer" and log[-1]["subscription"] == sid
        tries = len(receiver.arrivals)
        gaps = [b.at - a.at for a, b in zip(receiver.arrivals, receiver.arrivals[1:])]
        assert all(g > 0.2 for g in gaps), f"backoff between attempts: {gaps}"
        time.sleep(1.5)
        assert len(receiver.arrivals) == tries, "nothing is sent while paused"

        receiver.script.clear()
        app.handle(cmd.ResumeSubscription(subscription_id=UUID(sid), actor="admin", reason="接收方已修复"))
        receiver.wait_for(set(matching(app, 0, {DRAFTED})))
        # The resume itself sets attempts to 0; the delivery's success, recorded
        # after the receiver has the event, is what clears the last error.
        resumed = wait_until(lambda: (v := view(app, sid))["delivered"] >= 1 and v)
        assert resumed["state"] == "active" and resumed["attempts"] == 0 and resumed["last_error"] is None
        receiver.verify_all(secret)
    finally:
        app.close()


def test_replay_delivers_again_from_a_position_and_delete_forgets_the_secret(
        register, hooked, receiver, deliverers):
    sid, secret = subscribe(register, receiver.url, categories=["01"])
    seed(register)
    everything = matching(register, 0, None, {"01"})
    deliverers.append(Running(hooked))
    receiver.wait_for(set(everything))
    count = len(receiver.accepted())

    register.handle(cmd.ReplaySubscription(subscription_id=UUID(sid), from_position=everything[3],
                                           actor="admin", reason="接收方数据丢失"))
    assert view(register, sid)["position"] == everything[3] - 1
    wait_until(lambda: len(receiver.accepted()) >= count + len(everything) - 3)
    assert receiver.positions()[count:] == everything[3:]
    receiver.verify_all(secret)

    register.handle(cmd.DeleteSubscription(subscription_id=UUID(sid), actor="admin"))
    with register.reads.cursor() as c:
        c.execute("SELECT subscription_id FROM subscription_secrets UNION ALL "
                  "SELECT subscription_id FROM deliveries")
        assert c.fetchall() == []
    assert register.subscriptions.views(register.log_position()) == []
    before = len(receiver.arrivals)
    workflow(register, "01")
    time.sleep(1.5)
    assert len(receiver.arrivals) == before


def test_two_deliverers_share_the_work_and_each_event_is_delivered_by_one(
        register, hooked, deliverers):
    receivers = [Receiver() for _ in range(3)]
    try:
        subs = [subscribe(register, r.url) for r in receivers]
        a, b = Running(hooked, host="host-a"), Running(hooked, host="host-b")
        deliverers += [a, b]
        for i in range(6):
            workflow(register, "0" + str(i % 6 + 1))
        expected = matching(register, 0)
        for r, (_, secret) in zip(receivers, subs):
            got = r.wait_for(set(expected))
            assert got == expected, "each event once, in order, although two hosts deliver"
            r.verify_all(secret)
            assert len({arrival.connection for arrival in r.arrivals}) == 1, "one keep-alive connection"

        # A host that stops hands its subscriptions over at once; the other goes on.
        holders = _holders(register)
        a.stop()
        workflow(register, "05")
        more = matching(register, expected[-1])
        for r in receivers:
            assert r.wait_for(set(expected + more)) == expected + more
        assert set(_holders(register)) == {"host-b"}, holders
    finally:
        for r in receivers:
            r.close()


def _holders(app: Register) -> list[str]:
    with app.reads.cursor() as c:
        c.execute("SELECT holder FROM deliveries")
        return [tuple(r.values())[0] if isinstance(r, dict) else r[0] for r in c.fetchall()]


def test_deliveries_rows_survive_a_rebuild_and_are_written_with_the_commands(register, receiver):
    from projections.rebuild import rebuild

    sid, _ = subscribe(register, receiver.url)
    register.handle(cmd.PauseSubscription(subscription_id=UUID(sid), actor="admin", reason="维护"))
    before = register.reads.dump()
    position = view(register, sid)["position"]
    rebuild(register)
    assert register.reads.dump() == before
    assert before["subscriptions"][0][5:8] == ("paused", "维护", "admin")
    assert view(register, sid)["position"] == position


def test_more_subscriptions_than_threads_take_turns(register, hooked, deliverers):
    """With one thread, a subscription with a long backlog does not keep the
    other waiting until it has caught up: turns last TURN seconds at most."""
    slow = [Receiver(script=["hang"] * 1000, hang=0.03) for _ in range(2)]
    try:
        for r in slow:
            subscribe(register, r.url)
        for i in range(25):
            workflow(register, f"0{i % 6 + 1}")
        expected = matching(register, 0)  # 100 events: 3 s or more for each subscription
        deliverers.append(Running(hooked, threads=1))
        both = wait_until(lambda: all(r.arrivals for r in slow) and [r.arrivals[0].at for r in slow], 30)
        finished = [r.wait_for(set(expected), 60) and r.arrivals[-1].at for r in slow]
        assert max(both) < min(finished), "the second started before the first had caught up"
    finally:
        for r in slow:
            r.close()
