"""Fixtures in the style of Flask's flaskr: a fresh store, the application,
the Flask app, its test client, the CLI runner, and users with tokens."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from click.testing import CliRunner

from api import create_app
from api.bootstrap import bootstrap
from lifecycle.config import Settings
from lifecycle.users import Role
from projections.register import Register
from tests.people import add_user

STORES = ("sqlite", "postgresql")
SERVER_URL = os.environ.get("LIFECYCLE_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
REQUIRE_POSTGRES = os.environ.get("LIFECYCLE_REQUIRE_POSTGRES") == "1"


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for this test run, dropped at the end. Without a
    reachable server the PostgreSQL tests skip, or fail when
    LIFECYCLE_REQUIRE_POSTGRES=1 (CI)."""
    try:
        admin = psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        message = f"no PostgreSQL server at {SERVER_URL} (set LIFECYCLE_TEST_POSTGRES_URL): {e}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    name = f"lifecycle_test_{os.getpid()}_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _with_database(SERVER_URL, name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset_postgres(url: str) -> None:
    """An empty schema: no tables at all."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


# What the schema holds: tables and their columns, indexes, constraints,
# sequences, views, triggers and functions, as one hash.
SHAPE = """SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (
    SELECT 'c:' || table_name || '.' || column_name || ':' || data_type || ':' || is_nullable || ':'
           || coalesce(column_default, '') AS x
      FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT 'i:' || indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT 'k:' || conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT 'r:' || relname || ':' || relkind::text FROM pg_class WHERE relnamespace = 'public'::regnamespace
    UNION ALL SELECT 't:' || tgname FROM pg_trigger
      WHERE tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace) AND NOT tgisinternal
    UNION ALL SELECT 'f:' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace) shape"""
_MADE_BY_BOOTSTRAP: dict[str, str] = {}  # database url -> the shape bootstrap gave it, in this process


def _empty_tables(conn: psycopg.Connection) -> None:
    with conn.transaction():
        for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
            conn.execute(f'DELETE FROM "{table}"')
        for (sequence,) in conn.execute("SELECT sequencename FROM pg_sequences "
                                        "WHERE schemaname = 'public'").fetchall():
            conn.execute(f'ALTER SEQUENCE "{sequence}" RESTART')


def empty_postgres_store(settings: Settings) -> None:
    """Every test starts from an empty store: the tables bootstrap makes,
    holding no rows, numbering from 1. Emptying them takes a twentieth of
    the time of making them again (CI runs a thousand such tests); a test
    that changed their shape (a table dropped, another made) leaves a schema
    that is made again from nothing."""
    url = settings.database_url
    with psycopg.connect(url, autocommit=True) as conn:
        if _MADE_BY_BOOTSTRAP.get(url) == conn.execute(SHAPE).fetchone()[0]:
            _empty_tables(conn)
            return
    reset_postgres(url)
    bootstrap(settings).close()
    with psycopg.connect(url, autocommit=True) as conn:
        _MADE_BY_BOOTSTRAP[url] = conn.execute(SHAPE).fetchone()[0]
        _empty_tables(conn)


@pytest.fixture(params=STORES)
def store(request) -> str:
    """The kind of store under test: every test that uses a store runs on both."""
    return request.param


@pytest.fixture(autouse=True)
def signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test signs with a key of its own (made on first use), never the checkout's var/."""
    path = tmp_path / "signing-key.pem"
    monkeypatch.setenv("LIFECYCLE_SIGNING_KEY", str(path))
    return path


@pytest.fixture
def settings(store: str, tmp_path: Path, request, signing_key: Path) -> Settings:
    if store == "sqlite":
        return Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}", signing_key=str(signing_key))
    settings = Settings(database_url=request.getfixturevalue("postgres_database"), signing_key=str(signing_key))
    empty_postgres_store(settings)
    return settings


@pytest.fixture
def service(settings: Settings) -> Iterator[Register]:
    app = bootstrap(settings)
    yield app
    app.close()


@pytest.fixture
def app(service: Register):
    flask_app = create_app(service=service)
    flask_app.config.update(TESTING=True)
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LIFECYCLE_DATABASE_URL", settings.database_url)
    return CliRunner()


ROLE_USERS = {
    "drafter": [Role.DRAFTER],
    "drafter2": [Role.DRAFTER],
    "reviewer": [Role.REVIEWER],
    "approver": [Role.APPROVER],
    "publisher": [Role.PUBLISHER],
    "auditor": [Role.AUDITOR],
    "admin": [Role.ADMIN],
}


@pytest.fixture
def tokens(service: Register) -> dict[str, str]:
    """One user per role (and a second drafter); name -> bearer token."""
    return {name: add_user(service, name, roles) for name, roles in ROLE_USERS.items()}


@pytest.fixture
def auth(tokens: dict[str, str]):
    """auth("approver") -> headers with that user's bearer token."""

    def headers(name: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}", **extra}

    return headers
