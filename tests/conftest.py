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
    """Every test starts from an empty store."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


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
    url = request.getfixturevalue("postgres_database")
    reset_postgres(url)
    return Settings(database_url=url, signing_key=str(signing_key))


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
