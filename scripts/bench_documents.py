"""The figures of issue 11 ("Speed and size"), run by scripts/bench.py:

- files over HTTP: PUT and GET of a 20 MB PDF through `lifecycle serve
  --workers 1`, against bare Flask routes (scripts/bench_baselines.py) that
  stream the same bytes into and out of a table of the same SQLite file; and
  the worker's peak RSS growth (VmHWM from /proc) against the file's size;
- search: `q` over N standards, each in force with a text of C characters
  (6,000 x 60,000 in a full run), for a mix of 1-, 2-, 3- and 4-character
  queries, against a full `LIKE '%q%'` scan of the same text in the same
  store, on SQLite and on PostgreSQL. Both must find the same rows.

The search stores are built once through the application (drafts, files,
approvals, issues as events; the bytes stored as the recorder stores them),
indexed by `lifecycle rebuild`'s own code, then moved to PostgreSQL by
`lifecycle export` / `import`; they are cached by scale and schema."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import os
import random
import re
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

MB = 1024 * 1024
SEARCH_GENERATOR = "bench-search/1"  # bump when the synthetic texts change
SEED_TEXT = Path(__file__).resolve().parents[2] / "shared" / "seed" / "jgsw-basic-standards-2018.txt"
OPEN = "9999-12-31T23:59:59.999999Z"


# ====================================================================== files over HTTP
def request(port: int, method: str, path: str, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any, bytes, float]:
    """One request on a new connection: (status, headers, body, seconds);
    a download is read in 1 MiB blocks and only its size kept."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        size, first = 0, b""
        while block := r.read(MB):
            size += len(block)
            first = first or block[:2000]
        return r.status, r.headers, first if size < 2000 else str(size).encode(), time.perf_counter() - started
    finally:
        conn.close()


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def worker_of(master: int) -> int:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    return int(proc.name)
    raise RuntimeError(f"no worker of {master}")


def files_http(bench: Any) -> None:
    """Upload and download over HTTP, against bare routes on the same database."""
    from api.bootstrap import bootstrap
    from lifecycle.users import Role
    from scripts.bench import BenchError, Figure, Served, add_user, gunicorn_command, lifecycle_command
    from tests.files import pdf_with_text

    size = (5 if bench.quick else 20) * MB
    rounds = 2 if bench.quick else 5
    payloads = [pdf_with_text(f"bench file {i}", padding=size - 4096) for i in range(rounds + 1)]
    app = bootstrap(bench.settings)
    try:
        auth = {"Authorization": f"Bearer {add_user(app, 'bench-filer', [Role.DRAFTER, Role.AUDITOR])}"}
        with app.reads.cursor() as c:  # an open draft (every number may be taken)
            c.execute(f"SELECT code FROM standard_log WHERE recorded_to = '{OPEN}' "
                      "AND stage IN ('draft', 'revision_draft') ORDER BY code LIMIT 1")
            row = c.fetchone()
    finally:
        app.close()
    if row is None:
        raise BenchError("files: the store has no open draft to attach files to")
    code = row[0]

    bench.log(f"files: {rounds} uploads and downloads of {size // MB} MB, lifecycle serve --workers 1 ...")
    srv = Served([lifecycle_command(), "serve", "--workers", "1", "--bind", "127.0.0.1:{port}"], bench.env,
                 "/api/v1/health", bench.work / "serve-files.log")
    try:
        status, headers, body, _ = request(srv.port, "GET", f"/api/v1/standards/{code}", headers=auth)
        if status != 200:
            raise BenchError(f"files: reading {code} answered {status} {body[:300]!r}")
        tag = headers["ETag"]
        path = f"/api/v1/standards/{code}/draft/files/bench.pdf"
        worker = worker_of(srv.proc.pid)

        expected = 0

        def upload(data: bytes) -> float:
            nonlocal tag, expected
            expected = len(data)
            status, headers, body, seconds = request(srv.port, "PUT", path, data,
                                                     {**auth, "If-Match": tag, "Content-Type": "application/pdf"})
            if status not in (200, 201):
                raise BenchError(f"files: upload answered {status} {body[:300]!r}")
            tag = headers["ETag"]
            return seconds

        def download() -> float:
            status, _, body, seconds = request(srv.port, "GET", path, headers=auth)
            if status != 200 or body != str(expected).encode():
                raise BenchError(f"files: download answered {status} ({body[:100]!r})")
            return seconds

        upload(payloads[0])  # warm up: imports, pools, the first extraction
        download()
        before = peak_rss_kb(worker)
        up = [upload(data) for data in payloads[1:]]
        down = [download() for _ in range(rounds)]
        growth = (peak_rss_kb(worker) - before) / 1024
    finally:
        srv.stop()

    bench.log("files: bare Flask routes on the same database (scripts/bench_baselines.py) ...")
    base = Served([gunicorn_command(), "--workers", "1", "--bind", "127.0.0.1:{port}", "--access-logfile", "-",
                   "--chdir", str(Path(__file__).parent), "bench_baselines:app"],
                  {**os.environ, "BENCH_BASELINE_DB": str(bench.work / "baseline.db"), "BENCH_BLOB_DB": str(bench.db)},
                  "/health", bench.work / "baseline-files.log")
    try:
        base_up, ids = [], []
        for data in payloads[1:]:
            status, _, body, seconds = request(base.port, "PUT", "/blob", data, {"Content-Type": "application/pdf"})
            if status != 201:
                raise BenchError(f"files: bare upload answered {status} {body[:300]!r}")
            base_up.append(seconds)
            ids.append(json.loads(body)["id"])
        base_down = [request(base.port, "GET", f"/blob/{i}")[3] for i in ids]
    finally:
        base.stop()

    def rate(times: list[float]) -> float:
        return expected * len(times) / sum(times) / MB

    bench.add(Figure("files_upload_mb_s", f"upload of a {size // MB} MB PDF over HTTP (PUT, 1 worker)", rate(up),
                     "MB/s", rate(base_up), "bare Flask PUT streaming into the same SQLite file (MB/s)",
                     "≥ 0.5 × baseline", rate(up) >= 0.5 * rate(base_up)))
    bench.add(Figure("files_download_mb_s", f"download of a {size // MB} MB PDF over HTTP (GET, 1 worker)",
                     rate(down), "MB/s", rate(base_down), "bare Flask GET streaming from the same SQLite file (MB/s)",
                     "≥ 0.5 × baseline", rate(down) >= 0.5 * rate(base_down)))
    bench.add(Figure("files_worker_rss_growth_mb", "worker peak RSS growth over the uploads and downloads",
                     max(growth, 0.001), "MB", size / MB, "the file's size (MB)", "≤ 2 × file size",
                     growth <= 2 * size / MB))


# ====================================================================== search
def phrases() -> list[str]:
    """Clauses of the seed document: the vocabulary of the synthetic texts."""
    text = SEED_TEXT.read_text(encoding="utf-8")
    parts = [p.strip() for p in re.split(r"[。；;，,、\n：:]", text)]
    return [p for p in parts if 4 <= len(p) <= 60 and re.search(r"[\u4e00-\u9fff]", p)]


def document_text(rng: random.Random, pool: list[str], chars: int) -> str:
    """About `chars` characters: seed clauses, with a few words of the text's own
    (so some pairs of characters are rare, as in real documents)."""
    own = ["".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 4))) for _ in range(30)]
    out, size = [], 0
    while size < chars:
        clause = rng.choice(pool) if rng.random() < 0.9 else rng.choice(own) + rng.choice(pool)
        out.append(clause)
        size += len(clause) + 1
        if rng.random() < 0.08:
            out.append("\n")
    return "，".join(out)[:chars]


def build_search_store(path: Path, n: int, chars: int, log: Any) -> dict[str, Any]:
    """n standards, each issued with one text file of `chars` characters."""
    from api.bootstrap import bootstrap
    from lifecycle import numbering
    from lifecycle.config import Settings
    from lifecycle.domain import Standard
    from lifecycle.files import TXT, Extraction, Staged
    from projections.rebuild import Track, rebuild
    from scripts.bench import codes_for, title_for

    app = bootstrap(Settings(database_url=f"sqlite:///{path}"))
    rng = random.Random(20181231 + 11)
    pool = phrases()
    started = time.perf_counter()
    try:
        batch: list[Any] = []
        staged: list[Staged] = []
        for i, (category, sub_item) in enumerate(codes_for(n)):
            data = document_text(rng, pool, chars).encode()
            day = date(2005, 1, 1) + timedelta(days=rng.randrange(7000))
            std = Standard.create(numbering.make_code(category, sub_item), {"title": title_for(rng, category, i)},
                                  actor="drafter01")
            std.attach_file("正文.txt", TXT, len(data), hashlib.sha256(data).hexdigest(), actor="drafter01")
            std.submit("drafter01")
            std.approve(day, date.max, actor="approver01")
            std.publish(day, day + timedelta(days=30), False, actor="publisher01")
            batch.append(std)
            staged.append(Staged(hashlib.sha256(data).hexdigest(), len(data), TXT, io.BytesIO(data),
                                 Extraction("none")))
            if len(batch) == 200 or i == n - 1:
                changes = []
                for aggregate in batch:
                    t = Track()
                    for event in aggregate.pending_events:
                        t.state, t.slices, t.last_at, change = app.projection.step(t.state, t.slices, t.last_at,
                                                                                  event)
                        changes.append(change)
                app.save(*batch, projection=changes)
                app.recorder.import_events([], staged)  # the bytes, as an import stores them
                batch, staged = [], []
                if (i + 1) % 1000 < 200:
                    log(f"  {i + 1} standards ({time.perf_counter() - started:.0f} s)")
        log("  indexing the texts (lifecycle rebuild) ...")
        rebuild(app)
    finally:
        app.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"standards": n, "characters": chars, "build_seconds": time.perf_counter() - started}


def search_stores(bench: Any, n: int, chars: int) -> tuple[str, str]:
    """(SQLite URL, PostgreSQL URL) of the cached search stores, built if missing."""

    from projections.transfer import export, import_log
    from scripts.bench import schema_fingerprint

    fingerprint = hashlib.sha256(f"{schema_fingerprint()}{SEARCH_GENERATOR}".encode()).hexdigest()[:10]
    name = f"search-{n}-{chars}-{fingerprint}"
    db = bench.args.cache / f"{name}.db"
    if not db.exists():
        for stale in bench.args.cache.glob(f"search-{n}-{chars}-*.db*"):
            stale.unlink()
        bench.log(f"search: building {n} standards of {chars:,} characters into {db} ...")
        temp = bench.args.cache / f".{name}.building.db"
        temp.unlink(missing_ok=True)
        build_search_store(temp, n, chars, bench.log)
        os.replace(temp, db)
    pg_name = f"lifecycle_bench_{name.replace('-', '_')}"
    from scripts.bench import postgres_admin

    admin, pg_url = postgres_admin("search", pg_name)
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (pg_name,)).fetchone()
        ready = exists and _pg_ready(pg_url)
        if not ready:
            stale = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                  (f"lifecycle_bench_search_{n}_{chars}_%",)).fetchall()
            for (name,) in stale:  # an older schema's copy, or a half-made one
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{pg_name}"')
    if not ready:
        from api.bootstrap import bootstrap
        from lifecycle.config import Settings

        bench.log("search: moving it to PostgreSQL (lifecycle export / import) ...")
        dump = bench.work / "search.jsonl"
        source = bootstrap(Settings(database_url=f"sqlite:///{db}"))
        try:
            with dump.open("w", encoding="utf-8") as out:
                export(source, out)
        finally:
            source.close()
        target = bootstrap(Settings(database_url=pg_url))
        try:
            import_log(target, lambda: dump.open(encoding="utf-8"))
            with target.recorder.datastore.transaction(commit=True) as c:
                c.execute("CREATE TABLE bench_ready (at TEXT)")
        finally:
            target.close()
        dump.unlink()
    return f"sqlite:///{db}", pg_url


def _pg_ready(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, connect_timeout=10) as conn:
        return bool(conn.execute("SELECT to_regclass('bench_ready')").fetchone()[0])


def query_mix(texts: list[str], rng: random.Random, per_length: int) -> list[str]:
    """1-, 2-, 3- and 4-character queries: most cut from the texts (found),
    some made of random characters (mostly found nowhere)."""
    out = []
    for length in (1, 2, 3, 4):
        for k in range(per_length):
            if k < per_length * 2 // 3:
                text = rng.choice(texts)
                while True:
                    start = rng.randrange(len(text) - length)
                    q = text[start:start + length]
                    if not re.search(r"[\s，。]", q):
                        break
            else:
                q = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(length))
            out.append(q)
    return out


def scan(app: Any, q: str, day: date) -> list[str]:
    """The baseline: a full scan of titles and texts with LIKE '%q%', for the
    same first page of 50 rows that `q` gives."""
    from projections.queries import _escape_like

    pattern = f"%{_escape_like(q)}%"
    with app.reads.cursor() as c:
        c.execute(app.reads.sql(
            "SELECT s.code FROM catalogue_states s WHERE s.recorded_to = ? AND s.valid_from <= ? "
            "AND ? < s.valid_to AND (s.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM edition_files ef "
            "JOIN content_text t ON t.sha256 = ef.sha256 WHERE ef.code = s.code AND ef.year = s.edition_year "
            "AND ef.recorded_to = ? AND t.text LIKE ? ESCAPE '\\')) ORDER BY s.code LIMIT 51"),
            (OPEN, day.isoformat(), day.isoformat(), pattern, OPEN, pattern))
        return [(r["code"] if isinstance(r, dict) else r[0]) for r in c.fetchall()]


def search(bench: Any) -> None:
    from api.bootstrap import bootstrap
    from lifecycle.config import Settings
    from projections.queries import CatalogueFilter
    from projections.views import standard_view
    from scripts.bench import BenchError, Figure, percentile

    n = 300 if bench.quick else bench.n
    chars = 2000 if bench.quick else bench.args.search_chars
    sqlite_url, pg_url = search_stores(bench, n, chars)
    rng = random.Random(20181231 + 12)
    for kind, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
        app = bootstrap(Settings(database_url=url), create_tables=False)
        try:
            day = app.today()
            with app.reads.cursor() as c:
                c.execute("SELECT text FROM content_text ORDER BY doc LIMIT 50")
                texts = [(r["text"] if isinstance(r, dict) else r[0]) for r in c.fetchall()]
            queries = query_mix(texts, random.Random(rng.random()), 6)

            def ours(q: str, app: Any = app, day: date = day) -> list[str]:
                rows, _ = app.reads.catalogue(CatalogueFilter(q=q, limit=50), day)
                views = [standard_view(r, day, with_editions=False) for r in rows]
                return [v["code"] for v in views]

            for q in queries[:4]:
                ours(q)  # warm up
            fast, slow, found = [], [], 0
            bench.log(f"search on {kind}: {len(queries)} queries, {n} standards of {chars:,} characters ...")
            for q in queries:
                t = time.perf_counter()
                mine = ours(q)
                fast.append((time.perf_counter() - t) * 1000)
                for _ in range(2):
                    t = time.perf_counter()
                    ours(q)
                    fast.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                theirs = scan(app, q, day)
                slow.append((time.perf_counter() - t) * 1000)
                if mine != theirs[:50]:
                    raise BenchError(f"search on {kind}: q={q!r} found {mine[:5]}…, the scan {theirs[:5]}…")
                found += bool(mine)
            p95, base = percentile(fast, 95), percentile(slow, 95)
            bench.log(f"  {found} of {len(queries)} queries found rows")
            bench.add(Figure(f"search_{kind}_p95_ms",
                             f"q over {n:,} standards x {chars:,} characters, 1-4 characters, {kind}, p95",
                             p95, "ms", base, f"full LIKE '%q%' scan of the same text, {kind}, p95 (ms)",
                             "≤ 0.1 × baseline", p95 <= 0.1 * base))
            bench.add(Figure(f"search_{kind}_p50_ms", f"q, {kind}, p50", percentile(fast, 50), "ms",
                             percentile(slow, 50), f"full scan, {kind}, p50 (ms)"))
        finally:
            app.close()
