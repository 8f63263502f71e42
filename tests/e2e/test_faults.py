"""Faults under load (issue 6, item 5), through a real `lifecycle serve`:

- 50 clients race conflicting commands on a few drafts: one winner per
  version, everything else 409/412, never a 5xx; SIGKILL of the whole server
  mid-load, restart, and every acknowledged command is in the log, the
  projections equal a rebuild, the chain verifies.
- A full disk or a read-only store gives a 503 problem (no traceback), reads
  keep working, nothing is half-written, and the service recovers by itself.

LIFECYCLE_FAULT_SECONDS sets how long the load runs (default 20)."""

from __future__ import annotations

import os
import random
import secrets
import shutil
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from tests.conftest import SERVER_URL, _with_database, reset_postgres
from tests.e2e.conftest import Server, add_users, bearer

pytestmark = pytest.mark.e2e

FAULT_SECONDS = float(os.environ.get("LIFECYCLE_FAULT_SECONDS") or 20)
CLIENTS = 50
RACED = 5                     # drafts that every client fights over
KILL_AT = 0.7                 # the SIGKILL, as a share of the load's duration
DRAFT_CATEGORIES = ("02", "03", "04")
EVENT_OF = {"edit": "standard.draft_edited", "submit": "standard.submitted",
            "request-changes": "standard.changes_requested", "draft": "standard.drafted"}


# ------------------------------------------------------------------ helpers
def all_items(srv: Server, path: str) -> list[dict]:
    """Follow `next` links to the end of a list."""
    items, url = [], f"{srv.url}{path}"
    while url:
        r = requests.get(url, headers=bearer(srv, "auditor"), timeout=60)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        url = page["next"] and f"{srv.url.removesuffix('/api/v1')}{page['next']}"
    return items


def read_state(srv: Server, codes: set[str]) -> tuple[list[dict], dict[str, dict]]:
    """The catalogue and every standard in `codes`, as served."""
    catalogue = all_items(srv, "/standards?limit=500")
    codes = codes | {row["code"] for row in catalogue}

    def one(code: str) -> tuple[str, dict]:
        r = requests.get(f"{srv.url}/standards/{code}", headers=bearer(srv, "auditor"), timeout=60)
        assert r.status_code == 200, (code, r.status_code, r.text)
        return code, {"etag": r.headers["ETag"], **r.json()}

    with ThreadPoolExecutor(max_workers=4) as pool:
        return catalogue, dict(pool.map(one, sorted(codes)))


def assert_projections_equal_a_rebuild(srv: Server, codes: set[str]) -> None:
    before = read_state(srv, codes)
    result = srv.cli("rebuild")
    assert "rebuilt up to log position" in result.stderr, result.stderr
    after = read_state(srv, codes)
    assert before[0] == after[0], "the catalogue differs from a rebuild"
    differ = [code for code in before[1] if before[1][code] != after[1].get(code)]
    assert not differ, f"standards that differ from a rebuild: {differ[:10]}"
    assert_positions_agree(srv)


def assert_positions_agree(srv: Server) -> None:
    health = requests.get(f"{srv.url}/health", timeout=30).json()
    assert set(health["projections"].values()) == {health["position"]}, health


def verify_chain(srv: Server) -> str:
    result = srv.cli("verify", check=False)
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout.strip()


def standard_events(srv: Server, code: str) -> list[dict]:
    r = requests.get(f"{srv.url}/standards/{code}/events", headers=bearer(srv, "auditor"), timeout=60)
    assert r.status_code == 200, (code, r.status_code, r.text)
    return r.json()["items"]


def draft_one(srv: Server, category: str, title: str, reason: str | None = None,
              timeout: float = 30, **fields: str) -> requests.Response:
    body = {"category": category, "title": title, **fields}
    if reason:
        body["reason"] = reason
    return requests.post(f"{srv.url}/standards", json=body, headers=bearer(srv, "drafter"),
                         timeout=timeout)


# ------------------------------------------------------------------ load
@dataclass
class Tally:
    """What the clients saw; appended to from many threads (list.append and
    Counter updates under the lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: list[dict] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    five_xx: list[tuple[str, int, str]] = field(default_factory=list)
    unexpected: list[tuple[str, int, str]] = field(default_factory=list)
    connection_errors: int = 0
    requests: int = 0

    def saw(self, what: str, r: requests.Response, ok: tuple[int, ...], conflicts=(409, 412)) -> bool:
        with self.lock:
            self.requests += 1
            self.statuses[(what, r.status_code)] += 1
            if r.status_code >= 500:
                self.five_xx.append((what, r.status_code, r.text[:500]))
            elif r.status_code not in ok and r.status_code not in conflicts:
                self.unexpected.append((what, r.status_code, r.text[:500]))
        return r.status_code in ok


def client(srv: Server, codes: list[str], tally: Tally, stop: threading.Event, number: int) -> None:
    rng = random.Random(number)
    session = requests.Session()
    drafters = ("drafter", "drafter2")
    i = 0
    while not stop.is_set():
        i += 1
        url = srv.url  # changes when the server restarts on a new port
        reason = f"c{number}-{i}"
        try:
            if rng.random() < 0.06:
                category = rng.choice(DRAFT_CATEGORIES)
                r = session.post(f"{url}/standards", headers=bearer(srv, rng.choice(drafters)),
                                 json={"category": category, "title": f"并发起草 {reason}",
                                       "reason": reason}, timeout=30)
                if tally.saw("draft", r, (201,)):
                    body = r.json()
                    with tally.lock:
                        tally.acknowledged.append({
                            "kind": "draft", "code": body["code"], "version": 1, "reason": reason,
                            "etag": int(r.headers["ETag"].strip('"')), "body": body})
                continue
            code = rng.choice(codes)
            r = session.get(f"{url}/standards/{code}", headers=bearer(srv, "auditor"), timeout=30)
            if not tally.saw("read", r, (200,), conflicts=()):
                continue
            tag, stage = r.headers["ETag"], r.json()["stage"]
            read_version = int(tag.strip('"'))
            roll = rng.random()
            if stage == "draft":
                kind = "edit" if roll < 0.6 else "submit" if roll < 0.95 else "request-changes"
            else:
                kind = "request-changes" if roll < 0.8 else "edit" if roll < 0.9 else "submit"
            if kind == "edit":
                r = session.patch(f"{url}/standards/{code}/draft",
                                  json={"summary": f"摘要 {reason}", "reason": reason},
                                  headers=bearer(srv, rng.choice(drafters), **{"If-Match": tag}),
                                  timeout=30)
            elif kind == "submit":
                r = session.post(f"{url}/standards/{code}/submit", json={"reason": reason},
                                 headers=bearer(srv, rng.choice(drafters), **{"If-Match": tag}),
                                 timeout=30)
            else:
                r = session.post(f"{url}/standards/{code}/request-changes",
                                 json={"reason": reason},
                                 headers=bearer(srv, "approver", **{"If-Match": tag}), timeout=30)
            if tally.saw(kind, r, (200,)):
                with tally.lock:
                    tally.acknowledged.append({
                        "kind": kind, "code": code, "version": read_version + 1, "reason": reason,
                        "etag": int(r.headers["ETag"].strip('"')), "body": r.json()})
        except requests.RequestException:
            # The server is dead or restarting: no answer, so nothing acknowledged.
            with tally.lock:
                tally.connection_errors += 1
            session.close()
            session = requests.Session()
            stop.wait(0.2)


def test_conflicting_commands_under_load_then_sigkill(server: Server, capsys):
    codes = []
    for n in range(RACED):
        r = requests.post(f"{server.url}/standards", headers=bearer(server, "drafter"),
                          json={"category": "06", "title": f"其他管理标准 争用 {n}"}, timeout=30)
        assert r.status_code == 201, r.text
        codes.append(r.json()["code"])

    tally, stop = Tally(), threading.Event()
    threads = [threading.Thread(target=client, args=(server, codes, tally, stop, n), daemon=True)
               for n in range(CLIENTS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(FAULT_SECONDS * KILL_AT)
    with tally.lock:
        before_kill = len(tally.acknowledged)
    server.kill()  # SIGKILL of the master and every worker, mid-load
    killed_at = time.monotonic() - started
    time.sleep(1)  # clients fail quietly against the dead port
    server.start()
    restarted_at = time.monotonic() - started
    time.sleep(max(0.0, FAULT_SECONDS - (time.monotonic() - started)))
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a client did not stop"
    elapsed = time.monotonic() - started

    # No 5xx ever; every refusal a conflict (409 invalid transition, 412 stale ETag).
    assert not tally.five_xx, tally.five_xx[:5]
    assert not tally.unexpected, tally.unexpected[:5]
    acked = tally.acknowledged
    assert before_kill >= 20, f"only {before_kill} commands acknowledged before the kill"

    # One winner per version of each standard.
    per_version = Counter((a["code"], a["version"]) for a in acked)
    doubles = [key for key, n in per_version.items() if n > 1]
    assert not doubles, f"versions acknowledged twice: {doubles[:10]}"
    # The answer is the standard after the command: never older than it.
    assert all(a["etag"] >= a["version"] and a["body"]["version"] == a["etag"] for a in acked)

    # After the crash and restart: every acknowledged command is in the log,
    # at its version, with its type and its reason.
    events = {code: {e["version"]: e for e in standard_events(server, code)}
              for code in sorted({a["code"] for a in acked} | set(codes))}
    missing = []
    for a in acked:
        e = events[a["code"]].get(a["version"])
        if e is None or e["type"] != EVENT_OF[a["kind"]] or e["reason"] != a["reason"]:
            missing.append((a["kind"], a["code"], a["version"], a["reason"], e and (e["type"], e["reason"])))
    assert not missing, f"acknowledged commands not in the log: {missing[:10]}"
    for a in acked:
        if a["kind"] == "draft":
            r = requests.get(f"{server.url}/standards/{a['code']}", headers=bearer(server, "auditor"),
                             timeout=30)
            assert r.status_code == 200 and r.json()["title"] == a["body"]["title"], (a["code"], r.text)

    head = verify_chain(server)
    assert_projections_equal_a_rebuild(server, set(events))

    kinds = Counter(a["kind"] for a in acked)
    conflicts = Counter(code for (_, code), n in tally.statuses.items() for _ in range(n)
                        if code in (409, 412))
    later = sum(a["etag"] > a["version"] for a in acked)
    with capsys.disabled():
        print(f"\n[faults] {server.env['LIFECYCLE_DATABASE_URL'].split(':')[0]}: "
              f"{CLIENTS} clients for {elapsed:.1f}s (SIGKILL at {killed_at:.1f}s, serving again at "
              f"{restarted_at:.1f}s); {tally.requests} answers; "
              f"acknowledged {len(acked)} ({dict(kinds)}; {before_kill} before the kill); "
              f"conflicts 409={conflicts[409]} 412={conflicts[412]}; "
              f"found after restart {len(acked) - len(missing)}/{len(acked)}; "
              f"5xx {len(tally.five_xx)}; connection errors {tally.connection_errors}; "
              f"answers showing a later version {later}; {head}")


# ------------------------------------------------------------------ store faults
def assert_store_problem(r: requests.Response, reason: str | tuple[str, ...]) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    assert r.headers.get("Retry-After"), r.headers
    body = r.json()
    assert body["status"] == 503 and body["type"] == "urn:jgsw:problem:store-unavailable", body
    assert body["reason"] in ((reason,) if isinstance(reason, str) else reason), body
    assert "cannot write" in body["detail"] and "nothing was recorded" in body["detail"], body
    for leak in ("Traceback", "File \"", "sqlite3", "psycopg", "eventsourcing"):
        assert leak not in r.text, r.text


def fill(directory: Path) -> Path:
    """Fill the filesystem that holds `directory` to the last byte."""
    ballast = directory / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as e:
                assert e.errno == 28, e  # ENOSPC
    finally:
        os.close(fd)
    return ballast


@pytest.fixture
def small_fs():
    """A tmpfs of 32 MB (as root, in this container), removed afterwards.
    Under /tmp with mode 0755 so that PostgreSQL's own user can reach it."""
    mount_point = Path(f"/tmp/lifecycle-small-{os.getpid()}-{secrets.token_hex(3)}")
    mount_point.mkdir(mode=0o755)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0755", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root and CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        mount_point.rmdir()


def check_nothing_half_written(srv: Server, failed: list[str], recorded: list[str], codes: set[str]) -> None:
    """No event of a refused command; every acknowledged one there; the chain
    verifies; the projections equal a rebuild."""
    reasons = {e["reason"] for e in all_items(srv, "/events?limit=500")}
    assert not set(failed) & reasons, f"refused commands left events: {sorted(set(failed) & reasons)}"
    assert set(recorded) <= reasons, f"acknowledged commands lost: {sorted(set(recorded) - reasons)}"
    verify_chain(srv)
    assert_projections_equal_a_rebuild(srv, codes)


def drive_until_refused(srv: Server, tag: str, reason, attempts: int = 60):
    """Draft until the store refuses; every answer 201 or a 503 problem."""
    failed, recorded = [], []
    for i in range(attempts):
        r = draft_one(srv, "05", f"后勤服务 故障 {tag} {i}", reason=f"{tag}-{i}", summary="填充" * 500)
        if r.status_code == 201:
            recorded.append(f"{tag}-{i}")
            continue
        assert_store_problem(r, reason)
        failed.append(f"{tag}-{i}")
        if len(failed) >= 3:
            break
    assert failed, f"the store accepted {attempts} drafts on a {tag} store"
    return failed, recorded


def refused_edit(srv: Server, code: str, reason, label: str, attempts: int = 20) -> list[str]:
    """A command with a fresh If-Match is a 503, not a 412/409. (On PostgreSQL
    a small change may still fit a page's free space: then it is recorded and
    the next one tried.) Returns the reasons of the edits recorded."""
    recorded = []
    for i in range(attempts):
        r = requests.get(f"{srv.url}/standards/{code}", headers=bearer(srv, "auditor"), timeout=30)
        assert r.status_code == 200, r.text
        r = requests.patch(f"{srv.url}/standards/{code}/draft",
                           json={"summary": secrets.token_urlsafe(2900), "reason": f"{label}-{i}"},
                           headers=bearer(srv, "drafter", **{"If-Match": r.headers["ETag"]}), timeout=30)
        if r.status_code == 200:
            recorded.append(f"{label}-{i}")
            continue
        assert_store_problem(r, reason)
        return recorded
    raise AssertionError(f"{attempts} edits of {code} were recorded on a {reason} store")


def test_full_disk_sqlite_gives_503_then_recovers(tmp_path: Path, small_fs: Path):
    srv = Server(tmp_path, f"sqlite:///{small_fs / 'store.db'}", workers=2)
    srv.cli("seed")
    add_users(srv)
    srv.start()
    try:
        run_full_disk(srv, small_fs)
    finally:
        srv.stop()


def run_full_disk(srv: Server, small_fs: Path) -> None:
    r = draft_one(srv, "06", "其他管理标准 满盘前", reason="full-before")
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    ballast = fill(small_fs)
    try:
        failed, recorded = drive_until_refused(srv, "full", "full")
        edits = refused_edit(srv, code, "full", "full-edit")
        recorded += edits
        failed.append(f"full-edit-{len(edits)}")
        # Reads need no space.
        assert requests.get(f"{srv.url}/standards/{code}", headers=bearer(srv, "auditor"),
                            timeout=30).status_code == 200
    finally:
        ballast.unlink()
    r = draft_one(srv, "06", "其他管理标准 满盘后", reason="full-after")
    assert r.status_code == 201, r.text  # recovered without a restart
    check_nothing_half_written(srv, failed, ["full-before", *recorded, "full-after"],
                               {code, r.json()["code"]})


@pytest.fixture
def tablespace_database(small_fs: Path, postgres_database):
    """A database whose every table lives in a tablespace on the small tmpfs;
    PostgreSQL's WAL stays on its own disk, so only relation files run out."""
    admin = psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=5)
    space = small_fs / "pg"
    space.mkdir()
    shutil.chown(space, "postgres", "postgres")
    name = f"lifecycle_full_{os.getpid()}_{secrets.token_hex(3)}"
    ts = f"{name}_ts"
    try:
        admin.execute(f"CREATE TABLESPACE {ts} LOCATION '{space}'")
    except psycopg.Error as e:
        admin.close()
        pytest.skip(f"PostgreSQL cannot use a tablespace on the small tmpfs ({space}): {e}")
    try:
        admin.execute(f'CREATE DATABASE "{name}" TABLESPACE {ts}')
        yield _with_database(SERVER_URL, name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f"DROP TABLESPACE IF EXISTS {ts}")
        admin.close()


def test_full_disk_postgresql_gives_503_then_recovers(tmp_path: Path, tablespace_database: str,
                                                      small_fs: Path):
    srv = Server(tmp_path, tablespace_database, workers=2)
    srv.cli("seed")
    add_users(srv)
    srv.start()
    try:
        run_full_disk(srv, small_fs)
    finally:
        srv.stop()


def test_read_only_sqlite_store_gives_503_then_recovers(tmp_path: Path):
    """Root ignores file modes, so the store is made immutable (chattr +i),
    which refuses writes even through descriptors already open. The -shm file
    stays writable: SQLite maps it, and an immutable mapping kills the worker
    with SIGBUS (a lost connection, no answer at all)."""
    store = tmp_path / "store.db"
    srv = Server(tmp_path, f"sqlite:///{store}", workers=2)
    srv.cli("seed")
    add_users(srv)
    srv.start()
    files = [store, Path(f"{store}-wal")]

    def chattr(flag: str, paths: list[Path]) -> None:
        done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"chattr {flag} is refused here, so root cannot make a file read-only: "
                        f"{done.stderr.strip()}")

    try:
        r = draft_one(srv, "06", "其他管理标准 只读前", reason="ro-before")
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        assert all(p.exists() for p in files), list(tmp_path.iterdir())

        # 1. Under a running server: SQLite says "attempt to write a readonly
        # database", or "disk I/O error" when the write hits a descriptor it had open.
        chattr("+i", files)
        try:
            failed, recorded = drive_until_refused(srv, "ro-open", ("read-only", "io-error"))
            assert not refused_edit(srv, code, ("read-only", "io-error"), "ro-open-edit")
            failed.append("ro-open-edit-0")
            assert requests.get(f"{srv.url}/standards/{code}", headers=bearer(srv, "auditor"),
                                timeout=30).status_code == 200
        finally:
            chattr("-i", files)
        r = draft_one(srv, "06", "其他管理标准 只读后", reason="ro-after")
        assert r.status_code == 201, r.text

        # 2. A server started on a read-only file: it serves reads, refuses writes.
        assert srv.stop() == 0
        chattr("+i", [store])
        try:
            srv.start()
            assert requests.get(f"{srv.url}/standards/{code}", headers=bearer(srv, "auditor"),
                                timeout=30).status_code == 200
            failed2, recorded2 = drive_until_refused(srv, "ro-start", "read-only")
            assert not recorded2
            assert not refused_edit(srv, code, "read-only", "ro-start-edit")
            failed += [*failed2, "ro-start-edit-0"]
            assert srv.stop() == 0
        finally:
            chattr("-i", [store])
        srv.start()
        r = draft_one(srv, "06", "其他管理标准 恢复写入", reason="ro-restored")
        assert r.status_code == 201, r.text
        check_nothing_half_written(srv, failed, ["ro-before", *recorded, "ro-after", "ro-restored"],
                                   {code, r.json()["code"]})
    finally:
        for p in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
            if p.exists():
                subprocess.run(["chattr", "-i", str(p)], check=False)
        srv.stop()


def test_read_only_postgresql_gives_503_then_recovers(tmp_path: Path, postgres_database: str):
    """default_transaction_read_only on the database, then its sessions are
    terminated: the pool reconnects (pre-ping) into read-only sessions."""
    reset_postgres(postgres_database)
    srv = Server(tmp_path, postgres_database, workers=2)
    srv.cli("seed")
    add_users(srv)
    srv.start()
    name = postgres_database.rsplit("/", 1)[1]
    admin = psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=5)

    def read_only(on: bool) -> None:
        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))

    try:
        r = draft_one(srv, "06", "其他管理标准 只读前", reason="ro-before")
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        read_only(True)
        try:
            failed, recorded = drive_until_refused(srv, "ro", "read-only")
            assert not recorded
            assert not refused_edit(srv, code, "read-only", "ro-edit")
            failed.append("ro-edit-0")
            assert requests.get(f"{srv.url}/standards/{code}", headers=bearer(srv, "auditor"),
                                timeout=30).status_code == 200
        finally:
            read_only(False)
        r = draft_one(srv, "06", "其他管理标准 只读后", reason="ro-after")
        assert r.status_code == 201, r.text
        check_nothing_half_written(srv, failed, ["ro-before", "ro-after"], {code, r.json()["code"]})
    finally:
        admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        admin.close()
        srv.stop()
