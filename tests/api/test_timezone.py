"""'Today' is the calendar day of the configured zone, never the machine's or UTC's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api import create_app
from api.bootstrap import bootstrap
from lifecycle.config import Settings
from lifecycle.users import Role
from tests.api.helpers import PREFIX, assert_problem
from tests.people import add_user


@pytest.fixture(params=["Pacific/Kiritimati", "Etc/GMT+12", "Asia/Shanghai"])
def zoned(request, tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'tz.db'}", timezone=request.param)
    service = bootstrap(settings)
    app = create_app(service=service)
    app.config.update(TESTING=True)
    users = {
        "drafter": add_user(service, "d", [Role.DRAFTER]),
        "approver": add_user(service, "a", [Role.APPROVER]),
        "publisher": add_user(service, "p", [Role.PUBLISHER]),
    }
    yield app.test_client(), service, {k: {"Authorization": f"Bearer {v}"} for k, v in users.items()}
    service.close()


def _post(client, url, headers, body, etag):
    return client.post(PREFIX + url, json=body, headers={**headers, "If-Match": etag})


def test_today_is_the_zone_calendar_day(zoned):
    client, service, h = zoned
    zone_today = datetime.now(ZoneInfo(service.settings.timezone)).date()
    assert service.today() == zone_today
    resp = client.post(PREFIX + "/standards", json={"category": "05", "title": "时区"}, headers=h["drafter"])
    code, etag = resp.get_json()["code"], resp.headers["ETag"]
    etag = _post(client, f"/standards/{code}/submit", h["drafter"], {}, etag).headers["ETag"]
    tomorrow = (zone_today + timedelta(days=1)).isoformat()
    before = service.recorder.max_notification_id()
    assert_problem(_post(client, f"/standards/{code}/approve", h["approver"],
                         {"approved_on": tomorrow}, etag), 422)
    assert service.recorder.max_notification_id() == before
    resp = _post(client, f"/standards/{code}/approve", h["approver"], {}, etag)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    ed = client.get(PREFIX + f"/standards/{code}/editions", headers=h["drafter"]).get_json()["items"][0]
    assert ed["approved_on"] == zone_today.isoformat()
    # issued and effective today in the zone: in force today, whatever UTC says
    resp = _post(client, f"/standards/{code}/publish", h["publisher"],
                 {"issued_on": zone_today.isoformat(), "effective_on": zone_today.isoformat()},
                 resp.headers["ETag"])
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "current"
    rows = client.get(PREFIX + "/standards?status=current", headers=h["drafter"]).get_json()["items"]
    assert [r["code"] for r in rows] == [code]
    # effective tomorrow in the zone: issued, not yet in force
    utc_today = datetime.now(UTC).date()
    assert utc_today - zone_today in (timedelta(0), timedelta(1), timedelta(-1))
