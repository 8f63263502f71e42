"""Webhooks end to end: `lifecycle serve` with the deliverer it starts, a
`lifecycle deliver` killed with SIGKILL mid-stream and restarted, and two
deliverer hosts on one PostgreSQL database, all to a real receiver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest
import requests

from api.bootstrap import bootstrap
from lifecycle import commands as cmd
from lifecycle.config import Settings
from lifecycle.seed import seed
from lifecycle.subscriptions import new_secret
from tests.conftest import reset_postgres
from tests.e2e.conftest import Server, lifecycle_command
from tests.people import send
from tests.receiver import Receiver

pytestmark = pytest.mark.e2e

HOOK_ENV = {"LIFECYCLE_WEBHOOK_ALLOW": "127.0.0.0/8", "LIFECYCLE_WEBHOOK_TIMEOUT": "2"}


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append((int(entry.name), line))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def history(database_url: str, drafts: int) -> list[int]:
    """The seed and `drafts` standards through the workflow; the positions of standards' events."""
    app = bootstrap(Settings(database_url=database_url))
    try:
        seed(app)
        for i in range(drafts):
            std = send(app, cmd.DraftStandard, category=f"0{i % 6 + 1}",
                       fields={"title": f"推送测试 {i} 工作指南"}, actor="drafter")
            send(app, cmd.Submit, std.code, actor="drafter")
            send(app, cmd.Approve, std.code, approved_on=date(2025, 1, 2), actor="approver")
        items, _ = app.audit.page(0, 100_000)
        return [e["position"] for e in items if e["code"] is not None]
    finally:
        app.close()


def subscribe_directly(database_url: str, url: str) -> tuple[str, str]:
    app = bootstrap(Settings(database_url=database_url, webhook_allow=Settings.from_env(HOOK_ENV).webhook_allow))
    try:
        secret = new_secret()
        sub = app.handle(cmd.Subscribe(url=url, actor="operator", secret=secret))
        return str(sub.id), secret
    finally:
        app.close()


class Deliver:
    """`lifecycle deliver` as its own process (and process group)."""

    def __init__(self, workdir: Path, database_url: str, name: str) -> None:
        self.log = open(workdir / f"deliver-{name}.log", "w")
        self.proc = subprocess.Popen([lifecycle_command(), "deliver"], cwd=workdir,
                                     env={**os.environ, **HOOK_ENV, "LIFECYCLE_DATABASE_URL": database_url},
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=40)
        self.log.close()


def without_repeats(positions: list[int]) -> list[int]:
    return [p for i, p in enumerate(positions) if i == 0 or p != positions[i - 1]]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_serve_starts_a_deliverer_that_delivers_and_stops_with_it(tmp_path, settings, receiver, capsys):
    srv = Server(tmp_path, settings.database_url, workers=2)
    srv.env.update(HOOK_ENV)
    admin = {"Authorization": f"Bearer {srv.cli('user', 'add', 'admin', '--role', 'admin').stdout.strip()}"}
    srv.start()
    try:
        master = srv.proc.pid
        delivering = [pid for pid, line in children(master) if " deliver " in f"{line} "]
        assert len(delivering) == 1, children(master)

        for refused in ("http://10.20.30.40/hook", "http://169.254.169.254/latest/meta-data",
                        "http://[::1]:8080/hook", "http://0x7f000001.example.invalid/hook", "ftp://127.0.0.1/"):
            r = requests.post(f"{srv.url}/subscriptions", json={"url": refused}, headers=admin, timeout=30)
            assert r.status_code == 422, (refused, r.text)
            assert r.headers["Content-Type"] == "application/problem+json" and "url" in r.json()["errors"]

        r = requests.post(f"{srv.url}/subscriptions", headers=admin, timeout=30,
                          json={"url": receiver.url, "types": ["jgsw.standard.issued", "jgsw.standard.drafted"],
                                "description": "审批流程引擎：发布通知"})
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        assert secret.startswith("whsec_") and r.headers["Location"].endswith(r.json()["id"])
        assert r.headers["Location"] == f"/api/v1/subscriptions/{r.json()['id']}"
        shown = requests.get(f"{srv.url}/subscriptions/{r.json()['id']}", headers=admin, timeout=30).json()
        assert "secret" not in shown and shown["state"] == "active"

        srv.cli("seed")
        app = bootstrap(settings)
        try:
            items, _ = app.audit.page(0, 1000)
        finally:
            app.close()
        expected = [e["position"] for e in items if e["type"] in ("standard.issued", "standard.drafted")]
        assert receiver.wait_for(set(expected), timeout=30) == expected
        receiver.verify_all(secret)

        exported = tmp_path / "log.jsonl"
        srv.cli("export", str(exported))
        assert secret not in exported.read_text() and secret[6:] not in exported.read_text()
        assert "subscription.created" in requests.get(f"{srv.url}/events?limit=500", headers=admin,
                                                      timeout=30).text

        sample = receiver.accepted()[-1]
        with capsys.disabled():
            print("\n[webhooks] one delivered request, as the receiver saw it:")
            for name, value in sample.headers.items():
                print(f"  {name}: {value}")
            print("  " + json.dumps(sample.event, ensure_ascii=False, indent=1).replace("\n", "\n  "))
    finally:
        assert srv.stop() == 0
    assert not alive(delivering[0]), "the deliverer stops with the server"
    logs = "".join(p.read_text() for p in tmp_path.glob("serve-*.log"))
    assert "deliverer" in logs and secret not in logs and secret[6:] not in logs


def test_serve_starts_no_deliverer_when_told_not_to(tmp_path, settings):
    srv = Server(tmp_path, settings.database_url, workers=1)
    srv.env["LIFECYCLE_DELIVER"] = "0"
    srv.start()
    try:
        assert [line for _, line in children(srv.proc.pid) if "deliver" in line] == []
    finally:
        srv.stop()


def test_a_deliverer_killed_mid_stream_resumes_after_restart_and_skips_nothing(tmp_path, settings, receiver):
    if settings.store_kind == "postgresql":
        reset_postgres(settings.database_url)
    sid, secret = subscribe_directly(settings.database_url, receiver.url)
    expected = history(settings.database_url, 60)
    receiver.hang = 0.02
    receiver.script[:] = ["hang"] * len(expected)  # a receiver that takes 20 ms an event

    first = Deliver(tmp_path, settings.database_url, "first")
    try:
        while len(receiver.accepted()) < len(expected) // 3:
            assert first.proc.poll() is None, (tmp_path / "deliver-first.log").read_text()
            time.sleep(0.01)
        first.kill()
    finally:
        first.stop()
    cut = receiver.positions()
    assert 0 < len(cut) < len(expected)

    again = Deliver(tmp_path, settings.database_url, "again")
    try:
        got = receiver.wait_for(set(expected), timeout=60)  # after the killed host's lease lapses
    finally:
        again.stop()
    assert without_repeats(got) == expected, "nothing skipped, nothing out of order"
    assert len(got) - len(expected) <= 1, "at most the event in flight at the kill comes twice"
    receiver.verify_all(secret)


def test_two_hosts_on_one_postgresql_deliver_each_event_once_and_hand_over(tmp_path, postgres_database):
    reset_postgres(postgres_database)
    receivers = [Receiver() for _ in range(2)]
    hosts: list[Deliver] = []
    try:
        subs = [subscribe_directly(postgres_database, r.url) for r in receivers]
        hosts = [Deliver(tmp_path, postgres_database, name) for name in ("a", "b")]
        first = history(postgres_database, 30)
        for r in receivers:
            assert r.wait_for(set(first), timeout=60) == first, "each event once while both hosts run"
        # Kill whichever host holds the subscriptions: the other takes over within a minute.
        app = bootstrap(Settings(database_url=postgres_database))
        try:
            with app.reads.cursor() as c:
                c.execute("SELECT DISTINCT holder FROM deliveries")
                holders = [row["holder"] for row in c.fetchall()]
        finally:
            app.close()
        assert len(holders) >= 1
        victim = next(h for h in hosts if f":{h.proc.pid}:" in holders[0])
        victim.kill()
        killed_at = time.monotonic()
        everything = history(postgres_database, 10)
        for r, (_, secret) in zip(receivers, subs):
            got = r.wait_for(set(everything), timeout=60)
            assert without_repeats(got) == everything and len(got) - len(everything) <= 1
            r.verify_all(secret)
        assert time.monotonic() - killed_at < 60
    finally:
        for h in hosts:
            h.stop()
        for r in receivers:
            r.close()
