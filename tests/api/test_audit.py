"""The audit log: GET /events (the whole log, recorded order, paged by
position) and GET /standards/{code}/events; who may read it; signatures
(21 CFR Part 11 §11.50) and the reasons the seed records."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

import pytest

from lifecycle.seed import SUB_ITEM_CLASH, seed
from projections.chain import GENESIS, link
from projections.rebuild import notifications
from tests.api.helpers import PREFIX, assert_problem

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
FIELDS = {"position", "code", "type", "actor", "recorded_at", "reason", "data", "chain_hash"}


@pytest.fixture
def history(api):
    """The seed, then a standard through the API: drafted with a reason,
    submitted, sent back, submitted, approved, issued, withdrawn; returns its code."""
    assert len(seed(api.service)) == 9
    code = api.draft(category="02", title="机关经费管理标准 审计测试", reason="新立项：审计")
    api.ok(code, "submit", "drafter")
    api.ok(code, "request-changes", "reviewer", {"reason": "请补充适用范围"})
    api.ok(code, "draft", "drafter2", {"summary": "已补充"}, method="PATCH")
    api.ok(code, "submit", "drafter")
    api.ok(code, "approve", "approver", {"approved_on": "2024-03-04", "reason": "会议审议通过"})
    api.publish(code, date(2024, 4, 1), date(2024, 5, 1))
    api.ok(code, "withdraw", "approver", {"withdrawn_on": "2025-01-01", "reason": "已被新规定取代"})
    return code


def get(api, path, role="auditor", **query):
    resp = api.get(path, role=role, query_string=query)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def whole_log(api, limit: int) -> tuple[list[dict], int]:
    """Follow `next` from the start; returns the items and the number of pages."""
    page = get(api, "/events", limit=limit)
    items, pages = list(page["items"]), 1
    while page["next"] is not None:
        assert page["next"].startswith(PREFIX + "/events?")
        assert len(page["items"]) == limit
        resp = api.client.get(page["next"], headers=api.auth("auditor"))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        page = resp.get_json()
        items += page["items"]
        pages += 1
        assert pages < 1000
    return items, pages


def test_paging_through_the_whole_log(api, history):
    end = api.service.recorder.max_notification_id()
    assert 40 < end < 500
    everything = get(api, "/events", limit=500)["items"]
    for limit in (1, 7, 50, 500):
        items, pages = whole_log(api, limit)
        positions = [e["position"] for e in items]
        assert positions == list(range(1, end + 1)), limit
        assert pages == -(-end // limit)
        assert items == everything
    default = get(api, "/events")
    assert default["items"] == everything[:50]
    assert (default["next"] is None) == (end <= 50)


def test_page_boundaries(api, history):
    end = api.position()
    exact = get(api, "/events", limit=end)
    assert len(exact["items"]) == end and exact["next"] is None
    short = get(api, "/events", limit=end - 1)
    assert short["next"] is not None
    rest = api.client.get(short["next"], headers=api.auth("auditor")).get_json()
    assert [e["position"] for e in rest["items"]] == [end] and rest["next"] is None
    middle = get(api, "/events", after=5, limit=3)
    assert [e["position"] for e in middle["items"]] == [6, 7, 8]
    assert get(api, "/events", after=end) == {"items": [], "next": None}
    assert get(api, "/events", after=end + 100) == {"items": [], "next": None}


def test_every_entry_says_what_who_when_why(api, history):
    items, _ = whole_log(api, 500)
    for e in items:
        assert set(e) >= FIELDS, e
        assert isinstance(e["type"], str) and "." in e["type"]
        assert RFC3339_UTC.match(e["recorded_at"]), e["recorded_at"]
        assert isinstance(e["data"], dict)
        assert isinstance(e["actor"], str) and e["actor"]
        assert re.fullmatch(r"[0-9a-f]{64}", e["chain_hash"])
        if e["type"].startswith("standard."):
            assert re.fullmatch(r"JGSW\d{5}", e["code"]), e
        else:
            assert e["code"] is None and e["type"].startswith("user.")
            assert "token_hash" not in e["data"]
    assert len({e["chain_hash"] for e in items}) == len(items)
    ours = [e for e in items if e["code"] == history]
    assert [e["type"] for e in ours] == [
        "standard.drafted", "standard.submitted", "standard.changes_requested",
        "standard.draft_edited", "standard.submitted", "standard.approved",
        "standard.issued", "standard.withdrawn"]
    assert [e["actor"] for e in ours] == ["drafter", "drafter", "reviewer", "drafter2", "drafter",
                                         "approver", "publisher", "approver"]
    assert [e["reason"] for e in ours] == ["新立项：审计", None, "请补充适用范围", None, None,
                                          "会议审议通过", None, "已被新规定取代"]
    assert ours[0]["data"]["fields"]["title"] == "机关经费管理标准 审计测试"
    assert ours[3]["data"]["changes"] == {"summary": "已补充"}
    assert ours[5]["data"]["approved_on"] == "2024-03-04" and ours[5]["data"]["year"] == 2024
    assert ours[6]["data"]["issued_on"] == "2024-04-01" and ours[6]["data"]["effective_on"] == "2024-05-01"
    assert ours[7]["data"]["withdrawn_on"] == "2025-01-01"
    # the recorded times of one standard never go backwards
    assert [e["recorded_at"] for e in ours] == sorted(e["recorded_at"] for e in ours)


def test_the_chain_hashes_are_those_of_the_stored_log(api, history):
    items, _ = whole_log(api, 500)
    previous, expected = GENESIS, {}
    for batch in notifications(api.service):
        for n in batch:
            previous = link(previous, n.id, n.originator_id, n.originator_version, n.topic, n.state)
            expected[n.id] = previous
    assert {e["position"]: e["chain_hash"] for e in items} == expected


def test_an_approval_carries_a_signature_with_its_meaning(api, history):
    events = get(api, f"/standards/{history}/events")["items"]
    approval = next(e for e in events if e["type"] == "standard.approved")
    sig = approval["signature"]
    assert sig["signer"] == "approver" == approval["actor"]
    assert sig["meaning"] == "approval"
    assert RFC3339_UTC.match(sig["signed_at"]) and sig["signed_at"] == approval["recorded_at"]
    issue = next(e for e in events if e["type"] == "standard.issued")
    assert issue["signature"]["signer"] == "publisher" and issue["signature"]["meaning"] != "approval"
    assert "signature" not in next(e for e in events if e["type"] == "standard.drafted")
    seeded = get(api, "/standards/JGSW01004/events")["items"]
    signed = [e for e in seeded if e["type"] == "standard.approved"]
    assert len(signed) == 1
    assert signed[0]["signature"]["meaning"] == "approval"
    assert signed[0]["signature"]["signer"] == "云南省机关事务管理局"


SPELLINGS = ["JGSW01003", "jgsw01003", "Jgsw01003", quote("JGSW 01003"), quote("ＪＧＳＷ０１００３")]


def test_one_standards_events_in_version_order(api, history):
    first = get(api, "/standards/JGSW01003/events")
    for spelling in SPELLINGS:
        assert get(api, f"/standards/{spelling}/events") == first, spelling
    events = first
    assert events["next"] is None
    items = events["items"]
    assert [e["version"] for e in items] == list(range(1, len(items) + 1))
    assert {e["code"] for e in items} == {"JGSW01003"}
    assert [e["type"] for e in items] == ["standard.drafted", "standard.submitted",
                                         "standard.approved", "standard.issued"]
    whole, _ = whole_log(api, 500)
    assert items == [e for e in whole if e["code"] == "JGSW01003"]


def test_each_standard_has_exactly_its_own_events(api, history):
    whole, _ = whole_log(api, 500)
    codes = sorted({e["code"] for e in whole if e["code"]})
    assert len(codes) == 10
    seen = []
    for code in codes:
        items = get(api, f"/standards/{code}/events")["items"]
        assert items == [e for e in whole if e["code"] == code]
        positions = [e["position"] for e in items]
        assert positions == sorted(positions)
        seen += positions
    users = [e["position"] for e in whole if e["code"] is None]
    assert sorted(seen + users) == list(range(1, api.position() + 1))


def test_unknown_standard_is_404(api, history):
    for path in ("/standards/JGSW06099/events", "/standards/JGSW02999/events",
                 "/standards/XYZ/events", "/standards/JGSW01003-2018/events"):
        problem = assert_problem(api.get(path), 404)
        assert problem["instance"] == PREFIX + path


ROLES = [("auditor", 200), ("admin", 200), ("drafter", 403), ("reviewer", 403),
         ("approver", 403), ("publisher", 403), (None, 401)]


def test_who_may_read_the_audit_log(api, history):
    for path in ("/events", "/standards/JGSW01001/events", "/standards/JGSW06099/events"):
        for role, status in ROLES:
            if path.endswith("JGSW06099/events") and status == 200:
                status = 404
            resp = api.get(path, role=role)
            if status == 200:
                assert resp.status_code == 200, (path, role, resp.get_data(as_text=True))
                assert resp.get_json()["items"]
            else:
                assert_problem(resp, status)


def test_a_bad_token_is_401(api, history):
    resp = api.client.get(PREFIX + "/events", headers={"Authorization": "Bearer nope"})
    assert_problem(resp, 401)


def test_forbidden_reads_leave_the_log_alone(api, history):
    end = api.position()
    assert_problem(api.get("/events", role="drafter"), 403)
    assert_problem(api.get("/standards/JGSW06099/events", role="drafter"), 403)
    assert api.position() == end


BAD_PAGING = [
    ("after=-1", "after"), ("after=abc", "after"), ("after=1.5", "after"), ("after=", "after"),
    ("limit=0", "limit"), ("limit=501", "limit"), ("limit=-3", "limit"), ("limit=ten", "limit"),
    ("cursor=5", "cursor"), ("after=1&page=2", "page"),
]


def test_bad_paging_is_422(api, history):
    for query, field in BAD_PAGING:
        resp = api.client.get(f"{PREFIX}/events?{query}", headers=api.auth("auditor"))
        problem = assert_problem(resp, 422)
        assert field in problem.get("errors", {}), (query, problem)


def test_the_seed_records_its_contradictions_as_reasons(api, history):
    def reason(code: str, kind: str) -> str:
        items = get(api, f"/standards/{code}/events")["items"]
        found = [e["reason"] for e in items if e["type"] == kind]
        assert len(found) == 1, (code, kind, items)
        return found[0]

    assert "YNJGSW01003-2018" in reason("JGSW01003", "standard.drafted")
    assert "JGSW/01001-2018" in reason("JGSW01002", "standard.issued")
    assert "JGSW01002-2018" in reason("JGSW01002", "standard.issued")
    assert "01004" in reason("JGSW01004", "standard.approved")
    for code in ("JGSW05001", "JGSW05004"):
        assert reason(code, "standard.drafted") == SUB_ITEM_CLASH
    assert "05004" in SUB_ITEM_CLASH and "绿化" in SUB_ITEM_CLASH
    assert "'-'" in reason("JGSW01001", "standard.issued")
    for code in ("JGSW01001", "JGSW01002", "JGSW01003"):
        issued = [e for e in get(api, f"/standards/{code}/events")["items"] if e["type"] == "standard.issued"][0]
        assert issued["data"] == {"year": 2018, "issued_on": "2018-12-31",
                                  "effective_on": "2019-01-01", "trial": True}
