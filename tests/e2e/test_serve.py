"""End to end through a real gunicorn: the workflow, races, a crash."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from lifecycle.config import Settings
from tests.e2e.conftest import Server, bearer

pytestmark = pytest.mark.e2e


def etag(srv: Server, code: str) -> str:
    r = requests.get(f"{srv.url}/standards/{code}", headers=bearer(srv, "auditor"), timeout=10)
    assert r.status_code == 200, r.text
    return r.headers["ETag"]


def all_items(srv: Server, path: str) -> list[dict]:
    """Follow `next` links to the end of a list."""
    items, url = [], f"{srv.url}{path}"
    while url:
        page = requests.get(url, headers=bearer(srv, "auditor"), timeout=30).json()
        items += page["items"]
        url = page["next"] and f"{srv.url.removesuffix('/api/v1')}{page['next']}"
    return items


def command(srv: Server, who: str, path: str, body: dict, code: str, method: str = "POST"):
    r = requests.request(method, f"{srv.url}/standards/{code}/{path}", json=body, timeout=30,
                         headers=bearer(srv, who, **{"If-Match": etag(srv, code)}))
    assert r.status_code == 200, r.text
    return r.json()


def test_revision_of_jgsw05001_end_to_end(server: Server):
    today = Settings().today()  # the office's calendar day, as the server sees it
    # JGSW05001 was seeded approved, never issued: issue it first, in the past.
    first = command(server, "publisher", "publish",
                    {"issued_on": "2019-03-01", "effective_on": "2019-04-01", "trial": False},
                    "JGSW05001")
    assert first["status"] == "current" and first["status_label"] == "现行"

    command(server, "drafter", "revisions", {"reason": "复审结论：修订", "title": "后勤服务管理标准 公务接待工作指南（修订）"}, "jgsw05001")
    command(server, "drafter2", "draft", {"summary": "更新接待标准"}, "JGSW05001", method="PATCH")
    during = command(server, "drafter", "submit", {}, "JGSW05001")
    assert during["status"] == "current" and during["draft"]["stage"] == "under_review"
    approved = command(server, "approver", "approve",
                       {"approved_on": str(today - timedelta(days=5))}, "JGSW05001")
    year = approved["draft"] is None and max(e["year"] for e in approved["editions"])
    assert year == (today - timedelta(days=5)).year
    issued = command(server, "publisher", "publish",
                     {"issued_on": str(today - timedelta(days=2)),
                      "effective_on": str(today - timedelta(days=1)), "trial": True},
                     "JGSW05001")
    assert issued["status"] == "trial"
    assert issued["edition"]["number"] == f"JGSW05001—{year}"
    assert issued["edition"]["replaces"] == "JGSW05001—2018"

    r = requests.get(f"{server.url}/standards/JGSW05001/editions", headers=bearer(server, "auditor"))
    old, new = r.json()["items"]
    assert (old["status"], old["status_label"], old["replaced_by"]) == ("superseded", "被代替", new["number"])
    assert new["title"] == "后勤服务管理标准 公务接待工作指南（修订）"


def test_parallel_drafts_in_one_category_get_distinct_numbers(server: Server):
    def draft(i: int) -> requests.Response:
        return requests.post(f"{server.url}/standards", headers=bearer(server, "drafter"),
                             json={"category": "03", "title": f"资产管理标准 并发起草 {i}"}, timeout=60)

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(draft, range(30)))
    assert [r.status_code for r in answers] == [201] * 30, [r.text for r in answers if r.status_code != 201]
    codes = [r.json()["code"] for r in answers]
    assert len(set(codes)) == 30
    assert sorted(codes) == [f"JGSW03{n:03d}" for n in range(1, 31)]
    r = requests.get(f"{server.url}/standards?category=03&limit=500", headers=bearer(server, "auditor"))
    assert sorted(item["code"] for item in r.json()["items"]) == sorted(codes)


def test_parallel_edits_with_one_etag_have_one_winner(server: Server):
    r = requests.post(f"{server.url}/standards", headers=bearer(server, "drafter"),
                      json={"category": "06", "title": "其他管理标准 并发编辑"})
    code, tag = r.json()["code"], r.headers["ETag"]
    barrier = threading.Barrier(20)

    def edit(i: int) -> requests.Response:
        barrier.wait()
        return requests.patch(f"{server.url}/standards/{code}/draft", json={"summary": f"版本 {i}"},
                              headers=bearer(server, "drafter", **{"If-Match": tag}), timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(edit, range(20)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [412] * 19, [(r.status_code, r.text) for r in answers]
    winner = next(r for r in answers if r.status_code == 200).json()
    after = requests.get(f"{server.url}/standards/{code}", headers=bearer(server, "auditor")).json()
    assert after["version"] == 2 and after["draft"]["summary"] == winner["draft"]["summary"]


def test_kill_9_under_load_loses_no_acknowledged_command(server: Server):
    acknowledged: list[str] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = requests.post(f"{server.url}/standards", headers=bearer(server, "drafter"),
                                  json={"category": "04", "title": f"节能 压力 {worker}-{i}"}, timeout=10)
            except requests.RequestException:
                continue  # the server died mid-request: not acknowledged
            if r.status_code == 201:
                acknowledged.append(r.json()["code"])

    threads = [threading.Thread(target=load, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)  # a few hundred drafts; a category holds 999
    server.kill()
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) >= 10, "the load produced too few commands to prove anything"

    server.start()
    found = {item["code"] for item in all_items(server, "/standards?category=04&limit=100")}
    assert set(acknowledged) <= found
    assert len(acknowledged) == len(set(acknowledged))
    health = requests.get(f"{server.url}/health").json()
    assert set(health["projections"].values()) == {health["position"]}


def test_sigterm_lets_a_request_in_flight_finish(server: Server):
    """Send half a request, SIGTERM the server, send the rest: gunicorn must
    finish that request (and record its command) before it exits."""
    import json
    import socket
    from urllib.parse import urlsplit

    body = json.dumps({"category": "02", "title": "机关经费管理标准 关停中起草"}).encode()
    head = (f"POST /api/v1/standards HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Authorization: Bearer {server.tokens['drafter']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head + body[:10])
        time.sleep(0.5)  # a worker has accepted it and waits for the body
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        sock.sendall(body[10:])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    assert server.proc.wait(timeout=40) == 0

    server.start()
    code = json.loads(answer.split(b"\r\n\r\n", 1)[1])["code"]
    r = requests.get(f"{server.url}/standards/{code}", headers=bearer(server, "auditor"))
    assert r.status_code == 200 and r.json()["title"] == "机关经费管理标准 关停中起草"


def test_rebuild_through_the_cli_gives_the_same_catalogue(server: Server):
    before = requests.get(f"{server.url}/standards?limit=500", headers=bearer(server, "auditor")).json()
    result = server.cli("rebuild")
    assert "rebuilt up to log position" in result.stderr
    after = requests.get(f"{server.url}/standards?limit=500", headers=bearer(server, "auditor")).json()
    assert before == after and len(after["items"]) == 9


def test_copies_of_one_request_at_once_record_one_command(server: Server):
    """A client's retries racing each other on different workers."""
    barrier = threading.Barrier(12)

    def send(_: int) -> requests.Response:
        barrier.wait()
        return requests.post(f"{server.url}/standards", timeout=60,
                             json={"category": "06", "title": "其他管理标准 重试竞争"},
                             headers=bearer(server, "drafter", **{"Idempotency-Key": "once-only"}))

    before = requests.get(f"{server.url}/health").json()["position"]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(send, range(12)))
    assert {r.status_code for r in answers} == {201}, [r.text for r in answers]
    assert len({r.json()["code"] for r in answers}) == 1
    assert len({r.headers["ETag"] for r in answers}) == 1
    assert requests.get(f"{server.url}/health").json()["position"] == before + 1
