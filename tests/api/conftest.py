"""Fixtures for the API tests."""

from __future__ import annotations

import pytest

from tests.api.helpers import Api


@pytest.fixture
def api(client, auth, service) -> Api:
    return Api(client, auth, service)


@pytest.fixture
def seeded(service):
    from lifecycle.seed import seed

    recorded = seed(service)
    assert len(recorded) == 9
    return recorded

