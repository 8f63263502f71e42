"""Fixtures in the style of Flask's flaskr: a fresh store, the application,
the Flask app, its test client, the CLI runner, and users with tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from api import create_app
from lifecycle.application import StandardsApp
from lifecycle.config import Settings
from lifecycle.users import Role


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def service(settings: Settings) -> Iterator[StandardsApp]:
    app = StandardsApp(settings)
    yield app
    app.close()


@pytest.fixture
def app(service: StandardsApp):
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
def tokens(service: StandardsApp) -> dict[str, str]:
    """One user per role (and a second drafter); name -> bearer token."""
    return {name: service.add_user(name, roles) for name, roles in ROLE_USERS.items()}


@pytest.fixture
def auth(tokens: dict[str, str]):
    """auth("approver") -> headers with that user's bearer token."""

    def headers(name: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}", **extra}

    return headers
