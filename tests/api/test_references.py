"""Issue 12 through the API, on both stores: references on drafts, their
resolution as of a day, what cites a standard, and the periodic review due
list (seed case included)."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from tests.api.helpers import assert_problem, days


def refused(api, resp, *words: str) -> dict:
    body = assert_problem(resp, 422)
    assert "references" in body["errors"] or "review_years" in body["errors"], body
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    return body


# ------------------------------------------------------------------ on drafts
def test_a_draft_keeps_its_references_internal_ones_canonical(api, seeded):
    code = api.draft(references=["jgsw01001-2018", "JGSW/01002", "GB/T 19001—2016", "ISO 9001:2015",
                                 "资产管理标准 要求"])
    draft = api.get(f"/standards/{code}").get_json()["draft"]
    assert draft["references"] == ["JGSW01001—2018", "JGSW01002", "GB/T 19001—2016", "ISO 9001:2015",
                                   "资产管理标准 要求"]


@pytest.mark.parametrize(("references", "words"), [
    (["JGSW02999"], ["'JGSW02999'", "no standard JGSW02999"]),
    (["JGSW01001—2017"], ["'JGSW01001—2017'", "no edition 2017"]),
    (["JGSW9"], ["'JGSW9'", "not a standard number"]),
    (["GB/T abc"], ["'GB/T abc'", "starts like a standard number"]),
    (["ISO nine thousand"], ["starts like a standard number"]),
    (["JGSW01001", "JGSW01001—2018"], ["cites the same standard"]),
    (["GB/T 19001", "GB/T 19001—2016"], ["cites the same standard"]),
    ([f"规划中的标准 {n}" for n in range(201)], ["201 references: at most 200"]),
])
def test_bad_references_are_refused_naming_the_entry_and_record_nothing(api, seeded, references, words):
    before = api.position()
    refused(api, api.create(references=references), *words)
    assert api.position() == before


def test_a_standard_never_cites_itself(api, seeded):
    code = api.draft()
    before = api.position()
    refused(api, api.command(code, "draft", "drafter", {"references": [code]}, method="PATCH"),
            "does not cite itself")
    refused(api, api.create(category="05", sub_item="777", references=["JGSW05777"]), "does not cite itself")
    assert api.position() == before


@pytest.mark.parametrize("years", [0, 6, "five"])
def test_review_years_are_one_to_five(api, years):
    before = api.position()
    assert_problem(api.create(review_years=years), 422)
    assert api.position() == before


def test_approval_fixes_the_list_on_the_edition(api, seeded):
    code, _ = api.issued(approved_on=date(2020, 1, 1), references=["JGSW01001", "GB/T 19001—2016"])
    api.ok(code, "revisions", "drafter", {"reason": "修订"})
    api.ok(code, "draft", "drafter", {"references": ["JGSW01002"]}, method="PATCH")
    edition = api.get(f"/standards/{code}/editions/2020").get_json()
    assert edition["references"] == ["JGSW01001", "GB/T 19001—2016"]
    assert api.get(f"/standards/{code}").get_json()["draft"]["references"] == ["JGSW01002"]


# ------------------------------------------------------------------ resolution as of a day
def refs(api, code: str, year: int, **query) -> dict[str, dict]:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    body = api.get(f"/standards/{code}/editions/{year}/references?{q}", role="drafter").get_json()
    return {item["reference"]: item for item in body["items"]}


def test_the_seed_cites_as_its_source_does(api, seeded):
    items = refs(api, "JGSW01003", 2018, as_of="2020-01-01")
    assert list(items) == ["JGSW01002", "JGSW01001", "机关经费管理标准 要求", "资产管理标准 要求",
                           "公共机构节约能源资源标准 要求", "JGSW05000"]
    assert items["JGSW01001"]["resolves_to"] == "JGSW01001—2018" and not items["JGSW01001"]["dated"]
    assert items["资产管理标准 要求"]["unresolved"] and not items["资产管理标准 要求"]["internal"]
    assert items["JGSW05000"]["resolves_to"] is None and "approved" in items["JGSW05000"]["warning"]


def test_dated_and_undated_references_resolve_on_the_day(api, seeded):
    api.publish("JGSW05001", date(2019, 3, 1), date(2019, 4, 1))
    code, _ = api.issued(approved_on=date(2020, 1, 1), references=["JGSW05001—2018", "JGSW05002"])
    api.revise("JGSW05001", date(2022, 1, 5), date(2022, 1, 10), date(2022, 2, 1))
    before = refs(api, code, 2020, as_of="2021-06-01")
    assert before["JGSW05001—2018"]["resolves_to"] == "JGSW05001—2018"
    assert before["JGSW05001—2018"]["warning"] is None
    after = refs(api, code, 2020, as_of="2022-06-01")
    assert after["JGSW05001—2018"]["status"] == "superseded"
    assert "superseded" in after["JGSW05001—2018"]["warning"]
    assert after["JGSW05002"]["resolves_to"] is None  # approved in 2018, never issued
    # an undated reference follows the edition in force
    code2, _ = api.issued(approved_on=date(2020, 2, 1), references=["JGSW05001"])
    assert refs(api, code2, 2020, as_of="2021-06-01")["JGSW05001"]["resolves_to"] == "JGSW05001—2018"
    assert refs(api, code2, 2020, as_of="2022-06-01")["JGSW05001"]["resolves_to"] == "JGSW05001—2022"


def test_references_as_the_register_knew_them(api, seeded):
    from datetime import datetime

    code, _ = api.issued(approved_on=date(2020, 1, 1), references=["JGSW01001"])
    known = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    api.revise("JGSW01001", api.today - days(3), api.today - days(2), api.today - days(1))
    now = refs(api, code, 2020)
    assert now["JGSW01001"]["resolves_to"] == f"JGSW01001—{(api.today - days(3)).year}"
    then = refs(api, code, 2020, known_at=known.replace(":", "%3A"))
    assert then["JGSW01001"]["resolves_to"] == "JGSW01001—2018"


def test_referenced_by_lists_the_editions_in_force_that_cite(api, seeded):
    a, _ = api.issued(approved_on=date(2020, 1, 1), issued_on=date(2020, 1, 5), references=["JGSW01001"])
    b, _ = api.issued(approved_on=date(2021, 1, 1), issued_on=date(2021, 1, 5), references=["JGSW01001—2018"])
    c = api.approved(approved_on=date(2021, 1, 1), references=["JGSW01001"])  # never in force
    body = api.get("/standards/JGSW01001/referenced-by?as_of=2022-01-01", role="publisher").get_json()
    got = {(i["number"], i["reference"], i["dated"]) for i in body["items"]}
    assert got == {("JGSW01003—2018", "JGSW01001", False), (f"{a}—2020", "JGSW01001", False),
                   (f"{b}—2021", "JGSW01001—2018", True)}
    assert c not in {i["code"] for i in body["items"]}
    early = api.get("/standards/JGSW01001/referenced-by?as_of=2020-06-01").get_json()["items"]
    assert {i["code"] for i in early} == {"JGSW01003", a}


# ------------------------------------------------------------------ the due list
def due(api, **query) -> dict[str, dict]:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    resp = api.get(f"/reviews/due?{q}", role="reviewer")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {item["code"]: item for item in resp.get_json()["items"]}


def test_an_edition_is_due_five_years_after_it_took_effect(api, seeded):
    items = due(api, as_of="2024-01-01", within=0)
    assert set(items) == {"JGSW01001", "JGSW01002", "JGSW01003"}
    item = items["JGSW01001"]
    assert (item["edition"], item["due_on"], item["overdue_days"], item["reasons"]) == (
        "JGSW01001—2018", "2024-01-01", 0, ["interval"])
    assert due(api, as_of="2023-12-31", within=0) == {}
    assert due(api, as_of="2023-12-01", within=31)["JGSW01003"]["overdue_days"] == -31


def test_a_review_restarts_the_clock_and_review_years_shorten_it(api, seeded):
    api.ok("JGSW01002", "reviews", "approver", {"reviewed_on": "2024-03-01", "outcome": "confirm",
                                                "reason": "复审确认"})
    assert "JGSW01002" in due(api, as_of="2024-02-01", within=0)  # as of before the review
    assert "JGSW01002" not in due(api, as_of="2024-06-01", within=0)
    assert due(api, as_of="2029-03-01", within=0)["JGSW01002"]["due_on"] == "2029-03-01"
    code, _ = api.issued(approved_on=date(2020, 1, 1), issued_on=date(2020, 1, 1),
                         effective_on=date(2020, 2, 1), review_years=2)
    assert due(api, as_of="2022-02-01", within=0)[code]["due_on"] == "2022-02-01"


def test_a_revision_of_jgsw01001_puts_jgsw01003_on_the_list_from_its_effective_day(api, seeded):
    """The seed's own case: JGSW01003—2018 cites JGSW01001 undated."""
    api.ok("JGSW01003", "reviews", "approver", {"reviewed_on": api.today.isoformat(), "outcome": "confirm",
                                                "reason": "复审确认"})
    effective = api.today + days(20)
    api.revise("JGSW01001", api.today, api.today, effective)
    assert "JGSW01003" not in due(api, as_of=(effective - days(1)).isoformat(), within=0)
    item = due(api, as_of=effective.isoformat(), within=0)["JGSW01003"]
    assert (item["due_on"], item["reasons"]) == (effective.isoformat(), ["reference_changed"])
    assert item["details"][0]["about"] == "JGSW01001: a new edition took effect"
    ahead = due(api, as_of=api.today.isoformat(), within=30)["JGSW01003"]
    assert ahead["overdue_days"] == -20
    # what it affects, asked the way a new user would
    citing = api.get(f"/standards/JGSW01001/referenced-by?as_of={effective.isoformat()}").get_json()["items"]
    assert [i["number"] for i in citing] == ["JGSW01003—2018"]


def test_a_withdrawal_of_a_cited_standard_is_a_reason_until_a_review_closes_it(api, seeded):
    code, _ = api.issued(approved_on=api.today - days(30), references=["JGSW01002"])
    api.ok("JGSW01002", "withdraw", "approver", {"withdrawn_on": (api.today - days(5)).isoformat(),
                                                 "reason": "废止"})
    item = due(api, as_of=api.today.isoformat(), within=0)[code]
    assert item["reasons"] == ["reference_changed"] and item["overdue_days"] == 5
    assert "withdrawn" in item["details"][0]["about"]
    api.ok(code, "reviews", "approver", {"reviewed_on": api.today.isoformat(), "outcome": "confirm",
                                         "reason": "引用文件废止后复审"})
    assert code not in due(api, as_of=api.today.isoformat(), within=0)


@pytest.mark.parametrize("query", ["within=-1", "within=3651", "within=x", "as_of=2025-02-30",
                                   "after=nonsense", "as_of=1800-01-01"])
def test_bad_due_list_queries_are_422(api, query):
    assert_problem(api.get(f"/reviews/due?{query}"), 422)


def test_the_due_list_pages(api, seeded):
    first = api.get("/reviews/due?as_of=2024-01-01&within=0&limit=2").get_json()
    assert [i["code"] for i in first["items"]] == ["JGSW01001", "JGSW01002"] and first["next"]
    rest = api.client.get(first["next"], headers=api.auth("auditor")).get_json()
    assert [i["code"] for i in rest["items"]] == ["JGSW01003"] and rest["next"] is None


def test_every_signed_in_user_reads_references_and_the_due_list(api, seeded):
    for role in ("drafter", "reviewer", "approver", "publisher", "auditor", "admin"):
        for path in ("/reviews/due", "/standards/JGSW01001/referenced-by",
                     "/standards/JGSW01003/editions/2018/references"):
            assert api.get(path, role=role).status_code == 200, (role, path)
    assert_problem(api.get("/reviews/due", role=None), 401)
