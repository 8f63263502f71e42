"""Signals for operators, through the Flask test client (one process, so
/metrics is in single-process mode): X-Request-ID on every answer, /metrics
with bounded labels, /health's version and schema. The series live for the
whole process, so each test compares before with after."""

from __future__ import annotations

import re
import subprocess
import uuid
from importlib.metadata import version

import pytest

from api import create_app
from lifecycle.application import StandardsApp
from lifecycle.config import Settings
from tests.api.helpers import PREFIX, assert_problem
from tests.api.test_files import attached, download


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus's text format (0 if absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name + "{" if labels else name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if labels else {}
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(client) -> str:
    resp = client.get("/metrics")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.content_type.startswith("text/plain; version=")
    return resp.get_data(as_text=True)


def is_new_id(value: str | None) -> bool:
    return value is not None and re.fullmatch(r"[0-9a-f]{32}", value) is not None and \
        uuid.UUID(value).version == 4


def test_every_answer_carries_a_request_id(api, client, auth):
    code = api.draft(title="后勤服务管理标准 请求编号")
    mine = "ops-trace 42 ~!"
    answers = {
        "api": client.get(f"{PREFIX}/standards/{code}", headers=auth("auditor", **{"X-Request-ID": mine})),
        "401": client.get(f"{PREFIX}/standards", headers={"X-Request-ID": mine}),
        "404": client.get("/no/such/page", headers={"X-Request-ID": mine}),
        "422": client.get(f"{PREFIX}/standards?as_of=1900-01-01", headers=auth("auditor", **{"X-Request-ID": mine})),
        "page": client.get("/register/sign-in", headers={"X-Request-ID": mine}),
        "redirect": client.get("/", headers={"X-Request-ID": mine}),
        "health": client.get(f"{PREFIX}/health", headers={"X-Request-ID": mine}),
    }
    assert answers["api"].status_code == 200 and answers["401"].status_code == 401
    assert answers["404"].status_code == 404 and answers["422"].status_code == 422
    for what, resp in answers.items():
        assert resp.headers.get("X-Request-ID") == mine, what

    # A 304: a file's ETag in If-None-Match.
    attached(api, code, "r.txt", "正文".encode() * 10, "text/plain")
    path = f"/standards/{code}/draft/files/r.txt"
    tag = download(api, path).headers["ETag"]
    resp = download(api, path, **{"If-None-Match": tag, "X-Request-ID": mine})
    assert resp.status_code == 304 and resp.headers["X-Request-ID"] == mine

    # Not 1-200 printable ASCII characters: a new id, never an error.
    for bad in ("", "x" * 201, "tab\there", "del\x7f", "é"):
        resp = client.get(f"{PREFIX}/health", headers={"X-Request-ID": bad})
        assert resp.status_code == 200, bad
        assert is_new_id(resp.headers.get("X-Request-ID")), (bad, resp.headers.get("X-Request-ID"))
    first, second = (client.get(f"{PREFIX}/health").headers["X-Request-ID"] for _ in range(2))
    assert is_new_id(first) and is_new_id(second) and first != second
    assert client.get(f"{PREFIX}/health", headers={"X-Request-ID": "x" * 200}).headers["X-Request-ID"] == "x" * 200


def test_health_gives_the_version_and_the_event_schema(client):
    body = client.get(f"{PREFIX}/health").get_json()
    assert body["version"] == version("jgsw-lifecycle")
    # The highest class_version of the events recorded: Standard.Approved is at 2.
    assert body["schema"] == StandardsApp.schema_version() == 2
    assert body["status"] == "ok" and body["position"] == max(body["projections"].values())


def test_metrics_count_by_route_template_and_outcome(api, client, auth, service):
    before = scrape(client)
    codes = [api.draft(title=f"后勤服务管理标准 指标 {n}") for n in range(3)]
    for code in codes:
        assert client.get(f"{PREFIX}/standards/{code}", headers=auth("auditor")).status_code == 200
    assert client.get(f"{PREFIX}/standards/JGSW06999", headers=auth("auditor")).status_code == 404
    assert client.get("/wp-admin/setup.php").status_code == 404
    assert client.open("/metrics", method="BREW").status_code == 405
    stale = client.patch(f"{PREFIX}/standards/{codes[0]}/draft", json={"summary": "过期"},
                         headers=auth("drafter", **{"If-Match": '"99"'}))
    assert stale.status_code == 412
    key = {"Idempotency-Key": "ops-replay-1"}
    first = client.post(f"{PREFIX}/standards", json={"category": "05", "title": "后勤服务 重放"},
                        headers=auth("drafter", **key))
    again = client.post(f"{PREFIX}/standards", json={"category": "05", "title": "后勤服务 重放"},
                        headers=auth("drafter", **key))
    assert first.status_code == 201 and again.headers.get("Idempotency-Replayed") == "true"
    after = scrape(client)

    route = f"{PREFIX}/standards/<code:code>"
    got = sample(after, "lifecycle_http_requests_total", method="GET", route=route, status="200") - \
        sample(before, "lifecycle_http_requests_total", method="GET", route=route, status="200")
    assert got == 3
    assert sample(after, "lifecycle_http_requests_total", method="GET", route=route, status="404") - \
        sample(before, "lifecycle_http_requests_total", method="GET", route=route, status="404") == 1
    assert sample(after, "lifecycle_http_requests_total", method="GET", route="<unmatched>", status="404") - \
        sample(before, "lifecycle_http_requests_total", method="GET", route="<unmatched>", status="404") >= 1
    assert sample(after, "lifecycle_http_requests_total", method="other", route="<unmatched>", status="405") >= 1
    # No raw path, no unknown method is ever a label value.
    for raw in (*codes, "JGSW06999", "wp-admin", "BREW"):
        assert raw not in after, raw
    assert sample(after, "lifecycle_http_request_duration_seconds_count", method="GET", route=route) - \
        sample(before, "lifecycle_http_request_duration_seconds_count", method="GET", route=route) == 4

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("lifecycle_commands_total", command="DraftStandard", outcome="recorded") == 4
    assert delta("lifecycle_commands_total", command="EditDraft", outcome="conflict") == 1
    assert delta("lifecycle_idempotent_replays_total") == 1
    position = service.log_position()
    assert sample(after, "lifecycle_log_position") == position
    for projection in ("standard_log", "catalogue_states", "edition_states", "users"):
        assert sample(after, "lifecycle_projection_position", projection=projection) == position
    assert sample(after, "lifecycle_store_up") == 1


def test_metrics_off_is_a_404(service, monkeypatch):
    monkeypatch.setenv("LIFECYCLE_METRICS", "0")
    assert Settings.from_env().metrics is False
    monkeypatch.setenv("LIFECYCLE_METRICS", "1")
    assert Settings.from_env().metrics is True
    off = Settings(database_url=service.settings.database_url, signing_key=service.settings.signing_key,
                   metrics=False)
    client = create_app(off).test_client()
    resp = client.get("/metrics")
    assert_problem(resp, 404)
    assert resp.headers.get("X-Request-ID")
    assert client.get(f"{PREFIX}/health").status_code == 200


def test_a_read_only_store_is_counted_as_such(store, settings, client, auth, api):
    """503 by cause: SQLite's file made immutable under the running app."""
    if store != "sqlite":
        pytest.skip("PostgreSQL's read-only store is driven by tests/e2e/test_faults.py")
    api.draft(title="后勤服务管理标准 只读之前")
    before = scrape(client)
    files = [str(settings.sqlite_path), f"{settings.sqlite_path}-wal"]
    done = subprocess.run(["chattr", "+i", *files], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is refused here: {done.stderr.strip()}")
    try:
        resp = client.post(f"{PREFIX}/standards", json={"category": "05", "title": "后勤服务 只读"},
                           headers=auth("drafter"))
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)
    body = assert_problem(resp, 503)
    after = scrape(client)
    assert sample(after, "lifecycle_store_unavailable_total", reason=body["reason"]) - \
        sample(before, "lifecycle_store_unavailable_total", reason=body["reason"]) == 1
    assert sample(after, "lifecycle_commands_total", command="DraftStandard", outcome="unavailable") - \
        sample(before, "lifecycle_commands_total", command="DraftStandard", outcome="unavailable") == 1
    # Writable again: the next command is recorded (projections/sqlite_store.py).
    assert client.post(f"{PREFIX}/standards", json={"category": "05", "title": "后勤服务 恢复"},
                       headers=auth("drafter")).status_code == 201


def test_the_request_line_is_one_json_object_and_a_lost_stderr_costs_no_answer(client, capsys, monkeypatch):
    """api/operations.log_request writes the line itself (no `logging`): one
    JSON object on a line of its own; with stderr closed the answer still goes."""
    import io
    import json

    capsys.readouterr()
    assert client.get("/api/v1/health", headers={"X-Request-ID": "line-1"}).status_code == 200
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"line-1"' in line]
    assert len(lines) == 1 and lines[0]["message"] == "request" and lines[0]["status"] == 200
    assert list(lines[0])[-1] == "time" and lines[0]["time"].endswith("+00:00")
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr("sys.stderr", closed)
    assert client.get("/api/v1/health").status_code == 200
