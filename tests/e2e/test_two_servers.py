"""Two `lifecycle serve` hosts on one PostgreSQL database, driven at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import reset_postgres
from tests.e2e.conftest import Server, add_users, bearer

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_servers(tmp_path, postgres_database):
    reset_postgres(postgres_database)
    a = Server(tmp_path, postgres_database, workers=2)
    b = Server(tmp_path, postgres_database, workers=2)
    # Both masters start together on an empty database: schema creation must not race.
    starters = [threading.Thread(target=s.start) for s in (a, b)]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    assert a.proc.poll() is None and b.proc.poll() is None
    add_users(a)
    b.tokens = a.tokens
    yield a, b
    for s in (a, b):
        s.stop()


def test_two_servers_share_one_store(two_servers, capsys):
    a, b = two_servers
    started = time.monotonic()

    # Drafts in one category through both servers at once: no number twice.
    def draft(i: int) -> requests.Response:
        srv = (a, b)[i % 2]
        return requests.post(f"{srv.url}/standards", headers=bearer(srv, "drafter"),
                             json={"category": "02", "title": f"机关经费 双机起草 {i}"}, timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        drafts = list(pool.map(draft, range(40)))
    assert [r.status_code for r in drafts] == [201] * 40, [r.text for r in drafts if r.status_code != 201]
    codes = [r.json()["code"] for r in drafts]
    assert sorted(codes) == [f"JGSW02{n:03d}" for n in range(1, 41)]

    # Edits of one standard through both, all with the same ETag: one winner per version.
    code, tag = codes[0], drafts[0].headers["ETag"]
    winners = []
    for round_ in range(3):
        barrier = threading.Barrier(10)

        def edit(i: int, tag=tag) -> requests.Response:
            srv = (a, b)[i % 2]
            barrier.wait()
            return requests.patch(f"{srv.url}/standards/{code}/draft",
                                  json={"summary": f"第 {round_} 轮 {i}"}, timeout=60,
                                  headers=bearer(srv, "drafter", **{"If-Match": tag}))

        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(edit, range(10)))
        assert sorted(r.status_code for r in answers) == [200] + [412] * 9
        winner = next(r for r in answers if r.status_code == 200)
        winners.append(winner.json()["version"])
        tag = winner.headers["ETag"]
    assert winners == [2, 3, 4]

    # A write through one server is seen at once through the other.
    for i in range(10):
        writer, reader = (a, b) if i % 2 else (b, a)
        r = requests.post(f"{writer.url}/standards", headers=bearer(writer, "drafter"),
                          json={"category": "06", "title": f"其他 即时可见 {i}"}, timeout=30)
        new = r.json()["code"]
        seen = requests.get(f"{reader.url}/standards/{new}", headers=bearer(reader, "auditor"), timeout=30)
        assert seen.status_code == 200 and seen.json()["title"] == f"其他 即时可见 {i}"
    elapsed = time.monotonic() - started

    # The log verifies, and a rebuild gives the same projections.
    head = a.cli("verify").stdout.strip()
    assert len(head) == 64
    before = requests.get(f"{a.url}/standards?limit=500", headers=bearer(a, "auditor")).json()
    a.cli("rebuild")
    after = requests.get(f"{b.url}/standards?limit=500", headers=bearer(b, "auditor")).json()
    assert before == after and len(after["items"]) == 50
    health = requests.get(f"{b.url}/health").json()
    assert health["store"] == "postgresql"
    with capsys.disabled():
        print(f"\n[two servers] 40 drafts, 3x10 racing edits, 10 cross reads in {elapsed:.2f} s; "
              f"log position {health['position']}, head {head[:16]}…")
