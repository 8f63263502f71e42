"""Signals for operators through a real `lifecycle serve` with two gunicorn
workers (one server per store for the whole module): /metrics counts every
request whichever worker served it, the request log on stderr is JSON and
never holds a token or a body, and gunicorn's own refusals carry an id too."""

from __future__ import annotations

import json
import re
import secrets
import socket
import time
from pathlib import Path

import pytest
import requests

from tests.api.test_operations import sample
from tests.conftest import STORES
from tests.e2e.conftest import Server, add_users, bearer, store_url

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=STORES)
def served(request, tmp_path_factory):
    """Two workers, and the operator's own PROMETHEUS_MULTIPROC_DIR holding a
    stale file from an earlier run: the master must empty it at start."""
    workdir = tmp_path_factory.mktemp(f"ops-{request.param}")
    url = store_url(request, workdir)
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"not a metrics file")
    srv = Server(workdir, url, workers=2)
    srv.env.update({"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "LIFECYCLE_DELIVER": "0",
                    "LIFECYCLE_SIGNING_KEY": str(workdir / "signing-key.pem")})
    srv.cli("seed")
    add_users(srv)
    srv.start()
    srv.metrics_dir = metrics_dir
    yield srv
    assert srv.stop() == 0


def root(srv: Server) -> str:
    return srv.url.removesuffix("/api/v1")


def scrape(srv: Server) -> str:
    r = requests.get(f"{root(srv)}/metrics", timeout=30)
    assert r.status_code == 200, r.text
    return r.text


def test_requests_are_counted_whichever_worker_served_them(served: Server):
    route = "/api/v1/categories"
    before = sample(scrape(served), "lifecycle_http_requests_total", method="GET", route=route, status="200")
    sent = 40
    # One worker takes a request whose headers are not finished yet and waits
    # for the rest, so the other worker serves all the others; then the first
    # one's request is finished. Both workers serve, whatever accept() does.
    host, port = served.url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as held:
        held.sendall(f"GET {route} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
                     f"Authorization: Bearer {served.tokens['auditor']}\r\n".encode())
        time.sleep(0.3)  # accepted by a worker, which now waits for the end of the headers
        for _ in range(sent - 1):
            with requests.get(f"{served.url}/categories", headers=bearer(served, "auditor"), timeout=30) as r:
                assert r.status_code == 200, r.text
        held.sendall(b"\r\n")
        answer = b""
        while chunk := held.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    # Both workers wrote series of their own (one file per process), and
    # every scrape, by either worker, sums them all.
    pids = {m.group(1) for m in (re.fullmatch(r"counter_(\d+)\.db", p.name)
                                 for p in served.metrics_dir.iterdir()) if m}
    assert len(pids) >= 2, sorted(p.name for p in served.metrics_dir.iterdir())
    assert not (served.metrics_dir / "counter_1.db").exists()  # emptied at start
    for _ in range(4):
        text = scrape(served)
        got = sample(text, "lifecycle_http_requests_total", method="GET", route=route, status="200") - before
        assert got == sent, got
    assert sample(text, "lifecycle_log_position") >= 9  # the seed
    health = requests.get(f"{served.url}/health", timeout=30).json()
    assert sample(text, "lifecycle_projection_position", projection="catalogue_states") == health["position"]


def test_the_request_log_is_json_and_never_holds_a_token_or_a_body(served: Server):
    marker = f"BODY-MARKER-{secrets.token_hex(8)}"
    token = served.tokens["drafter"]
    rid = f"ops-log-{secrets.token_hex(4)}"
    r = requests.post(f"{served.url}/standards", headers={**bearer(served, "drafter"), "X-Request-ID": rid},
                      json={"category": "05", "title": f"后勤服务 {marker}", "reason": marker}, timeout=30)
    assert r.status_code == 201, r.text
    assert r.headers["X-Request-ID"] == rid
    code = r.json()["code"]
    refused = requests.patch(f"{served.url}/standards/{code}/draft",
                             headers={**bearer(served, "drafter"), "If-Match": '"99"'},
                             json={"summary": marker}, timeout=30)
    assert refused.status_code == 412
    bad_token = f"not-a-token-{marker}"
    assert requests.get(f"{served.url}/standards?title={marker}", headers={"Authorization": f"Bearer {bad_token}"},
                        timeout=30).status_code == 401
    scrape(served)  # the log lines are written before the answers; a last request to be sure
    log = "".join(p.read_text(encoding="utf-8", errors="replace") for p in served.workdir.glob("serve-*.log"))
    assert token not in log and bad_token not in log
    assert marker not in log  # neither a body nor a query: a route is logged as its template
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("id") == rid]
    assert len(mine) == 1, mine
    entry = mine[0]
    assert {"time", "id", "user", "method", "route", "status", "duration_ms"} <= set(entry)
    assert entry["user"] == "drafter" and entry["method"] == "POST" and entry["status"] == 201
    assert entry["route"] == "/api/v1/standards" and entry["duration_ms"] > 0
    assert any(line["route"] == "/api/v1/standards/<code:code>/draft" and line["status"] == 412
               for line in lines)
    assert any(line["status"] == 401 and line["user"] is None for line in lines)


def test_gunicorns_own_refusals_carry_a_request_id(served: Server):
    host, port = served.url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = s.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 414"), answer[:200]
    assert re.search(r"\r\nX-Request-ID: [0-9a-f]{32}\r\n", answer), answer[:400]


def test_the_private_metrics_directory_lives_and_dies_with_the_server(tmp_path: Path):
    """No PROMETHEUS_MULTIPROC_DIR: the master makes one in the temporary
    directory, and removes it when it stops, exiting 0 with three workers
    exiting at once (their exits reach the master as signals)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    srv = Server(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", workers=3)
    srv.env.update({"TMPDIR": str(temp), "LIFECYCLE_DELIVER": "0"})
    srv.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    srv.start()
    try:
        for _ in range(6):
            assert requests.get(f"{srv.url}/health", timeout=30).status_code == 200
        made = list(temp.glob("lifecycle-metrics-*"))
        assert len(made) == 1 and list(made[0].glob("counter_*.db")), list(temp.iterdir())
        assert "lifecycle_http_requests_total" in requests.get(f"{root(srv)}/metrics", timeout=30).text
    finally:
        assert srv.stop() == 0, (tmp_path / f"serve-{srv.url.split(':')[2].split('/')[0]}.log").read_text()[-3000:]
    assert not list(temp.iterdir())


def test_metrics_can_be_turned_off(tmp_path: Path):
    srv = Server(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", workers=1)
    srv.env.update({"LIFECYCLE_METRICS": "0", "LIFECYCLE_DELIVER": "0"})
    srv.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    srv.start()
    try:
        r = requests.get(f"{root(srv)}/metrics", timeout=30)
        assert r.status_code == 404 and r.headers["Content-Type"].startswith("application/problem+json")
        assert r.headers["X-Request-ID"]
    finally:
        assert srv.stop() == 0
