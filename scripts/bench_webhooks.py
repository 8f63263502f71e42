#!/usr/bin/env python3
"""Webhook figures for scripts/bench.py (issue 17), each beside a baseline
measured in the same run:

- delivery lag: `lifecycle serve` (with the deliverer it starts) takes 50
  commands/s over HTTP while 5 subscriptions push every event to a local
  receiver; lag = arrival at the receiver - the event's recorded time. Its
  baseline is the commands' own answer time.
- backlog: `lifecycle deliver` sends a backlog of N events (100,000 in a full
  run) to a fast local receiver; its baseline is a bare loop POSTing the same
  signed bodies to the same receiver over one keep-alive connection
  (requests.Session, the client the deliverer uses).

The receiver is this file run as `bench_webhooks.py receive PORT`: an
HTTP/1.1 server in its own process that answers 204 and keeps, per request,
its arrival time and the event's recorded time; GET /stats reports them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()
ALLOW = {"LIFECYCLE_WEBHOOK_ALLOW": "127.0.0.0/8"}
SUBSCRIPTIONS = 5
COMMANDS_PER_SECOND = 50
FULL_BACKLOG = 100_000
QUICK_BACKLOG = 2_000


# ====================================================================== receiver
def receive(port: int) -> None:
    """The receiver process: answers every POST with 204."""
    arrivals: list[tuple[float, float]] = []  # (arrival, recorded time of the event)
    lock = threading.Lock()

    def recorded(body: bytes) -> float:
        start = body.find(b'"time":"') + 8
        return datetime.fromisoformat(body[start:body.find(b'"', start)].decode().replace("Z", "+00:00")).timestamp()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            now = time.time()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with lock:
                arrivals.append((now, recorded(body)))

        def do_GET(self) -> None:
            with lock:
                data = list(arrivals)
                if "reset" in self.path:
                    arrivals.clear()
            body = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


class Receiver:
    def __init__(self, work: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = open(work / f"receiver-{self.port}.log", "w")
        self.proc = subprocess.Popen([sys.executable, str(HERE), "receive", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.arrivals()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the receiver did not start")

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def arrivals(self, reset: bool = False) -> list[tuple[float, float]]:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", "/stats?reset" if reset else "/stats")
            return [tuple(a) for a in json.loads(conn.getresponse().read())]
        finally:
            conn.close()

    def wait_for(self, count: int, timeout: float) -> list[tuple[float, float]]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.arrivals()
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


# ====================================================================== figures
def measure(bench: Any, Figure: Callable[..., Any], Served: Callable[..., Any],
            backlog_store: Callable[[], Path], lifecycle: str, percentile: Callable[[list[float], float], float],
            add_user: Callable[..., str]) -> None:
    """Add the two webhook figures to `bench` (scripts/bench.py's Bench)."""
    lag(bench, Figure, Served, lifecycle, percentile, add_user)
    backlog(bench, Figure, backlog_store, lifecycle)


def lag(bench: Any, Figure: Any, Served: Any, lifecycle: str, percentile: Any, add_user: Any) -> None:
    import requests

    from api.bootstrap import bootstrap
    from lifecycle.users import Role

    bench.log(f"webhooks: lag under {COMMANDS_PER_SECOND} commands/s with {SUBSCRIPTIONS} subscriptions ...")
    app = bootstrap(bench.settings)
    try:
        admin = add_user(app, "bench-hooks-admin", [Role.ADMIN])
        drafter = add_user(app, "bench-hooks-drafter", [Role.DRAFTER])
        with app.reads.cursor() as c:
            c.execute("SELECT code, version FROM standard_log WHERE recorded_to = "
                      "'9999-12-31T23:59:59.999999Z' AND stage IN ('draft', 'revision_draft') ORDER BY code")
            drafts = {r[0]: r[1] for r in c.fetchall()}
    finally:
        app.close()
    receiver = Receiver(bench.work)
    srv = Served([lifecycle, "serve", "--workers", "2", "--bind", "127.0.0.1:{port}"], {**bench.env, **ALLOW},
                 "/api/v1/health", bench.work / "serve-hooks.log")
    try:
        base = f"http://127.0.0.1:{srv.port}/api/v1"
        for i in range(SUBSCRIPTIONS):
            r = requests.post(f"{base}/subscriptions", json={"url": receiver.url(f"/s{i}")}, timeout=30,
                              headers={"Authorization": f"Bearer {admin}"})
            if r.status_code != 201:
                raise RuntimeError(f"subscribe: {r.status_code} {r.text[:300]}")
        time.sleep(2.0)  # the deliverer takes new subscriptions within a second
        receiver.arrivals(reset=True)
        latencies = paced_commands(base, drafter, drafts, bench.seconds() * (1 if bench.quick else 2))
        got = receiver.wait_for(SUBSCRIPTIONS * len(latencies), timeout=60)
    finally:
        srv.stop()
        receiver.stop()
    if len(got) < SUBSCRIPTIONS * len(latencies):
        raise RuntimeError(f"webhooks: {len(got)} deliveries of {SUBSCRIPTIONS * len(latencies)} arrived")
    lags = [(arrived - recorded) * 1000 for arrived, recorded in got]
    bench.add(Figure("webhook_lag_p50_ms", f"webhook delivery lag p50 ({COMMANDS_PER_SECOND} commands/s, "
                     f"{SUBSCRIPTIONS} subscriptions)", percentile(lags, 50), "ms",
                     percentile(latencies, 50), "the command's own answer p50 (ms)"))
    p95 = percentile(lags, 95)
    bench.add(Figure("webhook_lag_p95_ms", f"webhook delivery lag p95 ({COMMANDS_PER_SECOND} commands/s, "
                     f"{SUBSCRIPTIONS} subscriptions)", p95, "ms", percentile(latencies, 95),
                     "the command's own answer p95 (ms)", "≤ 1000 ms", p95 <= 1000))


def paced_commands(base: str, token: str, drafts: dict[str, int], seconds: float) -> list[float]:
    """PATCH open drafts at COMMANDS_PER_SECOND for `seconds`; each answer's time (ms)."""
    import requests

    codes = sorted(drafts)
    if len(codes) < 2:
        raise RuntimeError(f"webhooks: the store has {len(codes)} open drafts; the load needs 2")
    etags = {code: f'"{version}"' for code, version in drafts.items()}
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    total = int(seconds * COMMANDS_PER_SECOND)

    def client(k: int) -> None:
        """Every other command, on drafts of its own (so its ETags are its own)."""
        session = requests.Session()
        mine = codes[k::2]
        for i in range(k, total, 2):
            delay = start + i / COMMANDS_PER_SECOND - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            code = mine[(i // 2) % len(mine)]
            t = time.perf_counter()
            r = session.patch(f"{base}/standards/{code}/draft", json={"summary": f"推送延迟测试 第{i}次修改"},
                              headers={"Authorization": f"Bearer {token}", "If-Match": etags[code]}, timeout=30)
            latencies.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:200]}")
                return
            etags[code] = r.headers["ETag"]

    threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"webhooks: a command failed: {errors[0]}")
    return latencies


def backlog(bench: Any, Figure: Any, backlog_store: Callable[[], Path], lifecycle: str) -> None:
    from dataclasses import replace

    import requests
    from standardwebhooks import Webhook

    from api.bootstrap import bootstrap
    from lifecycle import commands
    from lifecycle.config import Settings, parse_networks
    from lifecycle.subscriptions import new_secret
    from projections.deliverer import cloud_event, signed_headers
    from projections.documents import dumps
    from projections.rebuild import notifications

    wanted = QUICK_BACKLOG if bench.quick else FULL_BACKLOG
    db = bench.work / "backlog.db"
    shutil.copyfile(backlog_store(), db)
    url = f"sqlite:///{db}"
    receiver = Receiver(bench.work)
    app = bootstrap(replace(Settings(database_url=url), webhook_allow=parse_networks("127.0.0.0/8")))
    try:
        head = app.log_position()
        first = max(1, head - wanted + 1)
        secret = new_secret()
        sub = app.handle(commands.Subscribe(url=receiver.url(), secret=secret, actor="bench"))
        app.handle(commands.ReplaySubscription(subscription_id=sub.id, from_position=first, actor="bench"))
        bench.log(f"webhooks: backlog of {head - first + 1:,} events (positions {first:,}..{head:,}): "
                  "signing the bare loop's bodies ...")
        signer = Webhook(secret)
        bodies = []
        for batch in notifications(app, upto=head, after=first - 1):
            for entry in app.audit.entries(batch):
                if entry["code"] is not None:
                    body = dumps(cloud_event(entry))
                    bodies.append((body.encode(), signed_headers(signer, f"{entry['position']}-{sub.id}", body)))
    finally:
        app.close()
    try:
        bench.log(f"  bare loop: {len(bodies):,} POSTs over one keep-alive connection ...")
        session = requests.Session()
        receiver.arrivals(reset=True)
        for body, headers in bodies:
            r = session.post(receiver.url(), data=body, headers={
                **headers, "Content-Type": "application/cloudevents+json; charset=utf-8"}, timeout=30)
            if r.status_code != 204:
                raise RuntimeError(f"bare loop: {r.status_code}")
        bare = rate(receiver.arrivals(reset=True))
        bench.log("  lifecycle deliver ...")
        log = open(bench.work / "deliver.log", "w")
        proc = subprocess.Popen([lifecycle, "deliver"], cwd=ROOT, env={**bench.env, **ALLOW,
                                                                     "LIFECYCLE_DATABASE_URL": url},
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            got = receiver.wait_for(len(bodies), timeout=max(120.0, len(bodies) / 50))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            log.close()
    finally:
        receiver.stop()
    if len(got) < len(bodies):
        raise RuntimeError(f"webhooks: the deliverer sent {len(got)} of {len(bodies)} events "
                           f"(see {bench.work / 'deliver.log'})")
    delivered = rate(got)
    bench.add(Figure("webhook_backlog_events_per_s", f"webhook backlog of {len(bodies):,} events, "
                     "lifecycle deliver (events/s)", delivered, "events/s", bare,
                     "bare loop POSTing the same signed bodies, one keep-alive connection (events/s)",
                     "≥ 0.5 × baseline", delivered >= 0.5 * bare))


def rate(arrivals: list[tuple[float, float]]) -> float:
    """Events per second at the receiver, from the first arrival to the last."""
    times = sorted(a for a, _ in arrivals)
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


if __name__ == "__main__":
    if sys.argv[1:2] == ["receive"]:
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        receive(int(sys.argv[2]))
