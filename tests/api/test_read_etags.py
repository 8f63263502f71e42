"""The catalogue's ETag (issue 15): built from the log position, the day the
answer is about and the query, so that If-None-Match answers 304 without
building the page, and never 304 when the answer would differ: after any
event, at midnight (a status changes without an event), for another query."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lifecycle.config import Settings
from tests.api.helpers import PREFIX


def read(api, query: str = "", etag: str | None = None, role: str = "auditor"):
    headers = api.auth(role)
    if etag is not None:
        headers["If-None-Match"] = etag
    return api.client.get(f"{PREFIX}/standards{query}", headers=headers)


def test_the_same_catalogue_again_is_304_with_no_body(api, seeded):
    first = read(api)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and etag.endswith('"')
    again = read(api, etag=etag)
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert read(api, etag=f"W/{etag}").status_code == 304  # If-None-Match compares weakly
    assert read(api, etag=f'"other", {etag}').status_code == 304
    assert read(api, etag="*").status_code == 304
    assert read(api, etag='"other"').status_code == 200
    # the ETag does not depend on who asks: the catalogue is the same for every role
    assert read(api, etag=etag, role="drafter").status_code == 304


def test_any_event_changes_the_etag(api, seeded):
    etag = read(api).headers["ETag"]
    api.draft(title="后勤服务管理标准 缓存测试")
    after = read(api, etag=etag)
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    assert "后勤服务管理标准 缓存测试" in after.get_data(as_text=True)


def test_another_query_or_day_has_another_etag(api, seeded):
    tags = {read(api, q).headers["ETag"] for q in
            ("", "?category=01", "?limit=2", "?as_of=2018-06-01", "?as_of=2019-06-01")}
    assert len(tags) == 5
    etag = read(api, "?category=01").headers["ETag"]
    assert read(api, "?category=05", etag=etag).status_code == 200


def test_midnight_changes_the_etag_and_the_status(api, seeded, monkeypatch):
    """An edition that takes effect tomorrow: today's answer says issued (not yet in force),
    tomorrow's says in force, with no event between them."""
    today = api.today
    code, _ = api.issued(issued_on=today, effective_on=today + timedelta(days=1))
    first = read(api)
    assert status_of(first, code) == "issued"
    tomorrow = today + timedelta(days=1)
    monkeypatch.setattr(Settings, "today", lambda self: tomorrow)
    later = read(api, etag=first.headers["ETag"])
    assert later.status_code == 200, "a status changed at midnight: the ETag must too"
    assert status_of(later, code) == "current"


def status_of(resp, code: str) -> str:
    return next(row["status"] for row in resp.get_json()["items"] if row["code"] == code)


@pytest.mark.parametrize("query", ["?as_of=2019-06-01", "?known_at=2020-01-01T00:00:00Z"])
def test_a_past_day_is_still_an_etag_of_the_log_position(api, seeded, query):
    etag = read(api, query).headers["ETag"]
    assert read(api, query, etag=etag).status_code == 304
    api.draft(title="后勤服务管理标准 另一份")
    assert read(api, query, etag=etag).status_code == 200


def test_the_304_does_not_build_the_page(api, seeded, monkeypatch):
    import api.standards as routes

    etag = read(api).headers["ETag"]

    def refuse(*args, **kwargs):
        raise AssertionError("a 304 built the page")
    monkeypatch.setattr(routes, "catalogue_items", refuse)
    assert read(api, etag=etag).status_code == 304


def test_the_document_declares_the_etag_the_304_and_keeps_the_filters(client):
    op = client.get(f"{PREFIX}/openapi.json").get_json()["paths"][f"{PREFIX}/standards"]["get"]
    names = {p["name"] for p in op["parameters"] if "name" in p}
    assert {"If-None-Match", "category", "as_of", "known_at", "after", "limit"} <= names
    assert "304" in op["responses"] and "ETag" in op["responses"]["200"]["headers"]


def test_the_page_is_written_as_the_other_answers_are(api, seeded):
    """The catalogue page is encoded by orjson (speed): its bytes are those
    json.dumps gives with ensure_ascii=False, Chinese as sent, no spaces."""
    import json

    for query in ("", "?as_of=2019-06-01", "?limit=3"):
        body = read(api, query).get_data(as_text=True)
        parsed = json.loads(body)
        assert parsed["items"] and all(not item["title"].isascii() for item in parsed["items"])
        assert body == json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
