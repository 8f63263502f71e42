#!/usr/bin/env python3
"""Benchmark of the standards lifecycle service (issue 5).

    python scripts/bench.py --standards 1000|6000 [--json PATH]
    python scripts/bench.py --quick            # CI: 1,000 standards, short loads

Builds (or reuses) a synthetic store of N standards, written through the
application's own aggregate, projector and recorder, then measures every
figure beside its baseline and prints one table (figure, value, baseline,
ratio, target, met?); the same goes to JSON (default var/bench/results-N.json).

A store holds at most 6,000 standards: a number is JGSW + category (01-06) +
sub-item (000-999), and the numbering rules are not relaxed here, so
`--standards` above 6000 is refused with the reason.

Stores are cached as var/bench/store-N.db, keyed by scale and a fingerprint of
the tables (and of this generator): a change to the schema rebuilds them. Every
run works on a copy, since the command load writes to it.

`--quick` fails (exit 1) on errors only: a command or request that does not
answer as expected, a tool that exits non-zero. Timings never fail it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import heapq
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.modules.setdefault("scripts.bench", sys.modules[__name__])  # scripts/bench_documents.py imports it

MAX_STANDARDS = 6 * 1000  # categories 01-06 x sub-items 000-999
SCALES = (1000, 6000)
GENERATOR = "bench-store/1"  # bump when the synthetic history changes
SEED = 20181231
BATCH_EVENTS = 2000
CLIENTS = 4  # concurrent HTTP clients (threads); 2 cores, so keep it small
# While working on the code: reuse a cached store though the code that wrote
# it changed (opening it brings its tables up to date; the rebuild figure
# still checks that a fresh rebuild gives the rows the store holds).
REUSE_STORES = os.environ.get("BENCH_REUSE_STORES") == "1"


class BenchError(RuntimeError):
    """Something did not work (as opposed to being slow): exit 1."""


# ====================================================================== store
CATEGORY_WORDS = {
    "01": ("基础通用标准", ["标准体系表", "术语和定义", "编写规则", "管理职责划分", "评价指标体系",
                         "信息分类与编码", "服务质量评价", "档案管理", "内部审核", "统计报表"]),
    "02": ("机关经费管理标准", ["预算编制", "经费支出审核", "会议费管理", "差旅费报销", "公务接待费管理",
                             "政府采购预算执行", "财务内部控制", "资金支付审批", "绩效评价", "决算报告编制"]),
    "03": ("资产管理标准", ["公务用车配备使用", "办公用房分配", "国有资产清查", "资产处置", "办公设备配置",
                         "资产登记与台账", "房屋维修改造", "资产出租出借", "家具配置", "资产信息系统"]),
    "04": ("公共机构节约能源资源标准", ["能耗定额", "节水管理", "垃圾分类", "能源计量", "照明节能改造",
                                   "空调系统运行", "数据中心节能", "新能源汽车充电设施", "能源审计", "绿色办公"]),
    "05": ("后勤服务标准", ["公务接待工作指南", "会议服务工作指南", "物业服务工作指南", "绿化服务工作指南",
                         "餐饮服务", "安全保卫服务", "保洁服务", "车辆维修保养", "医疗保健服务", "文印服务"]),
    "06": ("其他管理标准", ["应急管理", "信息安全", "档案数字化", "舆情处置", "志愿服务",
                         "合同管理", "外包服务监督", "培训管理", "督查督办", "信访接待"]),
}
QUALIFIERS = ["工作规范", "服务规范", "管理规范", "工作指南", "技术要求", "操作规程", "评价规范", "管理办法"]
UNITS = ["云南省机关事务管理局", "云南云天咨询有限公司", "省级机关后勤服务中心", "省公共机构节能中心",
         "省机关财务结算中心", "省级机关房产管理中心"]
DEPARTMENTS = ["政策法规处", "财务处", "资产管理处", "公共机构节能处", "后勤服务处", "综合处"]
DRAFTERS = [f"drafter{i:02d}" for i in range(1, 41)]
REVIEWERS = [f"reviewer{i:02d}" for i in range(1, 9)]
APPROVERS = [f"approver{i:02d}" for i in range(1, 6)]
PUBLISHERS = [f"publisher{i:02d}" for i in range(1, 4)]
OFFICE = timezone(timedelta(hours=8))


def title_for(rng: random.Random, category: str, serial: int) -> str:
    name, subjects = CATEGORY_WORDS[category]
    subject = subjects[serial % len(subjects)]
    extra = rng.choice(["", "", "省级机关", "集中办公区", "公共机构", "机关院区"])
    return f"{name} {extra}{subject}{rng.choice(QUALIFIERS)}（第{serial // len(subjects) + 1}部分）"


def codes_for(n: int) -> list[tuple[str, str]]:
    """n numbers spread over the six categories (000 only once a category is full)."""
    per = [n // 6 + (1 if i < n % 6 else 0) for i in range(6)]
    out = []
    for i, count in enumerate(per):
        subs = list(range(1, min(count, 999) + 1)) + ([0] if count > 999 else [])
        out += [(f"{i + 1:02d}", f"{s:03d}") for s in subs]
    return out


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    index: int = field(compare=False)
    action: Callable[[Any], Any] = field(compare=False)


def plan_history(rng: random.Random, index: int, category: str, sub_item: str,
                 today: date, seq: list[int], extra_edits: int = 0) -> list[Step]:
    """About ten commands over years: draft, edits, review, approval, issue,
    revisions that supersede, reviews, some withdrawals. Every date is in the
    past; each step is recorded on its day (office hours)."""
    from lifecycle import numbering
    from lifecycle.domain import ReviewOutcome, Standard

    steps: list[Step] = []
    last = [datetime(2000, 1, 1, tzinfo=UTC)]

    def at(day: date) -> datetime | None:
        moment = datetime.combine(day, dtime(9, 0), OFFICE) + timedelta(minutes=rng.randrange(8 * 60),
                                                                         seconds=rng.random())
        moment = max(moment, last[0] + timedelta(seconds=1)).astimezone(UTC)
        if moment.astimezone(OFFICE).date() >= today:
            return None
        last[0] = moment
        return moment

    def add(day: date, action: Callable[[Any], Any]) -> bool:
        moment = at(day)
        if moment is None:
            return False
        seq[0] += 1
        steps.append(Step(moment, seq[0], index, action))
        return True

    code = numbering.make_code(category, sub_item)
    drafter = rng.choice(DRAFTERS)
    editor = rng.choice(DRAFTERS)
    approver = rng.choice(APPROVERS)
    publisher = rng.choice(PUBLISHERS)
    reviewer = rng.choice(REVIEWERS)
    fields = {"title": title_for(rng, category, index), "owner_department": rng.choice(DEPARTMENTS),
              "drafting_units": rng.sample(UNITS, rng.randint(1, 3)), "kind": rng.choice(["管理", "服务", "技术"]),
              "summary": "本标准规定了" + fields_summary(rng)}
    span_days = (today - date(2004, 1, 1)).days
    day = date(2004, 1, 1) + timedelta(days=int(span_days * rng.random() ** 0.8))
    stop_early = rng.random() < 0.12  # leave an open draft (the load edits these)

    def later(d: date, lo: int, hi: int) -> date:
        return d + timedelta(days=rng.randint(lo, hi))

    if not add(day, lambda _: Standard.create(code, fields, actor=drafter)):
        return steps
    day = later(day, 1, 30)
    first_edit = {"summary": "本标准规定了" + fields_summary(rng)}
    if not add(day, lambda s: s.edit_draft(first_edit, editor)):
        return steps
    if rng.random() < 0.7:
        day = later(day, 1, 30)
        second_edit = {"drafting_units": rng.sample(UNITS, rng.randint(1, 4)), "owner_department": rng.choice(DEPARTMENTS)}
        if not add(day, lambda s: s.edit_draft(second_edit, drafter)):
            return steps
    for k in range(extra_edits):  # --edits: deeper histories (a long drafting round)
        day = later(day, 0, 2)
        change = {"summary": f"第{k + 1}稿：本标准规定了" + fields_summary(rng)}
        if not add(day, lambda s, c=change, who=rng.choice((drafter, editor)): s.edit_draft(c, who)):
            return steps
    if stop_early:
        return steps
    day = later(day, 1, 20)
    if not add(day, lambda s: s.submit(drafter)):
        return steps
    if rng.random() < 0.3:
        day = later(day, 1, 15)
        if not add(day, lambda s: s.request_changes(reviewer, "请补充适用范围和引用文件")):
            return steps
        day = later(day, 1, 10)
        if not add(day, lambda s: s.edit_draft({"title": fields["title"] + "（修改稿）"}, drafter)):
            return steps
        day = later(day, 1, 5)
        if not add(day, lambda s: s.submit(drafter)):
            return steps
    year = 0
    effective = date(1900, 1, 1)
    for revision in range(3):
        day = max(later(day, 1, 30), date(year + 1, 1, 1) if year else day)
        approved_on = day
        if not add(day, lambda s, d=approved_on: s.approve(d, today=date.max, actor=approver)):
            return steps
        year = approved_on.year
        issued_on = later(day, 0, 20)
        effective_on = max(later(issued_on, 0, 90), effective + timedelta(days=1))
        effective = effective_on
        trial = rng.random() < 0.3
        if not add(issued_on, lambda s, i=issued_on, e=effective_on, t=trial:
                   s.publish(i, e, t, actor=publisher)):
            return steps
        day = issued_on
        if rng.random() < 0.3:
            day = later(day, 365, 3 * 365)
            if not add(day, lambda s, d=day: s.review(d, ReviewOutcome.CONFIRM, date.max, approver, "复审：继续有效")):
                return steps
        if rng.random() < 0.06:
            day = later(day, 200, 4 * 365)
            add(day, lambda s, d=day: s.withdraw(d, approver, "内容已被新的管理规定覆盖，予以废止"))
            return steps
        if revision == 2 or rng.random() > 0.6:
            return steps
        day = later(max(day, effective_on), 300, 4 * 365)
        if not add(day, lambda s: s.open_revision(drafter, "复审结论：修订")):
            return steps
        day = later(day, 5, 60)
        if not add(day, lambda s, c={"summary": "修订：" + fields_summary(rng)}: s.edit_draft(c, editor)):
            return steps
        if rng.random() < 0.1:
            return steps  # an open revision draft
        day = later(day, 5, 60)
        if not add(day, lambda s: s.submit(drafter)):
            return steps
    return steps


def fields_summary(rng: random.Random) -> str:
    parts = ["职责分工", "工作流程", "服务要求", "质量控制", "监督检查", "评价与改进", "记录管理", "应急处置"]
    return "、".join(rng.sample(parts, 4)) + "等内容，适用于省级机关及所属单位。"


@contextlib.contextmanager
def event_clock(now: list[datetime]):
    """Events triggered inside get the time in now[0] (+1 µs each), instead of
    the wall clock: the synthetic register was kept over twenty years."""
    from eventsourcing import domain

    original = domain.CanCreateTimestamp.__dict__["create_timestamp"]

    def create_timestamp() -> datetime:
        now[0] = now[0] + timedelta(microseconds=1)
        return now[0]

    domain.CanCreateTimestamp.create_timestamp = staticmethod(create_timestamp)
    try:
        yield
    finally:
        domain.CanCreateTimestamp.create_timestamp = original


def add_user(app: Any, name: str, roles: list[Any]) -> str:
    """A user for the benchmark's requests; returns its token."""
    from lifecycle.commands import AddUser
    from lifecycle.users import token_pair

    token, digest = token_pair()
    app.handle(AddUser(name=name, roles=tuple(roles), token_hash=digest, actor="bench"))
    return token


def empty_store_ddl() -> list[Any]:
    """The tables, indexes and triggers an empty store gets."""
    from api.bootstrap import bootstrap
    from lifecycle.config import Settings

    with tempfile.TemporaryDirectory() as d:
        app = bootstrap(Settings(database_url=f"sqlite:///{d}/empty.db"))
        app.close()
        with contextlib.closing(sqlite3.connect(f"{d}/empty.db")) as db:
            return db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def schema_fingerprint() -> str:
    """The tables an empty store gets, this generator's version, and the code
    that decides what rows the events make (a change there rebuilds the store)."""
    code = sorted((str(p.relative_to(ROOT)), hashlib.sha256(p.read_bytes()).hexdigest())
                  for package in ("lifecycle", "projections") for p in (ROOT / package).glob("*.py"))
    return hashlib.sha256(json.dumps([GENERATOR, empty_store_ddl(), code]).encode()).hexdigest()[:16]


def build_store(path: Path, n: int, log: Callable[[str], None], extra_edits: int = 0) -> dict[str, Any]:
    """Write n standards' histories through the aggregate, the projector and
    the recorder, in global time order, BATCH_EVENTS events per transaction."""
    from api.bootstrap import bootstrap
    from lifecycle import snapshots
    from lifecycle.config import Settings
    from projections.rebuild import Track

    app = bootstrap(Settings(database_url=f"sqlite:///{path}"))
    today = app.today()
    rng = random.Random(SEED)
    seq = [0]
    plans = [plan_history(rng, i, cat, sub, today, seq, extra_edits)
             for i, (cat, sub) in enumerate(codes_for(n))]
    steps = list(heapq.merge(*plans))
    aggregates: dict[int, Any] = {}
    tracks: dict[int, Track] = {}
    clock = [steps[0].at]
    started = time.perf_counter()
    events = 0
    with event_clock(clock):
        for first in range(0, len(steps), BATCH_EVENTS):
            touched: dict[int, Any] = {}
            for step in steps[first:first + BATCH_EVENTS]:
                clock[0] = max(clock[0], step.at)
                made = step.action(aggregates.get(step.index))
                if step.index not in aggregates:
                    aggregates[step.index] = made
                touched[step.index] = aggregates[step.index]
            changes = []
            due = []  # as record() does: a snapshot each time a standard passes snapshots.INTERVAL
            for index, aggregate in touched.items():
                t = tracks.setdefault(index, Track())
                if snapshots.due([e.originator_version for e in aggregate.pending_events]):
                    due.append(aggregate)
                for event in aggregate.pending_events:
                    t.state, t.slices, t.last_at, change = app.projection.step(t.state, t.slices, t.last_at,
                                                                              event)
                    changes.append(change)
            events += len(changes)
            app.save(*touched.values(), projection=changes)
            for aggregate in due:
                app.snapshot(aggregate)
            if (first // BATCH_EVENTS) % 10 == 0:
                log(f"  built {events} events of {len(steps)} commands ({time.perf_counter() - started:.0f} s)")
    app.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"standards": len(aggregates), "events": events, "build_seconds": time.perf_counter() - started,
            "built_on": today.isoformat()}


def cached_store(n: int, cache: Path, log: Callable[[str], None],
                 extra_edits: int = 0) -> tuple[Path, dict[str, Any]]:
    cache.mkdir(parents=True, exist_ok=True)
    name = f"store-{n}" + (f"-e{extra_edits}" if extra_edits else "")
    db, meta_path = cache / f"{name}.db", cache / f"{name}.meta.json"
    fingerprint = schema_fingerprint()
    if db.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("fingerprint") == fingerprint or REUSE_STORES:
            log(f"store: reusing {db.relative_to(ROOT) if db.is_relative_to(ROOT) else db} "
                f"({meta['events']} events, built {meta['built_on']})")
            return db, meta
        log("store: the schema changed since the cached store was built; building it again")
    for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), meta_path):
        stale.unlink(missing_ok=True)
    log(f"store: building {n} standards into {db} ...")
    temp = cache / f".{name}.building.db"
    for stale in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
        stale.unlink(missing_ok=True)
    meta = build_store(temp, n, log, extra_edits)
    meta["fingerprint"] = fingerprint
    os.replace(temp, db)
    meta_path.write_text(json.dumps(meta, indent=1))
    log(f"store: {meta['events']} events in {meta['build_seconds']:.1f} s")
    return db, meta


# ====================================================================== helpers
PG_SERVER = os.environ.get("LIFECYCLE_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_admin(what: str, database: str) -> tuple[Any, str]:
    """An autocommit connection to PG_SERVER (the tests' server), and the URL
    of `database` on it; BenchError, naming `what`, if there is no server."""
    from urllib.parse import urlparse, urlunparse

    import psycopg

    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as e:
        raise BenchError(f"{what}: no PostgreSQL server at {PG_SERVER} (LIFECYCLE_TEST_POSTGRES_URL): {e}") from None
    return admin, urlunparse(urlparse(PG_SERVER)._replace(path=f"/{database}"))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def timed(fn: Callable[[], Any], iterations: int) -> list[float]:
    """Milliseconds of each call."""
    out = []
    for _ in range(iterations):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def installed(name: str) -> str:
    """A console script of this environment (beside this Python), or on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise BenchError(f"the {name} command is not installed (pip install -e .)")
    return found


def lifecycle_command() -> str:
    return installed("lifecycle")


def gunicorn_command() -> str:
    return installed("gunicorn")


def get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 5) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class Served:
    """A gunicorn started as a subprocess; time from Popen to the first 200 of
    its health path is its time to first answer."""

    def __init__(self, argv: list[str], env: dict[str, str], health: str, logfile: Path) -> None:
        self.port = free_port()
        self.health = health
        self.logfile = logfile
        self.log = open(logfile, "w")
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        started = time.perf_counter()
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = started + 60
        while True:
            if self.proc.poll() is not None:
                raise BenchError(f"{argv[0]} exited {self.proc.returncode}: {logfile.read_text()[-2000:]}")
            try:
                if get(self.port, health, timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() > deadline:
                self.stop()
                raise BenchError(f"{argv} did not answer within 60 s")
            time.sleep(0.01)
        self.first_answer = time.perf_counter() - started

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


@dataclass
class Load:
    rps: float
    ok: int
    errors: int
    seconds: float
    first_error: str | None = None


def drive(port: int, make: Callable[[int], Callable[[], tuple[str, str, bytes | None, dict[str, str]]]],
          seconds: float, clients: int = CLIENTS, expect: tuple[int, ...] = (200, 201),
          answered: Callable[[int, int, Any, bytes], None] | None = None) -> Load:
    """`clients` threads, each sending one request at a time (a new connection
    each: gunicorn's sync workers close it) until `seconds` have passed.
    make(i) gives client i its request generator."""
    ok = [0] * clients
    errors = [0] * clients
    first_error: list[str] = []
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        nxt = make(i)
        while time.perf_counter() < stop:
            method, path, body, headers = nxt()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                if r.status in expect:
                    ok[i] += 1
                    if answered is not None:
                        answered(i, r.status, r.headers, data)
                else:
                    errors[i] += 1
                    if not first_error:
                        first_error.append(f"{method} {path}: {r.status} {data[:300]!r}")
            except OSError as e:
                errors[i] += 1
                if not first_error:
                    first_error.append(f"{method} {path}: {e!r}")
            finally:
                conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return Load(sum(ok) / elapsed, sum(ok), sum(errors), elapsed, first_error[0] if first_error else None)


@dataclass
class Side:
    """One side of a comparison that `alternate` drives: its server's port and
    what `drive` takes for it."""
    port: int
    make: Callable[[int], Callable[[], tuple[str, str, bytes | None, dict[str, str]]]]
    answered: Callable[[int, int, Any, bytes], None] | None = None


SLICE_SECONDS = 1.0  # each turn of `alternate`


def alternate(sides: list[Side], seconds: float) -> list[Load]:
    """The loads of several servers, each driven in turn for SLICE_SECONDS
    until each has had `seconds`: a figure and its baseline then see the same
    machine, where loads run one after the other saw it at different moments
    (on a shared machine the same load's rate moved by a third between them).
    One warm-up turn each first, not counted."""
    for side in sides:
        drive(side.port, side.make, min(SLICE_SECONDS, seconds) / 2, answered=side.answered)
    turns = max(1, round(seconds / SLICE_SECONDS))
    totals = [Load(0.0, 0, 0, 0.0) for _ in sides]
    for _ in range(turns):
        for side, total in zip(sides, totals, strict=True):
            load = drive(side.port, side.make, seconds / turns, answered=side.answered)
            total.ok += load.ok
            total.errors += load.errors
            total.seconds += load.seconds
            total.first_error = total.first_error or load.first_error
    for total in totals:
        total.rps = total.ok / total.seconds if total.seconds else 0.0
    return totals


PEAK = """
import resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - started
sys.stderr.buffer.write(done.stderr)
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def run_peak(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of one command. It is started from a
    small launcher process, since a child forked from this (large) process
    would report this process's memory as its own peak."""
    done = subprocess.run([sys.executable, "-c", PEAK, *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    wall, peak = done.stdout.split()[-2:]
    return float(wall), int(peak) / 1024, done.stderr


def twenty_editions(app: Any) -> str:
    """A standard with 20 editions, one a year from 2005, recorded through the
    application's commands on a standard still in draft (every number is taken
    at 6,000 standards, so none is drafted for it). Returns its code."""
    from lifecycle import commands, numbering

    with app.reads.cursor() as c:
        c.execute("SELECT code FROM standard_log WHERE recorded_to = '9999-12-31T23:59:59.999999Z' "
                  "AND stage = 'draft' ORDER BY code LIMIT 1")
        code = numbering.parse_code(c.fetchone()[0])

    def send(command: type, actor: str, **fields: Any) -> None:
        app.handle(command(code=code, expected_version=None, actor=actor, **fields))

    send(commands.Submit, "bench-drafter")
    for n, year in enumerate(range(2005, 2025)):
        if n:
            send(commands.OpenRevision, "bench-drafter", reason="修订")
            send(commands.Submit, "bench-drafter")
        send(commands.Approve, "bench-approver", approved_on=date(year, 3, 1))
        send(commands.Publish, "bench-publisher", issued_on=date(year, 3, 15),
             effective_on=date(year, 4, 1), trial=n % 4 == 0)
    return str(code)


# ====================================================================== figures
@dataclass
class Figure:
    key: str
    label: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str | None = None
    target: str | None = None
    met: bool | None = None
    note: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.n = args.standards
        self.figures: list[Figure] = []
        self.log = (lambda m: print(m, file=sys.stderr, flush=True))
        args.cache.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="run-", dir=args.cache))

    # ------------------------------------------------------------------ targets
    def add(self, f: Figure) -> None:
        self.figures.append(f)
        base = f" vs {f.baseline:,.2f}" if f.baseline is not None else ""
        self.log(f"  {f.label}: {f.value:,.2f} {f.unit}{base}")

    def iterations(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def seconds(self) -> float:
        return 2.0 if self.quick else self.args.load_seconds

    # ------------------------------------------------------------------ run
    def run(self) -> dict[str, Any]:
        from lifecycle.config import Settings

        self.load_before = os.getloadavg()
        if self.load_before[0] > 1.0:
            self.log(f"warning: the load average is {self.load_before[0]:.1f} before the run: "
                     "other processes share the cores, and the timings will show it")
        cached, meta = cached_store(self.n, self.args.cache, self.log, self.args.edits)
        self.db = self.work / "store.db"
        shutil.copyfile(cached, self.db)
        self.url = f"sqlite:///{self.db}"
        self.env = {**os.environ, "LIFECYCLE_DATABASE_URL": self.url, "PYTHONUNBUFFERED": "1"}
        self.settings = Settings(database_url=self.url)
        self.meta = meta
        self.events = meta["events"]
        try:
            for section in self.args.only:
                getattr(self, section)()
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
        return self.report()

    # ------------------------------------------------------------------ documents (issue 11)
    def files_http(self) -> None:
        from scripts.bench_documents import files_http

        files_http(self)

    def search(self) -> None:
        from scripts.bench_documents import search

        search(self)

    # ------------------------------------------------------------------ rebuild
    def rebuild(self) -> None:
        from api.bootstrap import bootstrap
        from projections.rebuild import notifications, rebuild

        self.log("rebuild ...")
        app = bootstrap(self.settings)
        try:
            total = app.recorder.max_notification_id() or 0
            before = app.reads.dump()
            t = time.perf_counter()
            n = 0
            for batch in notifications(app):
                for notification in batch:
                    app.mapper.to_domain_event(notification)
                    n += 1
            decode = n / (time.perf_counter() - t)
            t = time.perf_counter()
            position = rebuild(app)
            rate = total / (time.perf_counter() - t)
            if position != total:
                raise BenchError(f"rebuild covered position {position}, the log ends at {total}")
            if app.reads.dump() != before:
                raise BenchError("rebuild did not reproduce the rows the commands wrote")
        finally:
            app.close()
        self.events = total
        self.add(Figure("rebuild_events_per_s", "rebuild (events/s)", rate, "events/s", decode,
                        "select_notifications + decode (events/s)", "≥ 0.5 × baseline",
                        rate >= 0.5 * decode))
        self.add(Figure("rebuild_1m_events_s", "rebuild of 1,000,000 events (extrapolated)", 1e6 / rate, "s",
                        None, None, "≤ 15 s", 1e6 / rate <= 15))

    # ------------------------------------------------------------------ in process
    def in_process(self) -> None:
        from api import create_app
        from api.bootstrap import bootstrap
        from lifecycle.users import Role
        from projections.queries import CatalogueFilter

        self.log("in process: catalogue and as-of ...")
        app = bootstrap(self.settings)
        try:
            token = add_user(app, "bench-auditor", [Role.AUDITOR])
            flask_app = create_app(service=app)
            client = flask_app.test_client()
            auth = {"Authorization": f"Bearer {token}"}
            rng = random.Random(SEED + 1)
            with app.reads.cursor() as c:
                c.execute("SELECT code FROM standard_log WHERE recorded_to = '9999-12-31T23:59:59.999999Z' "
                          "ORDER BY code")
                codes = [r[0] for r in c.fetchall()]
                c.execute("SELECT MIN(recorded_from), MAX(recorded_from) FROM standard_log")
                first_at, last_at = c.fetchone()
                c.execute("SELECT recorded_from FROM standard_log")
                record_times = [r[0] for r in c.fetchall()]
            today = app.today()

            def page(query: str) -> Callable[[], None]:
                def go() -> None:
                    after = rng.choice(codes[: max(1, len(codes) - 50)])
                    r = client.get(f"/api/v1/standards?limit=50&after={after}{query}", headers=auth)
                    if r.status_code != 200:
                        raise BenchError(f"catalogue page: {r.status_code} {r.get_data(as_text=True)[:300]}")
                return go

            by_category = {cat: [c for c in codes if c.startswith(f"JGSW{cat}")]
                           for cat in ("01", "02", "03", "04", "05", "06")}

            def filtered() -> None:
                # A random cursor, so pages are seldom repeated: the workers' page
                # cache (keyed by query and log position) does not flatter it.
                cat = rng.choice(["01", "02", "03", "04", "05", "06"])
                in_category = by_category[cat]
                after = rng.choice(in_category[: max(1, len(in_category) // 2)])
                r = client.get(f"/api/v1/standards?limit=50&category={cat}&status=current&after={after}",
                               headers=auth)
                if r.status_code != 200 or not r.json["items"]:
                    raise BenchError(f"filtered catalogue page: {r.status_code} {r.get_data(as_text=True)[:300]}")

            def reads_direct() -> None:
                after = rng.choice(codes[: max(1, len(codes) - 50)])
                app.reads.catalogue(CatalogueFilter(after=after, limit=50), today)

            iters = self.iterations(2000, 200)
            for fn in (page(""), filtered, reads_direct):  # warm up
                for _ in range(20):
                    fn()
            plain = timed(page(""), iters)
            filt = timed(filtered, iters)
            direct = timed(reads_direct, iters)
            self.plain_p50 = percentile(plain, 50)
            self.add(Figure("catalogue_p50_ms", "catalogue page, 50 rows, in process p50", percentile(plain, 50),
                            "ms", percentile(direct, 50), "app.reads.catalogue alone p50 (ms)"))
            self.add(Figure("catalogue_p99_ms", "catalogue page, 50 rows, in process p99", percentile(plain, 99),
                            "ms", percentile(direct, 99), "app.reads.catalogue alone p99 (ms)", "≤ 5 ms",
                            percentile(plain, 99) <= 5))
            self.add(Figure("catalogue_filtered_p50_ms", "catalogue page, category+status filter, p50",
                            percentile(filt, 50), "ms", percentile(plain, 50), "unfiltered page p50 (ms)"))
            self.add(Figure("catalogue_filtered_p99_ms", "catalogue page, category+status filter, p99",
                            percentile(filt, 99), "ms", percentile(plain, 99), "unfiltered page p99 (ms)",
                            "≤ 5 ms", percentile(filt, 99) <= 5))

            # as-of, both clocks: random days since 2004, random record times of the register
            start = date(2004, 1, 1)
            span = (today - start).days

            def day() -> str:
                return (start + timedelta(days=rng.randrange(span))).isoformat()

            def known() -> str:
                return rng.choice(record_times).replace("Z", "+00:00")

            def clocked(kind: str) -> Callable[[], None]:
                from urllib.parse import quote

                def go() -> None:
                    q = {"valid": f"as_of={day()}", "record": f"known_at={quote(known())}",
                         "both": f"as_of={day()}&known_at={quote(known())}"}[kind]
                    code = rng.choice(codes)
                    r = client.get(f"/api/v1/standards?limit=50&{q}", headers=auth)
                    if r.status_code != 200:
                        raise BenchError(f"as-of page ({q}): {r.status_code} {r.get_data(as_text=True)[:300]}")
                    r = client.get(f"/api/v1/standards/{code}/editions?{q}", headers=auth)
                    if r.status_code not in (200, 404):
                        raise BenchError(f"as-of editions ({q}): {r.status_code} {r.get_data(as_text=True)[:300]}")
                return go

            iters = self.iterations(600, 60)
            self.log(f"  record times {first_at} .. {last_at}")
            for kind, label in (("valid", "as_of"), ("record", "known_at"), ("both", "as_of + known_at")):
                samples = timed(clocked(kind), iters)
                self.add(Figure(f"asof_{kind}_p50_ms", f"{label}: catalogue page + one standard's editions, p50",
                                percentile(samples, 50), "ms", None, None))
                p95, p99 = percentile(samples, 95), percentile(samples, 99)
                self.add(Figure(f"asof_{kind}_p95_ms", f"{label}: catalogue page + one standard's editions, p95",
                                p95, "ms", percentile(plain, 95), "today's catalogue page p95 (ms)"))
                self.add(Figure(f"asof_{kind}_p99_ms", f"{label}: catalogue page + one standard's editions, p99",
                                p99, "ms", percentile(plain, 99), "today's catalogue page p99 (ms)",
                                "≤ 10 ms", p99 <= 10))
        finally:
            app.close()

    # ------------------------------------------------------------------ cold worker
    def cold_command(self) -> None:
        """The first command on a standard with 160 events in a worker that has
        served others but not this one (its aggregate is not cached: it loads
        from the latest aggregate snapshot), against the same command warm."""
        from api.bootstrap import bootstrap
        from lifecycle import commands, numbering

        self.log("cold worker: first command on a standard with 160 events ...")

        def edit(app: Any, code: Any, n: int) -> None:
            app.handle(commands.EditDraft(code=code, expected_version=None, actor="bench-drafter",
                                          changes={"summary": f"第{n}次修改"}))

        app = bootstrap(self.settings)
        try:
            with app.reads.cursor() as c:
                c.execute("SELECT code, version FROM standard_log WHERE recorded_to = "
                          "'9999-12-31T23:59:59.999999Z' AND stage = 'draft' ORDER BY code DESC LIMIT 2")
                (target, version), (other, _) = c.fetchall()
            code, neighbour = numbering.parse_code(target), numbering.parse_code(other)
            for n in range(max(0, 160 - version)):
                edit(app, code, n)
        finally:
            app.close()
        cold: list[float] = []
        warm: list[float] = []
        for run in range(self.iterations(10, 3)):
            app = bootstrap(self.settings)  # a new worker: nothing cached
            try:
                edit(app, neighbour, run)  # its connections and statements warm, this standard not
                cold.extend(timed(lambda a=app, r=run: edit(a, code, r), 1))
                warm.extend(timed(lambda a=app, r=run: edit(a, code, r), 20))
            finally:
                app.close()
        first, steady = percentile(cold, 50), percentile(warm, 50)
        self.add(Figure("cold_command_ratio", "first command on a standard of 160+ events, cold worker, median",
                        first, "ms", steady, "the same command warm, median (ms)", "≤ 2 × baseline",
                        first <= 2 * steady))

    # ------------------------------------------------------------------ pages
    def pages(self) -> None:
        """Issue 14: the catalogue page of 50 rows and a standard's page with 20
        editions, server time in process, beside the API's JSON for the same rows."""
        from api import create_app
        from api.bootstrap import bootstrap
        from lifecycle.users import Role

        self.log("pages: catalogue and a standard with 20 editions ...")
        app = bootstrap(self.settings)
        try:
            token = add_user(app, "bench-page-reader", [Role.AUDITOR])
            client = create_app(service=app).test_client()
            auth = {"Authorization": f"Bearer {token}"}
            if client.post("/register/sign-in", data={"token": token}).status_code != 303:
                raise BenchError("could not sign in to the pages")
            code = twenty_editions(app)
            with app.reads.cursor() as c:
                c.execute("SELECT code FROM standard_log WHERE recorded_to = '9999-12-31T23:59:59.999999Z' "
                          "ORDER BY code")
                codes = [r[0] for r in c.fetchall()]
            rng = random.Random(SEED + 2)

            def get(path: str, headers: dict[str, str] | None = None) -> Callable[[], None]:
                def go() -> None:
                    url = path.format(after=rng.choice(codes[: max(1, len(codes) - 50)]))
                    r = client.get(url, headers=headers or {})
                    if r.status_code != 200:
                        raise BenchError(f"{url}: {r.status_code} {r.get_data(as_text=True)[:300]}")
                return go

            page_catalogue = get("/register/?limit=50&after={after}")
            api_catalogue = get("/api/v1/standards?limit=50&after={after}", auth)
            page_standard = get(f"/register/standards/{code}")
            api_standard = get(f"/api/v1/standards/{code}/editions", auth)
            iters = self.iterations(600, 60)
            for fn in (page_catalogue, api_catalogue, page_standard, api_standard):
                for _ in range(10):
                    fn()
            for key, label, mine, theirs, base in (
                    ("page_catalogue_p95_ms", "catalogue page (HTML), 50 rows, p95", page_catalogue,
                     api_catalogue, "the API's 50-row page p95 (ms)"),
                    ("page_standard_p95_ms", "a standard's page (HTML), 20 editions, p95", page_standard,
                     api_standard, "the API's 20 editions p95 (ms)")):
                p95, base_p95 = percentile(timed(mine, iters), 95), percentile(timed(theirs, iters), 95)
                self.add(Figure(key, label, p95, "ms", base_p95, base, "≤ 30 ms", p95 <= 30))
        finally:
            app.close()

    # ------------------------------------------------------------------ snapshot
    def snapshot(self) -> None:
        self.log("snapshot ...")
        out = self.work / "snapshots"
        wall, peak, _ = run_peak([lifecycle_command(), "snapshot", "--dir", str(out)], self.env)
        written = sorted(p.name for p in out.iterdir())
        if not any(n.endswith(".json") for n in written):
            raise BenchError(f"lifecycle snapshot wrote {written}")
        base_wall, base_peak, _ = run_peak([lifecycle_command(), "--help"], self.env)
        self.add(Figure("snapshot_s", "lifecycle snapshot, wall time", wall, "s", base_wall,
                        "lifecycle --help wall time (s)", "≤ 2 s", wall <= 2))
        self.add(Figure("snapshot_peak_rss_mb", "lifecycle snapshot, peak RSS", peak, "MB", base_peak,
                        "lifecycle --help peak RSS (MB)", "≤ 200 MB", peak <= 200))

    # ------------------------------------------------------------------ HTTP
    def http(self) -> None:
        from api.bootstrap import bootstrap
        from lifecycle.users import Role

        app = bootstrap(self.settings)
        try:
            tokens = {name: add_user(app, name, roles) for name, roles in
                      (("bench-drafter", [Role.DRAFTER]), ("bench-reader", [Role.AUDITOR]))}
            with app.reads.cursor() as c:
                c.execute("SELECT code, version FROM standard_log WHERE recorded_to = "
                          "'9999-12-31T23:59:59.999999Z' AND stage IN ('draft', 'revision_draft') ORDER BY code")
                drafts = [(r[0], r[1]) for r in c.fetchall()]
                c.execute("SELECT code FROM standard_log WHERE recorded_to = '9999-12-31T23:59:59.999999Z' "
                          "ORDER BY code")
                codes = [r[0] for r in c.fetchall()]
        finally:
            app.close()
        if len(drafts) < CLIENTS:
            raise BenchError(f"the store has {len(drafts)} open drafts; the command load needs {CLIENTS}")

        page_file = self.work / "page.json"
        seconds = self.seconds()
        servers: list[Served] = []
        try:
            self.log("HTTP: lifecycle serve --workers 2 ...")
            srv = Served([lifecycle_command(), "serve", "--workers", "2", "--bind", "127.0.0.1:{port}"], self.env,
                         "/api/v1/health", self.work / "serve.log")
            servers.append(srv)
            serve_first = srv.first_answer
            reader = {"Authorization": f"Bearer {tokens['bench-reader']}"}
            rng = random.Random(SEED + 2)
            # The first page, as every reader opening the catalogue asks it:
            # built once per worker and log position, then sent as it was.
            first_page = "/api/v1/standards?limit=50"
            status, page_bytes = get(srv.port, first_page, reader)
            if status != 200:
                raise BenchError(f"catalogue page: {status}")
            page_file.write_bytes(page_bytes)
            # Beside it, the same store and gunicorn config with /metrics off:
            # what counting requests and commands costs (issue 15).
            self.log("HTTP: lifecycle serve --workers 2, LIFECYCLE_METRICS=0 ...")
            off = Served([lifecycle_command(), "serve", "--workers", "2", "--bind", "127.0.0.1:{port}"],
                         {**self.env, "LIFECYCLE_METRICS": "0"}, "/api/v1/health", self.work / "serve-off.log")
            servers.append(off)
            self.log("HTTP: baselines (gunicorn --workers 2, scripts/bench_baselines.py) ...")
            base_env = {**os.environ, "BENCH_BASELINE_DB": str(self.work / "baseline.db"),
                        "BENCH_PAGE_FILE": str(page_file)}
            base = Served([gunicorn_command(), "--workers", "2", "--bind", "127.0.0.1:{port}",
                           "--access-logfile", "-", "--chdir", str(ROOT / "scripts"), "bench_baselines:app"],
                          base_env, "/health", self.work / "baseline.log")
            servers.append(base)
            base_first = base.first_answer
            body = json.dumps({"category": "05", "title": "后勤服务标准 会议服务工作指南",
                               "summary": "本标准规定了" + fields_summary(rng),
                               "drafting_units": UNITS[:2]}, ensure_ascii=False).encode()
            js = {"Content-Type": "application/json"}

            def catalogue(i: int):
                r = random.Random(SEED + 10 + i)

                def nxt():
                    after = r.choice(codes[: max(1, len(codes) - 50)])
                    return "GET", f"/api/v1/standards?limit=50&after={after}", None, reader
                return nxt

            self.log("HTTP: the first page and the bare route sending its bytes, in turns ...")
            same_load, base_page = alternate([Side(srv.port, lambda i: lambda: ("GET", first_page, None, reader)),
                                              Side(base.port, lambda i: lambda: ("GET", "/page", None, {}))],
                                             seconds)
            self.check(same_load, "the catalogue's first page over HTTP", srv)
            self.check(base_page, "baseline Flask GET of the page's bytes", base)
            cat_load = drive(srv.port, catalogue, seconds)
            self.check(cat_load, "catalogue over HTTP", srv)
            self.log("HTTP: commands (metrics on, metrics off) and the bare save, in turns ...")
            commands, remember = self.command_load(drafts, tokens["bench-drafter"])
            cmd_load, off_load, base_save = alternate(
                [Side(srv.port, commands, remember), Side(off.port, commands, remember),
                 Side(base.port, lambda i: lambda: ("POST", "/save", body, js))], seconds)
            self.check(cmd_load, "commands over HTTP", srv)
            self.check(off_load, "commands over HTTP, metrics off", off)
            self.check(base_save, "baseline save", base)
            base_post = drive(base.port, lambda i: lambda: ("POST", "/echo", body, js), seconds)
            self.check(base_post, "baseline Flask POST", base)
        finally:
            for server in servers:
                server.stop()

        self.add(Figure("commands_http_rps", "commands over HTTP (PATCH draft, If-Match), 2 workers",
                        cmd_load.rps, "req/s", base_save.rps, "bare endpoint: one app.save of 3 events (req/s)",
                        "≥ 0.8 × baseline", cmd_load.rps >= 0.8 * base_save.rps))
        self.add(Figure("commands_vs_flask_post", "commands over HTTP vs a bare Flask POST + marshmallow",
                        cmd_load.rps, "req/s", base_post.rps, "bare Flask POST + marshmallow (req/s)"))
        self.add(Figure("commands_metrics_on_rps", "commands over HTTP with /metrics on (LIFECYCLE_METRICS=1)",
                        cmd_load.rps, "req/s", off_load.rps, "the same load in turns, LIFECYCLE_METRICS=0 (req/s)",
                        "≥ 0.95 × baseline", cmd_load.rps >= 0.95 * off_load.rps))
        self.add(Figure("catalogue_http_rps", "the catalogue's first page over HTTP, 2 workers", same_load.rps,
                        "req/s", base_page.rps, "bare Flask route sending the same bytes (req/s)",
                        "≥ 0.8 × baseline", same_load.rps >= 0.8 * base_page.rps))
        self.add(Figure("catalogue_pages_http_rps", "catalogue pages at random cursors over HTTP, 2 workers",
                        cat_load.rps, "req/s", base_page.rps, "bare Flask route sending the first page (req/s)"))
        self.add(Figure("serve_first_answer_s", "lifecycle serve: start to first answer", serve_first, "s",
                        base_first, "bare gunicorn app: start to first answer (s)", "≤ 2 s", serve_first <= 2))

    def command_load(self, drafts: list[tuple[str, int]], token: str) -> tuple[Any, Any]:
        """The command load for `drive`: each client edits its own open drafts
        (PATCH …/draft), with the ETag of its last answer (`answered`)."""
        rng = random.Random(SEED + 20)
        shares = [drafts[i::CLIENTS] for i in range(CLIENTS)]
        etags = [{code: f'"{version}"' for code, version in share} for share in shares]
        pending: list[str | None] = [None] * CLIENTS
        drafter = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def commands(i: int) -> Callable[[], tuple[str, str, bytes, dict[str, str]]]:
            share = [code for code, _ in shares[i]]
            position = [0]

            def nxt() -> tuple[str, str, bytes, dict[str, str]]:
                code = share[position[0] % len(share)]
                position[0] += 1
                pending[i] = code
                body = json.dumps({"summary": f"第{position[0]}次修改：" + fields_summary(rng),
                                   "reason": "征求意见后修改"}, ensure_ascii=False).encode()
                return "PATCH", f"/api/v1/standards/{code}/draft", body, {**drafter, "If-Match": etags[i][code]}
            return nxt

        def remember(i: int, status: int, headers: Any, data: bytes) -> None:
            etags[i][pending[i]] = headers["ETag"]

        return commands, remember

    # ------------------------------------------------------------------ PostgreSQL
    def http_postgres(self) -> None:
        """Commands over HTTP on PostgreSQL (issue 15: ≥ 0.7 × a bare save on
        the same server). The store of this run is exported and imported into
        a new database of PG_SERVER (LIFECYCLE_TEST_POSTGRES_URL), dropped at the end."""
        name = f"bench_{os.getpid()}"
        admin, url = postgres_admin("commands on PostgreSQL", name)
        with admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                self._commands_on_postgres(url)
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _commands_on_postgres(self, url: str) -> None:
        from api.bootstrap import bootstrap
        from lifecycle.config import Settings
        from lifecycle.users import Role

        env = {**self.env, "LIFECYCLE_DATABASE_URL": url}
        exported = self.work / "log.jsonl"
        self.log(f"PostgreSQL: export of {self.events} events, import into {url} ...")
        for argv, environment in (([lifecycle_command(), "export", str(exported)], self.env),
                                  ([lifecycle_command(), "import", str(exported)], env)):
            done = subprocess.run(argv, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=1800)
            if done.returncode != 0:
                raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
        exported.unlink()
        app = bootstrap(Settings(database_url=url))
        try:
            token = add_user(app, "bench-pg-drafter", [Role.DRAFTER])  # the log may have bench-drafter
            with app.reads.cursor() as c:
                c.execute("SELECT code, version FROM standard_log WHERE recorded_to = "
                          "'9999-12-31T23:59:59.999999Z' AND stage IN ('draft', 'revision_draft') ORDER BY code")
                drafts = [(r["code"], r["version"]) for r in c.fetchall()]  # psycopg's rows are dicts
        finally:
            app.close()
        # The bare save's tables made once, here: two workers making them on their
        # first requests collide in PostgreSQL's catalogue (a 500 that failed the run).
        import bench_baselines
        bench_baselines.Plain(env=bench_baselines.postgres_env(url, create_table=True)).close()
        servers: list[Served] = []
        try:
            self.log("PostgreSQL: lifecycle serve --workers 2 ...")
            srv = Served([lifecycle_command(), "serve", "--workers", "2", "--bind", "127.0.0.1:{port}"], env,
                         "/api/v1/health", self.work / "serve-pg.log")
            servers.append(srv)
            self.log("PostgreSQL: the bare save (gunicorn --workers 2, scripts/bench_baselines.py) ...")
            base = Served([gunicorn_command(), "--workers", "2", "--bind", "127.0.0.1:{port}",
                           "--access-logfile", "-", "--chdir", str(ROOT / "scripts"), "bench_baselines:app"],
                          {**os.environ, "BENCH_BASELINE_POSTGRES": url}, "/health", self.work / "baseline-pg.log")
            servers.append(base)
            body = json.dumps({"title": "后勤服务标准 会议服务工作指南"}, ensure_ascii=False).encode()
            commands, remember = self.command_load(drafts, token)
            self.log("PostgreSQL: commands and the bare save, in turns ...")
            cmd_load, base_save = alternate(
                [Side(srv.port, commands, remember),
                 Side(base.port, lambda i: lambda: ("POST", "/save", body, {"Content-Type": "application/json"}))],
                self.seconds())
            self.check(cmd_load, "commands over HTTP on PostgreSQL", srv)
            self.check(base_save, "baseline save on PostgreSQL", base)
        finally:
            for server in servers:
                server.stop()
        self.add(Figure("commands_http_pg_rps", "commands over HTTP on PostgreSQL (PATCH draft), 2 workers",
                        cmd_load.rps, "req/s", base_save.rps,
                        "bare endpoint: one app.save of 3 events, same PostgreSQL (req/s)", "≥ 0.7 × baseline",
                        cmd_load.rps >= 0.7 * base_save.rps))

    # ------------------------------------------------------------------ webhooks
    def webhooks(self) -> None:
        """Delivery lag and a backlog (scripts/bench_webhooks.py)."""
        import bench_webhooks

        def backlog_store() -> Path:
            # A full run needs 100,000 events: the store of this run if it has
            # them, else 6,000 standards with 10 more edits each (~115,000 events).
            if self.quick or self.events >= bench_webhooks.FULL_BACKLOG:
                return self.db
            return cached_store(MAX_STANDARDS, self.args.cache, self.log, extra_edits=10)[0]

        try:
            bench_webhooks.measure(self, Figure, Served, backlog_store, lifecycle_command(), percentile, add_user)
        except RuntimeError as e:
            raise BenchError(str(e)) from None

    def check(self, load: Load, what: str, server: Served | None = None) -> None:
        """An error fails the run, with the end of the server's log (a 500's traceback is there)."""
        if load.errors or load.ok == 0:
            told = ""
            if server is not None:
                server.log.flush()
                text = server.logfile.read_text(errors="replace")
                # a 500's traceback, wherever it is (an access log may have buried it), else the end
                at = text.find("Traceback (most recent call last)")
                shown = text[max(0, at - 500): at + 4000] if at >= 0 else text[-3000:]
                told = f"\n{server.logfile.name}, {'its first traceback' if at >= 0 else 'its end'}:\n{shown}"
            raise BenchError(f"{what}: {load.errors} errors of {load.ok + load.errors}; "
                             f"first: {load.first_error}{told}")

    # ------------------------------------------------------------------ report
    def report(self) -> dict[str, Any]:
        return {
            "scale": {"standards": self.n, "events": self.events, "quick": self.quick},
            "store": {k: self.meta[k] for k in ("standards", "events", "built_on", "fingerprint")},
            "machine": {**machine(), "load_average_before": self.load_before},
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "clients": CLIENTS,
            "load_seconds": self.seconds(),
            "figures": [{"key": f.key, "figure": f.label, "value": f.value, "unit": f.unit,
                         "baseline": f.baseline, "baseline_is": f.baseline_label, "ratio": f.ratio,
                         "target": f.target, "met": f.met} for f in self.figures],
        }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "load_average": os.getloadavg(),
            "system": f"{platform.system()} {platform.release()}", "sqlite": sqlite3.sqlite_version}


def table(result: dict[str, Any]) -> str:
    def num(v: float | None) -> str:
        if v is None:
            return "—"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3f}"

    rows = [("figure", "value", "baseline", "ratio", "target", "met?")]
    for f in result["figures"]:
        met = "—" if f["met"] is None else ("yes" if f["met"] else "NO")
        rows.append((f["figure"], f"{num(f['value'])} {f['unit']}", num(f["baseline"]),
                     "—" if f["ratio"] is None else f"{f['ratio']:.2f}", f["target"] or "—", met))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


SECTIONS = ("rebuild", "in_process", "cold_command", "pages", "snapshot", "http", "http_postgres", "webhooks",
            "files_http", "search")


def sections(text: str) -> tuple[str, ...]:
    if text in ("all", "documents"):
        return SECTIONS if text == "all" else ("files_http", "search")
    chosen = tuple(part.strip() for part in text.split(","))
    unknown = [c for c in chosen if c not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"no section {', '.join(unknown)}; the sections are {', '.join(SECTIONS)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--standards", type=int, default=None,
                   help=f"scale: {' or '.join(map(str, SCALES))} (any N up to {MAX_STANDARDS})")
    p.add_argument("--edits", type=int, default=0,
                   help="extra draft edits per standard, for deeper logs: at 6,000 standards "
                        "--edits 157 gives about a million events (the numbering rules allow no "
                        "more than 6,000 standards)")
    p.add_argument("--quick", action="store_true", help="CI: 1,000 standards, short loads; fails on errors only")
    p.add_argument("--json", type=Path, default=None, help="where to write the results (default var/bench/results-N.json)")
    p.add_argument("--cache", type=Path, default=ROOT / "var" / "bench", help="where cached stores live")
    p.add_argument("--load-seconds", type=float, default=10.0, help="length of each HTTP load (full runs)")
    p.add_argument("--only", type=sections, default=SECTIONS,
                   help=f"a comma-separated list of sections to run, of {', '.join(SECTIONS)}; "
                        "documents: only the figures of issue 11 (files_http,search)")
    p.add_argument("--search-chars", type=int, default=60_000,
                   help="characters of each standard's text in the search store (full runs; --quick: 2,000 "
                        "over 300 standards)")
    args = p.parse_args(argv)
    if args.quick and args.standards not in (None, 1000):
        p.error("--quick runs at 1,000 standards")
    args.standards = args.standards or 1000
    if args.standards > MAX_STANDARDS:
        print(f"error: --standards {args.standards}: a store cannot hold more than {MAX_STANDARDS:,} standards. "
              "A number is JGSW + a category (01 to 06) + a sub-item (000 to 999), so the numbering rules "
              "(JGSW01001 §4, lifecycle/numbering.py) allow 6 x 1,000 numbers, and a number is drafted once and "
              "never reused. A bigger store would need numbers the rules refuse, which the application will not "
              f"record. Use --standards {MAX_STANDARDS} (every number taken).", file=sys.stderr)
        return 2
    if args.standards < 10:
        p.error("--standards must be at least 10")
    args.cache = args.cache.resolve()
    out = args.json or args.cache / (f"results-{args.standards}" + (f"-e{args.edits}" if args.edits else "") + ".json")
    try:
        result = Bench(args).run()
    except BenchError as e:
        print(f"bench failed: {e}", file=sys.stderr)
        return 1
    print(table(result))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"results written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
