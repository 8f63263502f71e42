"""Files through a real `lifecycle serve` (gunicorn), on both stores: a 50 MB
upload and its download stream through the worker without sitting whole in
its memory (the worker's peak RSS, VmHWM, is read from /proc), and a chunked
body past the limit is refused as it streams."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import requests

from tests import files as f
from tests.e2e.conftest import Server, add_users, bearer

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


def kilobytes(status: Path, field: str) -> int:
    for line in status.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in {status}")


def worker_of(master: int) -> int:
    """The one worker of a `lifecycle serve --workers 1` (the master's other
    child is the webhook deliverer, `python -m api.cli deliver`)."""
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                and _parent(p) == master and b"deliver" not in _cmdline(p)]
    assert len(children) == 1, children
    return children[0]


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture
def one_worker(tmp_path: Path, settings):
    srv = Server(tmp_path, settings.database_url, workers=1)
    add_users(srv)
    srv.start()
    yield srv
    srv.stop()


def draft(srv: Server) -> tuple[str, str]:
    r = requests.post(f"{srv.url}/standards", json={"category": "05", "title": "大文件"},
                      headers=bearer(srv, "drafter"), timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["code"], r.headers["ETag"]


def test_a_50_mb_upload_and_download_never_sit_whole_in_the_worker(one_worker: Server, tmp_path: Path):
    srv = one_worker
    code, tag = draft(srv)
    # Warm the worker up (imports, pools) with a small file first.
    small = f.pdf_with_text("warm up")
    r = requests.put(f"{srv.url}/standards/{code}/draft/files/small.pdf", data=small, timeout=60,
                     headers=bearer(srv, "drafter", **{"If-Match": tag, "Content-Type": f.PDF}))
    assert r.status_code == 201, r.text
    assert requests.get(f"{srv.url}/standards/{code}/draft/files/small.pdf", timeout=30,
                        headers=bearer(srv, "auditor")).content == small

    big = tmp_path / "big.pdf"
    big.write_bytes(f.pdf_with_text("big file", padding=50 * MB - 4096))
    size = big.stat().st_size
    assert 49 * MB < size <= 50 * MB
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    status = Path(f"/proc/{worker_of(srv.proc.pid)}/status")
    before = kilobytes(status, "VmHWM")

    with big.open("rb") as body:  # requests streams a file from disk, with its Content-Length
        r = requests.put(f"{srv.url}/standards/{code}/draft/files/{'大文件.pdf'}", data=body, timeout=300,
                         headers=bearer(srv, "drafter", **{"If-Match": r.headers["ETag"],
                                                          "Content-Type": f.PDF}))
    assert r.status_code == 201, r.text
    assert r.json()["file"]["sha256"] == digest and r.json()["file"]["size"] == size
    assert r.json()["file"]["text"]["status"] == "extracted"
    grown_by_upload = kilobytes(status, "VmHWM") - before

    got = hashlib.sha256()
    with requests.get(f"{srv.url}/standards/{code}/draft/files/{'大文件.pdf'}", stream=True, timeout=300,
                      headers=bearer(srv, "auditor")) as r:
        assert r.status_code == 200 and r.headers["Content-Length"] == str(size)
        for block in r.iter_content(1 << 16):
            got.update(block)
    assert got.hexdigest() == digest
    grown = kilobytes(status, "VmHWM") - before
    # The bound is 2 x the file; streaming keeps it under one file's size.
    print(f"\nworker peak RSS growth: upload {grown_by_upload / 1024:.1f} MB, "
          f"with download {grown / 1024:.1f} MB, for a {size / MB:.1f} MB file")
    assert grown * 1024 < size, f"the worker's peak RSS grew by {grown} kB for a {size} byte file"


def test_a_chunked_body_past_the_limit_is_refused_as_it_streams(tmp_path: Path, settings):
    srv = Server(tmp_path, settings.database_url, workers=1)
    srv.env["LIFECYCLE_MAX_FILE_MB"] = "2"
    add_users(srv)
    srv.start()
    try:
        code, tag = draft(srv)
        sent = []

        def body():
            for _ in range(64):  # 16 MB offered, 2 MB allowed
                sent.append(1)
                yield b"%PDF" + os.urandom(256 * 1024 - 4)

        try:
            r = requests.put(f"{srv.url}/standards/{code}/draft/files/big.pdf", data=body(), timeout=60,
                             headers=bearer(srv, "drafter", **{"If-Match": tag, "Content-Type": f.PDF}))
            assert r.status_code == 413, r.text
            assert r.headers["Content-Type"] == "application/problem+json"
        except requests.ConnectionError:
            pass  # the server answered and closed while the client was still sending
        assert len(sent) < 64
        after = requests.get(f"{srv.url}/standards/{code}", headers=bearer(srv, "auditor"), timeout=30).json()
        assert after["version"] == 1 and after["draft"]["files"] == []
        r = requests.put(f"{srv.url}/standards/{code}/draft/files/big.pdf", data=b"%PDF" + bytes(3 * MB),
                         timeout=60, headers=bearer(srv, "drafter", **{"If-Match": tag, "Content-Type": f.PDF}))
        assert r.status_code == 413 and "2 MB" in r.json()["detail"]
    finally:
        srv.stop()
