"""Every command endpoint, and the whole lifecycle including revisions."""

from __future__ import annotations

from datetime import date

from tests.api.helpers import PREFIX, assert_problem, days

STANDARD_NAMES = {"code", "category", "sub_item", "level", "title", "status", "status_label",
                  "edition", "draft", "version"}
EDITION_NAMES = {"number", "year", "title", "status", "approved_on", "approved_by", "issued_on",
                 "effective_on", "trial", "withdrawn_on", "replaces", "replaced_by"}


# ------------------------------------------------------------------ POST /standards
def test_draft_answers_201_with_location_etag_and_names(api):
    resp = api.create(category="02", title="机关经费管理标准 差旅费报销工作指南", kind="工作指南",
                      owner_department="财务处", drafting_units=["云南省机关事务管理局"],
                      summary="差旅费报销的流程")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert STANDARD_NAMES <= set(body)
    assert body["code"] == "JGSW02001"
    assert body["category"] == "02"
    assert body["sub_item"] == "001"
    assert body["level"] == "item"
    assert body["title"] == "机关经费管理标准 差旅费报销工作指南"
    assert body["status"] == "draft"
    assert body["status_label"] == "草案"
    assert body["edition"] is None
    assert body["draft"]["stage"] == "draft"
    assert body["draft"]["drafted_by"] == "drafter"
    assert body["draft"]["kind"] == "工作指南"
    assert body["draft"]["owner_department"] == "财务处"
    assert body["draft"]["drafting_units"] == ["云南省机关事务管理局"]
    assert resp.headers["ETag"] == f'"{body["version"]}"'
    assert resp.headers["Location"].endswith(f"{PREFIX}/standards/JGSW02001")
    # the Location can be followed
    follow = api.client.get(resp.headers["Location"], headers=api.auth("auditor"))
    assert follow.status_code == 200
    assert follow.get_json()["code"] == "JGSW02001"
    assert follow.headers["ETag"] == resp.headers["ETag"]


def test_draft_numbers_follow_on_and_sub_item_can_be_given(api):
    assert api.draft(category="03", title="资产管理标准 甲") == "JGSW03001"
    assert api.draft(category="03", title="资产管理标准 乙") == "JGSW03002"
    assert api.draft(category="03", sub_item="010", title="资产管理标准 丙") == "JGSW03010"
    # 顺延编号: the next free one follows the highest, gaps are not refilled
    assert api.draft(category="03", title="资产管理标准 丁") == "JGSW03011"
    # sub-item 000 is the category standard
    resp = api.create(category="03", sub_item="000", title="资产管理标准 要求")
    assert resp.status_code == 201
    assert resp.get_json()["code"] == "JGSW03000"
    assert resp.get_json()["level"] == "category"


def test_level_defaults_from_category_and_can_be_given(api):
    assert api.create(category="01", title="基础通用标准 甲").get_json()["level"] == "basic"
    assert api.create(category="06", title="其他 乙", level="other").get_json()["level"] == "other"


# ------------------------------------------------------------------ commands
def test_patch_draft_changes_fields_and_version(api):
    code = api.draft(title="旧标题")
    before = api.etag(code)
    resp = api.command(code, "draft", "drafter2", {"title": "新标题", "summary": "摘要", "reason": "改名"},
                       method="PATCH")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["title"] == "新标题"
    assert body["draft"]["title"] == "新标题"
    assert body["draft"]["summary"] == "摘要"
    assert body["draft"]["edited_by"] == ["drafter2"]
    assert resp.headers["ETag"] != before
    assert api.get(f"/standards/{code}").get_json()["draft"]["title"] == "新标题"


def test_submit_request_changes_and_resubmit(api):
    code = api.draft()
    body = api.ok(code, "submit", "drafter")
    assert body["status"] == "under_review"
    assert body["status_label"] == "审查中"
    assert body["draft"]["stage"] == "under_review"

    body = api.ok(code, "request-changes", "reviewer", {"reason": "请补充适用范围"})
    assert body["status"] == "draft"
    assert body["draft"]["stage"] == "draft"
    assert "请补充适用范围" in body["draft"]["comments"]

    body = api.ok(code, "submit", "drafter")
    assert body["status"] == "under_review"
    # approvers may request changes too
    body = api.ok(code, "request-changes", "approver", {"reason": "再改"})
    assert body["status"] == "draft"


def test_approve_fixes_the_year_and_defaults_to_today(api):
    code = api.submitted(title="后勤服务管理标准 车辆服务工作指南")
    body = api.ok(code, "approve", "approver")
    today = api.today
    assert body["status"] == "approved"
    assert body["status_label"] == "已批准"
    assert body["draft"] is None
    # not issued yet: `edition` speaks of an issued edition only
    assert body["edition"] is None
    eds = api.get(f"/standards/{code}/editions").get_json()["items"]
    assert len(eds) == 1
    assert eds[0]["number"] == f"{code}—{today.year}"
    assert eds[0]["year"] == today.year
    assert eds[0]["approved_on"] == today.isoformat()
    assert eds[0]["approved_by"] == "approver"
    assert eds[0]["status"] == "approved"
    assert eds[0]["issued_on"] is None


def test_approve_with_a_past_date_takes_that_year(api):
    code = api.submitted()
    api.ok(code, "approve", "approver", {"approved_on": "2021-06-30"})
    one = api.get(f"/standards/{code}/editions/2021").get_json()
    assert one["number"] == f"{code}—2021"
    assert one["approved_on"] == "2021-06-30"


def test_publish_formal_and_trial(api):
    today = api.today
    code, etag = api.issued()
    body = api.get(f"/standards/{code}").get_json()
    assert body["status"] == "current"
    assert body["status_label"] == "现行"
    assert body["edition"]["number"] == f"{code}—{today.year}"
    assert body["edition"]["trial"] is False
    assert body["edition"]["issued_on"] == today.isoformat()
    assert body["edition"]["effective_on"] == today.isoformat()
    assert EDITION_NAMES <= set(body["edition"])
    assert etag == f'"{body["version"]}"'

    code2, _ = api.issued(trial=True)
    body = api.get(f"/standards/{code2}").get_json()
    assert body["status"] == "trial"
    assert body["status_label"] == "试行"
    assert body["edition"]["trial"] is True


def test_publish_with_future_effective_date_is_issued(api):
    today = api.today
    code, _ = api.issued(effective_on=today + days(30))
    body = api.get(f"/standards/{code}").get_json()
    assert body["status"] == "issued"
    assert body["status_label"] == "即将实施"
    assert body["edition"]["effective_on"] == (today + days(30)).isoformat()


def test_withdraw(api):
    code, _ = api.issued()
    body = api.ok(code, "withdraw", "approver", {"withdrawn_on": api.today.isoformat(),
                                                 "reason": "已被新制度取代"})
    assert body["status"] == "withdrawn"
    assert body["status_label"] == "废止"
    assert body["edition"]["withdrawn_on"] == api.today.isoformat()
    assert body["edition"]["status"] == "withdrawn"
    # terminal
    assert_problem(api.command(code, "revisions", "drafter", {"reason": "x"}), 409)


def test_withdraw_in_the_future_keeps_it_in_force_until_then(api):
    code, _ = api.issued()
    later = api.today + days(10)
    body = api.ok(code, "withdraw", "approver", {"withdrawn_on": later.isoformat(), "reason": "到期废止"})
    assert body["status"] == "current"
    assert body["edition"]["withdrawn_on"] == later.isoformat()


def test_reviews_confirm_revise_withdraw(api):
    today = api.today
    code, _ = api.issued()
    body = api.ok(code, "reviews", "approver", {"reviewed_on": today.isoformat(), "outcome": "confirm"})
    assert body["status"] == "current"
    assert body["draft"] is None
    assert [r["outcome"] for r in body["reviews"]] == ["confirm"]

    body = api.ok(code, "reviews", "approver", {"reviewed_on": today.isoformat(), "outcome": "revise",
                                                "reason": "复审：需修订"})
    # a revision is opened; the edition in force stays in force
    assert body["status"] == "current"
    assert body["draft"] is not None
    assert body["draft"]["revision_of"] == f"{code}—{today.year}"
    assert [r["outcome"] for r in body["reviews"]] == ["confirm", "revise"]

    code2, _ = api.issued()
    body = api.ok(code2, "reviews", "approver", {"reviewed_on": today.isoformat(), "outcome": "withdraw",
                                                 "reason": "复审：废止"})
    assert body["status"] == "withdrawn"
    assert body["edition"]["withdrawn_on"] == today.isoformat()


def test_revision_keeps_status_and_shows_draft(api):
    code, _ = api.issued(approved_on=date(2020, 3, 1), issued_on=date(2020, 3, 15),
                         effective_on=date(2020, 4, 1), title="原标题")
    body = api.ok(code, "revisions", "drafter", {"reason": "修订", "title": "修订后标题"})
    assert body["status"] == "current"
    assert body["edition"]["number"] == f"{code}—2020"
    assert body["title"] == "原标题"
    assert body["draft"]["title"] == "修订后标题"
    assert body["draft"]["revision_of"] == f"{code}—2020"
    assert body["draft"]["stage"] == "draft"
    body = api.ok(code, "submit", "drafter")
    assert body["status"] == "current"
    assert body["draft"]["stage"] == "under_review"


# ------------------------------------------------------------------ seed + revision of JGSW05001
def _publish_05001_2018(api):
    return api.publish("JGSW05001", date(2018, 12, 31), date(2019, 1, 1))


def test_revision_of_seeded_standard_effective_in_the_past(api, seeded):
    view = _publish_05001_2018(api)
    assert view["status"] == "current"
    assert view["edition"]["number"] == "JGSW05001—2018"

    view = api.revise("JGSW05001", date(2021, 5, 10), date(2021, 6, 1), date(2021, 7, 1),
                      title="后勤服务管理标准 公务接待工作指南（修订）")
    assert view["status"] == "current"
    assert view["edition"]["number"] == "JGSW05001—2021"
    assert view["title"] == "后勤服务管理标准 公务接待工作指南（修订）"
    assert view["draft"] is None

    old = api.get("/standards/jgsw05001/editions/2018").get_json()
    new = api.get("/standards/JGSW05001/editions/2021").get_json()
    assert old["status"] == "superseded"
    assert old["status_label"] == "被代替"
    assert old["replaced_by"] == "JGSW05001—2021"
    assert old["replaces"] is None
    assert new["status"] == "current"
    assert new["replaces"] == "JGSW05001—2018"
    assert new["replaced_by"] is None

    history = api.get("/standards/JGSW05001/editions").get_json()
    assert [e["number"] for e in history["items"]] == ["JGSW05001—2018", "JGSW05001—2021"]
    assert [e["status"] for e in history["items"]] == ["superseded", "current"]
    assert history["next"] is None

    # the catalogue shows one row, the edition in force
    rows = api.get("/standards?q=公务接待").get_json()["items"]
    assert [r["code"] for r in rows] == ["JGSW05001"]
    assert rows[0]["edition"]["number"] == "JGSW05001—2021"


def test_revision_of_seeded_standard_effective_in_the_future(api, seeded):
    _publish_05001_2018(api)
    today = api.today
    view = api.revise("JGSW05001", today, today, today + days(30))
    # the old edition stays in force until the revision takes effect
    assert view["status"] == "current"
    assert view["edition"]["number"] == "JGSW05001—2018"

    new = api.get(f"/standards/JGSW05001/editions/{today.year}").get_json()
    old = api.get("/standards/JGSW05001/editions/2018").get_json()
    assert new["status"] == "issued"
    assert new["status_label"] == "即将实施"
    # replaced only from the day the revision takes effect; pending until then
    assert (new["replaces"], new["will_replace"]) == (None, "JGSW05001—2018")
    assert old["status"] == "current"
    assert (old["replaced_by"], old["will_be_replaced_by"]) == (None, f"JGSW05001—{today.year}")
    later = api.get(f"/standards/JGSW05001/editions?as_of={(today + days(30)).isoformat()}").get_json()
    links = {e["year"]: (e["replaces"], e["replaced_by"], e["status"]) for e in later["items"]}
    assert links == {2018: (None, f"JGSW05001—{today.year}", "superseded"),
                     today.year: ("JGSW05001—2018", None, "current")}
    catalogue = api.get("/standards?category=05&status=current").get_json()["items"]
    assert "JGSW05001" in [r["code"] for r in catalogue]


def test_revision_approved_not_issued_keeps_old_in_force(api, seeded):
    _publish_05001_2018(api)
    view = api.revise("JGSW05001", date(2022, 1, 5), None, None)
    assert view["status"] == "current"
    assert view["edition"]["number"] == "JGSW05001—2018"
    assert api.get("/standards/JGSW05001/editions/2022").get_json()["status"] == "approved"


def test_second_revision_in_the_same_year_is_409(api, seeded, service):
    _publish_05001_2018(api)
    api.revise("JGSW05001", date(2021, 5, 10), date(2021, 6, 1), date(2021, 7, 1))
    api.ok("JGSW05001", "revisions", "drafter", {"reason": "再次修订"})
    api.ok("JGSW05001", "submit", "drafter")
    before = api.position()
    resp = api.command("JGSW05001", "approve", "approver", {"approved_on": "2021-11-01"})
    body = assert_problem(resp, 409)
    assert "2021" in body["detail"]
    assert api.position() == before
    # a later year is fine
    view = api.ok("JGSW05001", "approve", "approver", {"approved_on": "2022-02-01"})
    assert view["status"] == "current"


def test_revision_approved_in_the_year_of_the_seed_edition_is_409(api, seeded):
    _publish_05001_2018(api)
    api.ok("JGSW05001", "revisions", "drafter", {"reason": "修订"})
    api.ok("JGSW05001", "submit", "drafter")
    before = api.position()
    assert_problem(api.command("JGSW05001", "approve", "approver", {"approved_on": "2018-12-31"}), 409)
    assert api.position() == before


def test_withdraw_with_open_revision(api, seeded):
    _publish_05001_2018(api)
    api.ok("JGSW05001", "revisions", "drafter", {"reason": "修订"})
    body = api.ok("JGSW05001", "withdraw", "approver",
                  {"withdrawn_on": api.today.isoformat(), "reason": "不再适用"})
    assert body["status"] == "withdrawn"
    assert body["draft"] is None
    assert body["edition"]["number"] == "JGSW05001—2018"
