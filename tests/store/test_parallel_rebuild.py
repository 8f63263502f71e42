"""The rebuild in several processes (projections/rebuild.py), on both stores:
each process replays the aggregates of one share of the log, the parent
writes their rows and merges what is gathered across aggregates (users,
subscriptions, originators, files in the order the log first names them).
It must give exactly the rows one process gives, and the rows the commands
wrote; an error in a process rolls everything back and leaves no process."""

from __future__ import annotations

import json
import multiprocessing
from datetime import date
from typing import Any

import pytest

from api.cli import main
from lifecycle import commands as cmd
from lifecycle import numbering
from lifecycle.domain import Standard
from lifecycle.users import Role
from projections import rebuild as rebuild_module
from projections.documents import standard_slices
from projections.projector import Projector
from projections.rebuild import expected_rows, notifications, rebuild, worker_count
from projections.verify import compare_rows
from tests.people import add_user, reissue_token, revoke_user
from tests.store.test_files_store import history_with_files
from tests.store.test_golden import GOLDEN, IMPORT_ARGS, newest, rows_extend

WORKERS = 4  # more shares than cores: every share is tested on a 2-core machine too


def shares_with_events(app: Any, shares: int) -> int:
    upto = app.log_position()
    return sum(1 for share in range(shares) if any(app.recorder.read_share(share, shares, upto, 1000)))


def many_standards(app: Any, n: int = 36) -> None:
    """n standards interleaved: drafted, edited, some approved and issued,
    some revised; users added and changed between them."""
    codes = []
    for i in range(n):
        made = app.handle(cmd.DraftStandard(category=f"0{i % 6 + 1}",
                                            fields={"title": f"标准 {i}", "summary": "初稿"}, actor="d1"))
        codes.append(numbering.parse_code(made.code))
        if i % 7 == 0:
            add_user(app, f"user{i}", [Role.DRAFTER])
    for round_ in range(3):
        for i, code in enumerate(codes):
            app.handle(cmd.EditDraft(code=code, expected_version=None, actor="d2", reason="改",
                                     changes={"summary": f"第{round_}稿", **({"title": f"标准 {i} 修"}
                                                                            if round_ == 1 and i % 3 == 0
                                                                            else {})}))
        reissue_token(app, "user0")
    for i, code in enumerate(codes[: n // 2]):
        on = {"code": code, "expected_version": None}
        app.handle(cmd.Submit(**on, actor="d1"))
        app.handle(cmd.Approve(**on, approved_on=date(2019, 3, 1 + i % 20), actor="a1"))
        if i % 2 == 0:
            app.handle(cmd.Publish(**on, issued_on=date(2019, 4, 1), effective_on=date(2019, 5, 1), actor="p1"))
            app.handle(cmd.OpenRevision(**on, actor="d1", reason="修订"))
            app.handle(cmd.EditDraft(**on, actor="d2", changes={"summary": "修订稿"}))
    revoke_user(app, "user7" if n > 7 else "user0")


def single_and_parallel(app: Any) -> tuple[dict, dict]:
    rebuild(app, workers=1)
    single = app.reads.dump()
    position = rebuild(app, workers=WORKERS)
    assert position == app.log_position()
    return single, app.reads.dump()


def test_many_standards_give_the_same_rows_in_several_processes(service):
    many_standards(service)
    recorded = service.reads.dump()
    assert shares_with_events(service, WORKERS) == WORKERS
    single, parallel = single_and_parallel(service)
    assert single == recorded
    assert parallel == recorded
    assert not multiprocessing.active_children()


def test_the_default_runs_in_processes_for_a_long_log(service, monkeypatch):
    many_standards(service, 12)
    recorded = service.reads.dump()
    monkeypatch.setattr(rebuild_module, "PARALLEL_FROM", 10)
    monkeypatch.setattr(rebuild_module.os, "cpu_count", lambda: 3)
    assert worker_count(service, service.log_position()) == 3
    started = []
    real = rebuild_module._rows_in_processes
    monkeypatch.setattr(rebuild_module, "_rows_in_processes",
                        lambda *a, **k: started.append(a[2]) or real(*a, **k))
    rebuild(service)
    assert started == [3]
    assert service.reads.dump() == recorded


def test_files_are_indexed_in_the_order_the_log_first_names_them(service):
    """The text index numbers contents in the order the log first names them,
    whichever process met them."""
    history_with_files(service)
    recorded = service.reads.dump()
    single, parallel = single_and_parallel(service)
    assert single == recorded
    assert parallel == recorded


def test_the_golden_log_gives_the_recorded_rows_in_several_processes(service, runner):
    result = runner.invoke(main, ["import", str(GOLDEN / "store.jsonl"), *IMPORT_ARGS])
    assert result.exit_code == 0, result.output
    expected = json.loads(newest("rows").read_text(encoding="utf-8"))
    single, parallel = single_and_parallel(service)
    assert rows_extend(expected, parallel) == []
    assert parallel == single


def test_a_failing_process_rolls_back_and_leaves_no_process(service, monkeypatch):
    many_standards(service, 12)
    recorded = service.reads.dump()

    def broken(self, *args, **kwargs):
        raise ValueError("broken on purpose")

    monkeypatch.setattr(rebuild_module.Rows, "take_open", broken)
    with pytest.raises(RuntimeError, match="broken on purpose"):
        rebuild(service, workers=WORKERS)
    assert not multiprocessing.active_children()
    assert service.reads.dump() == recorded


def test_a_store_in_memory_is_rebuilt_in_one_process(monkeypatch):
    from api.bootstrap import bootstrap
    from lifecycle.config import Settings

    app = bootstrap(Settings(database_url="sqlite:///:memory:"))
    try:
        monkeypatch.setattr(rebuild_module, "PARALLEL_FROM", 0)
        assert worker_count(app, 10**6) == 1
    finally:
        app.close()


def test_slices_remembered_across_events_are_the_slices_worked_out_afresh(service, runner):
    """The projector's memo and the groups it takes over from the slices
    before an event that keeps the editions (projector.EDITIONS_KEPT, and
    keeps_timeline) give what a standard's state gives with nothing remembered."""
    result = runner.invoke(main, ["import", str(GOLDEN / "store.jsonl"), *IMPORT_ARGS])
    assert result.exit_code == 0, result.output
    many_standards(service, 12)
    history_with_files(service)
    zone, years = service.settings.zone, service.settings.review_years
    projector = Projector(zone, years)
    states: dict[Any, Any] = {}
    slices: dict[Any, Any] = {}
    last_at: dict[Any, str | None] = {}
    checked = 0
    for batch in notifications(service):
        for n in batch:
            event = service.mapper.to_domain_event(n)
            key = event.originator_id
            states[key], slices[key], last_at[key], _ = projector.step(
                states.get(key), slices.get(key, {}), last_at.get(key), event)
            if isinstance(states[key], Standard):
                assert dict(slices[key]) == standard_slices(states[key], zone, None, years)
                checked += 1
    assert checked > 120



def test_verify_replays_in_processes_too(service):
    """`lifecycle verify` compares the tables with `expected_rows`, which
    replays in processes as the rebuild does: the same rows, the same states."""
    many_standards(service)
    history_with_files(service)
    one: dict[Any, Any] = {}
    several: dict[Any, Any] = {}
    single = expected_rows(service, states=one, workers=1)
    parallel = expected_rows(service, states=several, workers=WORKERS)
    assert compare_rows(parallel, service.reads.dump()) is None
    for table in set(single) | set(parallel):
        assert sorted(map(repr, parallel.get(table, []))) == sorted(map(repr, single.get(table, []))), table
    assert one.keys() == several.keys()
    for key, state in one.items():
        assert vars(several[key]) == vars(state)
    assert not multiprocessing.active_children()


def test_the_rebuild_leaves_the_connections_settings_as_they_were(service):
    """The rebuild's DELETEs skip SQLite's secure_delete (writer.fast_delete)
    and its writes have a larger page cache (writer.bulk); the connection goes
    back to the pool as it was."""
    if service.settings.store_kind != "sqlite":
        pytest.skip("an SQLite setting")

    def settings() -> set[tuple[int, int]]:
        seen = set()
        for commit in (True, False, True):
            with service.recorder.datastore.transaction(commit=commit) as c:
                c.execute("PRAGMA secure_delete")
                secure = int(c.fetchone()[0])
                c.execute("PRAGMA cache_size")
                seen.add((secure, int(c.fetchone()[0])))
        return seen

    many_standards(service, 6)
    before = settings()
    rebuild(service, workers=1)
    rebuild(service, workers=WORKERS)
    assert settings() == before


def test_the_shares_hold_every_id_once():
    from projections.recorder import share_bounds

    for shares in range(1, 9):
        for first in range(256):
            holders = [share for share in range(shares)
                       if (share_bounds(share, shares)[0] or 0) <= first < (share_bounds(share, shares)[1] or 256)]
            assert len(holders) == 1, (shares, first)


def test_the_processes_end_when_the_parent_is_killed(settings, service):
    """A parent killed outright (SIGKILL: no cleanup) leaves no process: each
    holds no reading end of any pipe, so its next send fails."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if service.settings.store_kind != "sqlite":
        pytest.skip("one store is enough: the pipes are the same")
    many_standards(service, 12)
    service.close()
    script = (
        "import time, sys\n"
        "from api.bootstrap import bootstrap\n"
        "from lifecycle.config import Settings\n"
        "from projections import rebuild as r\n"
        "r.BATCH = 1\n"
        "slow = r.Rows.add\n"
        "r.Rows.add = lambda self, *a: (time.sleep(0.2), slow(self, *a))[1]\n"
        f"r.rebuild(bootstrap(Settings(database_url={settings.database_url!r})), workers=2)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    children: list[str] = []

    def alive() -> list[str]:
        out = []
        for pid in children:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    if stat.read().split()[2] != "Z":
                        out.append(pid)
            except FileNotFoundError:
                pass
        return out

    try:
        deadline = time.monotonic() + 20
        while len(children) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent.pid)], capture_output=True,
                                      text=True).stdout.split()
        assert len(children) == 2
        time.sleep(0.5)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 3  # each has many events, 0.2 s each, still to replay
        while alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert alive() == []
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
        for pid in alive():  # only if the test failed
            os.kill(int(pid), signal.SIGKILL)
