"""A real `lifecycle serve` (gunicorn) on a temporary SQLite file, driven over
HTTP, and the real `lifecycle` command."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from lifecycle.config import Settings
from lifecycle.users import Role

pytestmark = pytest.mark.e2e


def lifecycle_command() -> str:
    beside = Path(sys.executable).parent / "lifecycle"
    found = str(beside) if beside.exists() else shutil.which("lifecycle")
    assert found, "the lifecycle command is not installed (pip install -e .)"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, workdir: Path, database_url: str, workers: int = 3) -> None:
        self.workdir = workdir
        self.env = {**os.environ, "LIFECYCLE_DATABASE_URL": database_url}
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([lifecycle_command(), *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:  # say why, not just that it failed
            raise AssertionError(f"lifecycle {' '.join(args)} exited {done.returncode}:\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/api/v1"
        self.log = open(self.workdir / f"serve-{port}.log", "w")
        self.proc = subprocess.Popen(
            [lifecycle_command(), "serve", "--bind", f"127.0.0.1:{port}",
             "--workers", str(self.workers)],
            cwd=self.workdir, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill -9 takes every worker
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.workdir / f"serve-{port}.log").read_text()
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy under load
                time.sleep(0.1)
        raise AssertionError("lifecycle serve did not answer within 30 s")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: a crash."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM: gunicorn drains requests in flight, then exits."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise


def store_url(request: pytest.FixtureRequest, workdir: Path) -> str:
    """A module's own empty store of the parametrised kind: a file in
    `workdir`, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{workdir / 'store.db'}"
    from tests.conftest import reset_postgres

    url = request.getfixturevalue("postgres_database")
    reset_postgres(url)
    return str(url)


USERS = [("drafter", "drafter"), ("drafter2", "drafter"), ("approver", "approver"),
         ("publisher", "publisher"), ("auditor", "auditor")]


def add_users(srv: Server, seed: bool = False) -> None:
    """The users every end-to-end test drives with (and the seed, if asked),
    recorded in this process through the register the CLI opens, as
    `lifecycle seed` and `lifecycle user add` record them: six CLI processes
    would cost each test seconds of imports (tests/api/test_cli.py runs the
    commands themselves)."""
    from api.bootstrap import bootstrap
    from lifecycle.seed import seed as record_seed
    from tests.people import add_user

    register = bootstrap(Settings.from_env(srv.env))
    try:
        if seed:
            record_seed(register)
        srv.tokens = {name: add_user(register, name, [Role(role)]) for name, role in USERS}
    finally:
        register.close()


@pytest.fixture
def server(tmp_path: Path, settings):
    """A seeded store with users, served by a real `lifecycle serve`, on each store."""
    srv = Server(tmp_path, settings.database_url)
    add_users(srv, seed=True)
    srv.start()
    yield srv
    srv.stop()


def bearer(srv: Server, name: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {srv.tokens[name]}", **extra}
