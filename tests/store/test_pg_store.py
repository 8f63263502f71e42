"""The PostgreSQL datastore's liveness check (projections/pg_store.py):
sessions the server ended are never handed out, and a connection used a
moment ago is taken without a round trip. PostgreSQL only."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import psycopg
import pytest

from api.bootstrap import bootstrap
from lifecycle.config import Settings
from lifecycle.users import Role
from projections import pg_store
from projections.pg_store import CheckedPostgresDatastore
from tests.conftest import SERVER_URL, reset_postgres
from tests.people import add_user


@pytest.fixture
def database(postgres_database: str) -> str:
    reset_postgres(postgres_database)
    return postgres_database


def checked(database: str, pool_size: int) -> CheckedPostgresDatastore:
    url = urlparse(database)
    return CheckedPostgresDatastore(dbname=url.path.lstrip("/"), host=url.hostname or "127.0.0.1",
                                    port=url.port or 5432, user=url.username or "postgres",
                                    password=url.password or "", pool_size=pool_size, max_overflow=0,
                                    pre_ping=True)


@pytest.fixture
def datastore(database: str) -> Iterator[CheckedPostgresDatastore]:
    """One connection, so which one is taken is known."""
    store = checked(database, 1)
    yield store
    store.close()


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each ping's result, in order."""
    seen: list[bool] = []
    real = pg_store.ping

    def counted(conn: psycopg.Connection) -> bool:
        seen.append(real(conn))
        return seen[-1]

    monkeypatch.setattr(pg_store, "ping", counted)
    return seen


def end_sessions(database: str) -> None:
    """What a server restart or an operator does to every session of the database;
    pg_terminate_backend with a timeout returns once each backend has gone."""
    name = urlparse(database).path.lstrip("/")
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        ended = admin.execute("SELECT bool_and(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone()
        assert ended == (True,), ended


def backend(datastore: CheckedPostgresDatastore) -> int:
    with datastore.transaction(commit=False) as c:
        c.execute("SELECT pg_backend_pid() AS pid")
        row = c.fetchone()
        assert row is not None
        return int(row["pid"])


def test_a_connection_used_a_moment_ago_is_taken_without_a_ping(datastore: CheckedPostgresDatastore,
                                                                 pings: list[bool],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_store, "PING_IDLE_SECONDS", 3600.0)
    first = backend(datastore)
    assert pings == [True]  # a connection the datastore has not used yet is pinged
    assert [backend(datastore) for _ in range(5)] == [first] * 5
    assert pings == [True]


def test_a_connection_idle_for_longer_is_pinged(datastore: CheckedPostgresDatastore, pings: list[bool],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_store, "PING_IDLE_SECONDS", 0.0)
    backend(datastore)
    backend(datastore)
    assert pings == [True, True]


def test_sessions_the_server_ended_are_never_handed_out(database: str, pings: list[bool],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_store, "PING_IDLE_SECONDS", 3600.0)  # only the socket tells
    datastore = checked(database, 3)
    try:
        with datastore.transaction(commit=False) as a, datastore.transaction(commit=False) as b, \
                datastore.transaction(commit=False) as c:  # all three connections used
            for cursor in (a, b, c):
                cursor.execute("SELECT 1")
        end_sessions(database)
        for _ in range(3):  # no error: each dead connection is found and dropped
            backend(datastore)
        assert pings.count(False) == 3
    finally:
        datastore.close()


def test_commands_go_on_after_the_server_ended_every_session(database: str, tmp_path) -> None:
    """The whole register: the token lookup, the aggregate's read and the save
    each take a connection; none of them fails after the sessions ended."""
    app = bootstrap(Settings(database_url=database, signing_key=str(tmp_path / "key.pem")))
    try:
        add_user(app, "before", [Role.DRAFTER])
        end_sessions(database)
        token = add_user(app, "after", [Role.DRAFTER])
        assert app.authenticate(token) == ("after", ["drafter"])
    finally:
        app.close()


def test_a_read_on_a_session_ended_before_the_check_could_see_it_is_sent_again(
        database: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's word that a session ended may still be on its way when
    a connection is checked (the race tests/e2e/test_faults.py met under
    load): here the check sees nothing at all. The token's read, and a read
    transaction, are sent again on another connection instead of failing
    the request."""
    app = bootstrap(Settings(database_url=database, signing_key=str(tmp_path / "key.pem")))
    try:
        token = add_user(app, "reader", [Role.AUDITOR])
        assert app.authenticate(token) == ("reader", ["auditor"])
        monkeypatch.setattr(CheckedPostgresDatastore, "alive", lambda self, conn: True)
        end_sessions(database)
        assert app.authenticate(token) == ("reader", ["auditor"])
        # A read transaction of several statements: its BEGIN finds the end, and
        # the transaction opens on another connection.
        end_sessions(database)
        with app.reads.consistent() as reads:
            assert reads.user_by_token_hash("0" * 64) is None
            assert reads.position() > 0
    finally:
        app.close()
