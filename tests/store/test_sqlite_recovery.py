"""A SQLite store made read-only and then writable again: every command
after that writes, whichever pooled connection it takes
(projections/sqlite_store.py). SQLite only: the fault is SQLite's."""

from __future__ import annotations

import subprocess
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from eventsourcing.persistence import PersistenceError
from eventsourcing.sqlite import SQLiteDatastore

from api.bootstrap import bootstrap
from lifecycle.config import Settings
from lifecycle.users import Role
from projections.sqlite_store import RecoveringSQLiteDatastore
from tests.people import add_user


@contextmanager
def immutable(*paths: Path):
    """chattr +i: refused even to root and through descriptors already open."""
    done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is refused here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


def open_reads(datastore: SQLiteDatastore, how_many: int) -> None:
    """Hold `how_many` read transactions at once, so the pool opens new connections."""
    with ExitStack() as stack:
        for _ in range(how_many):
            c = stack.enter_context(datastore.transaction(commit=False))
            c.execute("SELECT COUNT(*) FROM sqlite_master")
            assert c.fetchone()[0] > 0


def files_of(db: Path) -> list[Path]:
    return [db, Path(f"{db}-wal")]


def test_connections_opened_while_read_only_do_not_outlive_it(tmp_path: Path):
    """The library's own datastore keeps a connection SQLite opened read-only:
    the write after the store is writable again fails. This is the fault the
    register's datastore must not have (next test)."""
    db = tmp_path / "plain.db"
    plain = SQLiteDatastore(str(db), lock_timeout=5)
    try:
        with plain.transaction(commit=True) as c:
            c.execute("CREATE TABLE t (x INTEGER)")
            c.execute("INSERT INTO t VALUES (1)")
        with immutable(*files_of(db)):
            open_reads(plain, 3)
        failures = 0
        for i in range(4):
            try:
                with plain.transaction(commit=True) as c:
                    c.execute("INSERT INTO t VALUES (?)", (i,))
            except PersistenceError as e:
                assert "readonly" in str(e), e
                failures += 1
        assert failures, "SQLite no longer keeps read-only connections: this module's premise changed"
    finally:
        plain.close()


def test_every_command_writes_once_the_store_is_writable_again(tmp_path: Path, signing_key: Path):
    db = tmp_path / "store.db"
    register = bootstrap(Settings(database_url=f"sqlite:///{db}", signing_key=str(signing_key)))
    try:
        datastore = register.recorder.datastore
        assert isinstance(datastore, RecoveringSQLiteDatastore)
        add_user(register, "before", [Role.DRAFTER])
        with immutable(*files_of(db)):
            with pytest.raises(PersistenceError) as refused:
                add_user(register, "during", [Role.DRAFTER])
            assert any(word in str(refused.value) for word in ("readonly", "disk I/O")), refused.value
            # Reads go on, and they open connections that SQLite can only open read-only.
            open_reads(datastore, datastore.pool.pool_size + 2)
            assert register.reads.user_by_token_hash("0" * 64) is None
        # Every command from now on: none may take a connection that is still read-only.
        for i in range(datastore.pool.pool_size + 3):
            add_user(register, f"after{i}", [Role.DRAFTER])
            open_reads(datastore, 2)
        names = {row[0] for row in _user_names(datastore)}
        assert {"before", *(f"after{i}" for i in range(datastore.pool.pool_size + 3))} <= names
        assert "during" not in names
    finally:
        register.close()


def _user_names(datastore: SQLiteDatastore) -> list[tuple[str]]:
    with datastore.transaction(commit=False) as c:
        c.execute("SELECT name FROM users")
        return [tuple(r) for r in c.fetchall()]
