"""Both clocks through the API: `as_of` (valid time: what was in force on a
day) and `known_at` (record time: what the register said at a moment),
alone and together, on /standards, /standards/{code} and its editions."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from lifecycle.seed import seed
from tests.api.helpers import PREFIX, assert_problem

SEED_CODES = ["JGSW01001", "JGSW01002", "JGSW01003", "JGSW01004",
              "JGSW05000", "JGSW05001", "JGSW05002", "JGSW05003", "JGSW05004"]
TRIAL = ["JGSW01001", "JGSW01002", "JGSW01003"]


def stamp() -> str:
    """An RFC 3339 moment strictly between what was recorded before and after."""
    time.sleep(0.003)
    moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(0.003)
    return moment


@pytest.fixture
def before_seed(api) -> str:
    """The seed loaded today; returns a moment just before it was loaded."""
    moment = stamp()
    assert len(seed(api.service)) == 9
    return moment


def body(resp, status: int = 200):
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.get_json()


def catalogue(api, **query) -> dict[str, dict]:
    page = body(api.get("/standards", query_string={"limit": 500, **query}))
    assert page["next"] is None
    return {row["code"]: row for row in page["items"]}


def one(api, code: str, **query) -> dict:
    return body(api.get(f"/standards/{code}", query_string=query))


def editions(api, code: str, **query) -> dict[int, dict]:
    page = body(api.get(f"/standards/{code}/editions", query_string=query))
    return {e["year"]: e for e in page["items"]}


# ------------------------------------------------------------------ the 2018 catalogue
def test_the_2018_catalogue_is_in_force_in_2019(api, before_seed):
    rows = catalogue(api, as_of="2019-06-01")
    assert sorted(rows) == SEED_CODES
    for code, row in rows.items():
        if code in TRIAL:
            assert (row["status"], row["status_label"]) == ("trial", "试行"), row
            assert row["edition"]["number"] == f"{code}—2018"
            assert row["edition"]["status"] == "trial"
        else:
            assert (row["status"], row["status_label"]) == ("approved", "已批准"), row
            assert row["edition"] is None
    std = one(api, "JGSW01001", as_of="2019-06-01")
    assert std["status"] == "trial" and std["editions"][0]["status"] == "trial"


def test_nothing_was_known_before_the_seed_was_loaded(api, before_seed):
    assert catalogue(api, known_at=before_seed) == {}
    assert catalogue(api, known_at=before_seed, as_of="2019-06-01") == {}
    problem = assert_problem(api.get("/standards/JGSW01001", query_string={"known_at": before_seed}), 404)
    assert "JGSW01001" in problem["detail"]
    assert_problem(api.get("/standards/JGSW01001", query_string={
        "known_at": before_seed, "as_of": "2019-06-01"}), 404)
    assert_problem(api.get("/standards/JGSW01001/editions", query_string={"known_at": before_seed}), 404)
    assert_problem(api.get("/standards/JGSW01001/editions/2018", query_string={"known_at": before_seed}), 404)
    # and everything is known a moment after it
    after = stamp()
    assert sorted(catalogue(api, known_at=after, as_of="2019-06-01")) == SEED_CODES
    assert one(api, "JGSW01001", known_at=after, as_of="2019-06-01")["status"] == "trial"


def test_before_it_took_effect_the_2018_catalogue_was_never_in_force(api, before_seed):
    # approved and issued 2018-12-31, effective 2019-01-01: on 2018-12-31 it is
    # issued (即将实施), the never-issued ones approved; none in force.
    rows = catalogue(api, as_of="2018-12-31")
    assert sorted(rows) == SEED_CODES
    for code, row in rows.items():
        assert row["status"] == ("issued" if code in TRIAL else "approved"), row
    std = one(api, "JGSW01001", as_of="2018-12-31")
    assert std["status"] == "issued" and std["status_label"] == "即将实施"
    assert std["edition"]["status"] == "issued"
    assert std["status"] not in ("trial", "current")
    assert one(api, "JGSW01004", as_of="2018-12-31")["status"] == "approved"
    # the day before it was approved the standard did not exist in valid time
    assert catalogue(api, as_of="2018-12-30") == {}
    assert_problem(api.get("/standards/JGSW01001", query_string={"as_of": "2018-12-30"}), 404)
    assert one(api, "JGSW01001", as_of="2019-01-01")["status"] == "trial"


# ------------------------------------------------------------------ a revision, both clocks
@pytest.fixture
def revised_05001(api, before_seed):
    """JGSW05001—2018 issued 2019-03-01 (effective 2019-04-01), revised:
    JGSW05001—2021 approved 2021-05-10, issued 2021-06-01, effective 2021-07-01."""
    code = "JGSW05001"
    api.publish(code, date(2019, 3, 1), date(2019, 4, 1))
    moments = {"issued_2018": stamp()}
    api.ok(code, "revisions", "drafter", {"reason": "修订：内容更新"})
    api.ok(code, "submit", "drafter")
    api.ok(code, "approve", "approver", {"approved_on": "2021-05-10"})
    moments["approved_2021"] = stamp()
    api.publish(code, date(2021, 6, 1), date(2021, 7, 1))
    moments["issued_2021"] = stamp()
    return moments


AROUND_THE_REVISION = [
    # day, status of the standard, year of the edition it speaks of, statuses of editions
    ("2019-02-28", "approved", None, {2018: "approved"}),
    ("2019-03-01", "issued", 2018, {2018: "issued"}),
    ("2019-03-31", "issued", 2018, {2018: "issued"}),
    ("2019-04-01", "current", 2018, {2018: "current"}),
    ("2021-05-31", "current", 2018, {2018: "current"}),
    ("2021-06-01", "current", 2018, {2018: "current", 2021: "issued"}),
    ("2021-06-30", "current", 2018, {2018: "current", 2021: "issued"}),
    ("2021-07-01", "current", 2021, {2018: "superseded", 2021: "current"}),
    ("2030-01-01", "current", 2021, {2018: "superseded", 2021: "current"}),
]


def test_as_of_around_every_date_of_a_revision(api, revised_05001):
    for day, status, year, statuses in AROUND_THE_REVISION:
        std = one(api, "JGSW05001", as_of=day)
        assert std["status"] == status, day
        assert (std["edition"]["year"] if std["edition"] else None) == year, day
        assert catalogue(api, as_of=day)["JGSW05001"]["status"] == status, day
        eds = editions(api, "JGSW05001", as_of=day)
        # An edition exists from its approval day (2021's: 2021-05-10).
        assert sorted(eds) == ([2018, 2021] if day >= "2021-05-10" else [2018]), day
        for y, s in statuses.items():
            assert eds[y]["status"] == s, (day, y, eds[y])
            brief = {e["year"]: e for e in std["editions"]}[y]
            assert brief["status"] == s, (day, y)
        # 2021 replaces 2018 from the day it takes effect (issue 10, finding 16);
        # once issued and until then, the link shows as pending.
        if day >= "2021-07-01":
            assert eds[2021]["replaces"] == "JGSW05001—2018", day
            assert (eds[2018]["replaced_by"], eds[2018]["superseded_on"]) == ("JGSW05001—2021", "2021-07-01")
        else:
            assert eds[2018]["replaced_by"] is None and eds[2018]["superseded_on"] is None, day
            assert 2021 not in eds or eds[2021]["replaces"] is None, day
            pending = "JGSW05001—2021" if day >= "2021-06-01" else None
            assert eds[2018]["will_be_replaced_by"] == pending, day
            assert 2021 not in eds or eds[2021]["will_replace"] == (
                "JGSW05001—2018" if pending else None), day


def test_known_at_between_approval_and_issue_shows_the_revision_approved(api, revised_05001):
    t = revised_05001["approved_2021"]
    for day in ("2021-06-15", "2021-07-01", None):
        query = {"known_at": t, **({"as_of": day} if day else {})}
        std = one(api, "JGSW05001", **query)
        assert std["status"] == "current" and std["edition"]["year"] == 2018, (day, std)
        assert std["stage"] == "revision_approved" and std["draft"] is None
        eds = editions(api, "JGSW05001", **query)
        assert eds[2021]["status"] == "approved"
        assert eds[2021]["issued_on"] is None and eds[2021]["effective_on"] is None
        assert eds[2021]["approved_on"] == "2021-05-10"
        assert eds[2018]["status"] == "current" and eds[2018]["replaced_by"] is None
        assert catalogue(api, **query)["JGSW05001"]["edition"]["year"] == 2018
    # after the issue was recorded, the same day answers differently
    after = one(api, "JGSW05001", known_at=revised_05001["issued_2021"], as_of="2021-07-01")
    assert after["edition"]["year"] == 2021 and after["stage"] == "issued"
    # before the revision was opened, there was one edition only
    before = one(api, "JGSW05001", known_at=revised_05001["issued_2018"])
    assert [e["year"] for e in before["editions"]] == [2018] and before["draft"] is None
    assert before["version"] < one(api, "JGSW05001", known_at=t)["version"] < one(api, "JGSW05001")["version"]


def test_as_of_on_one_edition(api, revised_05001):
    def edition(year, **query):
        return body(api.get(f"/standards/jgsw05001/editions/{year}", query_string=query))

    assert edition(2018, as_of="2019-03-15")["status"] == "issued"
    assert edition(2018, as_of="2021-06-30")["status"] == "current"
    old = edition(2018, as_of="2021-07-01")
    assert old["status"] == "superseded" and old["replaced_by"] == "JGSW05001—2021"
    assert edition(2021, as_of="2021-06-01")["status"] == "issued"
    assert edition(2021, as_of="2021-07-01")["status"] == "current"
    assert edition(2021, as_of="2021-07-01", known_at=revised_05001["approved_2021"])["status"] == "approved"
    assert_problem(api.get("/standards/JGSW05001/editions/2021",
                           query_string={"known_at": revised_05001["issued_2018"]}), 404)
    assert_problem(api.get("/standards/JGSW05001/editions/2018",
                           query_string={"as_of": "2018-12-30"}), 404)
    assert_problem(api.get("/standards/JGSW05001/editions/2018", query_string={"as_of": "someday"}), 422)
    assert_problem(api.get("/standards/JGSW05001/editions/2018", query_string={"when": "now"}), 422)


def test_a_revision_in_the_future(api, before_seed):
    code, today = "JGSW05002", api.today
    api.publish(code, date(2019, 1, 1), date(2019, 1, 1))
    api.ok(code, "revisions", "drafter", {"reason": "修订"})
    api.ok(code, "submit", "drafter")
    api.ok(code, "approve", "approver", {})
    approved = stamp()
    issue, effective = today + timedelta(days=10), today + timedelta(days=20)
    api.publish(code, issue, effective)
    year = today.year

    def check(day: date | None, status: str, shown: int, statuses: dict[int, str], **extra):
        query = {**({"as_of": day.isoformat()} if day else {}), **extra}
        std = one(api, code, **query)
        assert (std["status"], std["edition"]["year"]) == (status, shown), (day, extra, std)
        eds = editions(api, code, **query)
        assert {y: e["status"] for y, e in eds.items()} == statuses, (day, extra)

    check(None, "current", 2018, {2018: "current", year: "approved"})
    check(today, "current", 2018, {2018: "current", year: "approved"})
    check(issue - timedelta(days=1), "current", 2018, {2018: "current", year: "approved"})
    check(issue, "current", 2018, {2018: "current", year: "issued"})
    check(effective - timedelta(days=1), "current", 2018, {2018: "current", year: "issued"})
    check(effective, "current", year, {2018: "superseded", year: "current"})
    # what the register said before the issue was recorded: nothing to replace it
    check(effective, "current", 2018, {2018: "current", year: "approved"}, known_at=approved)
    assert catalogue(api)[code]["edition"]["year"] == 2018
    assert catalogue(api, as_of=effective.isoformat())[code]["edition"]["year"] == year


# ------------------------------------------------------------------ validation
CLOCK_PATHS = ["/standards", "/standards/JGSW01001", "/standards/JGSW01001/editions",
               "/standards/JGSW01001/editions/2018"]
INVALID = [
    ({"known_at": "2024-01-01T00:00:00"}, "known_at"),   # no offset
    ({"known_at": "2024-01-01"}, "known_at"),
    ({"known_at": "yesterday"}, "known_at"),
    ({"known_at": "2024-13-01T00:00:00Z"}, "known_at"),
    ({"as_of": "2019-02-30"}, "as_of"),
    ({"as_of": "junk"}, "as_of"),
    ({"as_of": "2019-06-01T00:00:00Z"}, "as_of"),
    ({"asof": "2019-06-01"}, "asof"),                   # unknown parameters
    ({"known": "2024-01-01T00:00:00Z"}, "known"),
]


def test_invalid_clocks_and_unknown_parameters_are_422(api, before_seed):
    for path in CLOCK_PATHS:
        for query, field in INVALID:
            problem = assert_problem(api.get(path, query_string=query), 422)
            assert field in problem["detail"], (path, query, problem)
            assert field in problem.get("errors", {}), (path, query, problem)


def test_known_at_takes_any_offset(api, before_seed):
    after = datetime.now(UTC) + timedelta(seconds=1)
    for text in (after.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 after.astimezone(timezone(timedelta(hours=8))).isoformat(),
                 after.astimezone(timezone(timedelta(hours=-5))).isoformat()):
        assert sorted(catalogue(api, known_at=text)) == SEED_CODES, text
    # a moment given in +08:00 that is before the seed in UTC sees nothing
    before = datetime.strptime(before_seed, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    shifted = before.astimezone(timezone(timedelta(hours=8))).isoformat()
    assert catalogue(api, known_at=shifted) == {}
    resp = api.client.get(f"{PREFIX}/standards?known_at={quote(shifted)}", headers=api.auth("auditor"))
    assert body(resp)["items"] == []
