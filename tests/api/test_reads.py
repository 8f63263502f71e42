"""Reads: catalogue with filters and pages, one standard, editions, categories,
numbers, health, OpenAPI; and Chinese text round-trips."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.api.helpers import PREFIX, assert_problem

SEED_CODES = ["JGSW01001", "JGSW01002", "JGSW01003", "JGSW01004",
              "JGSW05000", "JGSW05001", "JGSW05002", "JGSW05003", "JGSW05004"]


def codes(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) >= {"items", "next"}
    return [row["code"] for row in body["items"]]


# ------------------------------------------------------------------ catalogue
def test_catalogue_after_seed(api, seeded):
    resp = api.get("/standards")
    body = resp.get_json()
    assert codes(resp) == SEED_CODES
    assert body["next"] is None
    rows = {r["code"]: r for r in body["items"]}
    r = rows["JGSW01001"]
    assert r["category"] == "01" and r["sub_item"] == "001"
    assert r["title"] == "内部标准编号规则"
    assert r["status"] == "trial" and r["status_label"] == "试行"
    assert r["level"] == "basic"
    assert r["edition"]["number"] == "JGSW01001—2018"
    assert r["edition"]["issued_on"] == "2018-12-31"
    assert r["edition"]["effective_on"] == "2019-01-01"
    assert r["edition"]["trial"] is True
    assert r["draft"] is None
    assert isinstance(r["version"], int)
    assert rows["JGSW05001"]["status"] == "approved"
    assert rows["JGSW05001"]["edition"] is None


@pytest.mark.parametrize("query,expected", [
    ("category=05", SEED_CODES[4:]),
    ("category=5", SEED_CODES[4:]),
    ("category=01", SEED_CODES[:4]),
    ("category=02", []),
    ("status=trial", ["JGSW01001", "JGSW01002", "JGSW01003"]),
    ("status=approved", ["JGSW01004"] + SEED_CODES[4:]),
    ("status=current", []),
    ("level=basic", SEED_CODES[:4]),
    ("level=category", ["JGSW05000"]),
    ("level=item", SEED_CODES[5:]),
    ("q=" + quote("绿化"), ["JGSW05004"]),
    ("q=" + quote("工作指南"), SEED_CODES[5:]),
    ("q=" + quote("基础通用标准"), ["JGSW01002", "JGSW01003", "JGSW01004"]),
    ("q=" + quote("没有这个"), []),
    ("q=" + quote("%"), []),
    ("category=01&status=approved", ["JGSW01004"]),
    ("category=05&q=" + quote("会议"), ["JGSW05002"]),
])
def test_catalogue_filters(api, seeded, query, expected):
    assert codes(api.get(f"/standards?{query}")) == expected


def test_catalogue_status_filter_follows_workflow(api, seeded):
    code = api.draft(category="06", title="其他管理标准 起草中")
    assert code in codes(api.get("/standards?status=draft"))
    api.ok(code, "submit", "drafter")
    assert code not in codes(api.get("/standards?status=draft"))
    assert codes(api.get("/standards?status=under_review")) == [code]
    api.publish("JGSW05001", api.today, api.today)
    assert codes(api.get("/standards?status=current")) == ["JGSW05001"]
    from tests.api.helpers import days
    api.publish("JGSW05002", api.today, api.today + days(20))
    assert codes(api.get("/standards?status=issued")) == ["JGSW05002"]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 8, 9, 10])
def test_catalogue_pages_follow_next_until_null(api, seeded, limit):
    seen: list[str] = []
    url = PREFIX + f"/standards?limit={limit}"
    pages = 0
    while url is not None:
        resp = api.client.get(url, headers=api.auth("auditor"))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        body = resp.get_json()
        assert len(body["items"]) <= limit
        seen += [r["code"] for r in body["items"]]
        url = body["next"]
        pages += 1
        assert pages <= 20
    assert seen == SEED_CODES
    assert pages == -(-len(SEED_CODES) // limit)


def test_catalogue_next_keeps_filters(api, seeded):
    url = PREFIX + "/standards?limit=2&q=" + quote("后勤服务")
    seen = []
    while url:
        body = api.client.get(url, headers=api.auth("auditor")).get_json()
        seen += [r["code"] for r in body["items"]]
        url = body["next"]
    assert seen == SEED_CODES[4:]


@pytest.mark.parametrize("limit", [1, 500])
def test_catalogue_limit_bounds_accepted(api, seeded, limit):
    assert len(codes(api.get(f"/standards?limit={limit}"))) == min(limit, 9)


def test_catalogue_default_limit_is_50(api):
    for i in range(51):
        api.draft(category="06", title=f"其他管理标准 第{i}号")
    body = api.get("/standards").get_json()
    assert len(body["items"]) == 50
    assert body["next"] is not None
    rest = api.client.get(body["next"], headers=api.auth("auditor")).get_json()
    assert [r["code"] for r in rest["items"]] == ["JGSW06051"]
    assert rest["next"] is None


# ------------------------------------------------------------------ one standard
@pytest.mark.parametrize("spelling", ["JGSW05001", "jgsw05001", "JGSW 05001",
                                      "ＪＧＳＷ０５００１", " jgsw 05 001 "])
def test_one_standard_any_spelling(api, seeded, spelling):
    resp = api.get("/standards/" + quote(spelling, safe=""))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["code"] == "JGSW05001"
    assert body["title"] == "后勤服务管理标准 公务接待工作指南"
    assert resp.headers["ETag"] == f'"{body["version"]}"'
    assert [e["number"] for e in body["editions"]] == ["JGSW05001—2018"]


def test_one_standard_seed_spelling_with_slash(api, seeded):
    assert api.get("/numbers/" + quote("JGSW/05001", safe="")).get_json()["canonical"] == "JGSW05001"
    resp = api.get("/standards/" + quote("JGSW/05001", safe=""))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["code"] == "JGSW05001"


def test_etag_changes_with_every_command(api):
    code = api.draft()
    tags = [api.etag(code)]
    api.ok(code, "draft", "drafter", {"summary": "一"}, method="PATCH")
    tags.append(api.etag(code))
    api.ok(code, "submit", "drafter")
    tags.append(api.etag(code))
    assert len(set(tags)) == 3
    versions = [int(t.strip('"')) for t in tags]
    assert versions == sorted(versions)


def test_editions_of_seed(api, seeded):
    body = api.get("/standards/JGSW01003/editions").get_json()
    assert body["next"] is None
    [e] = body["items"]
    assert e["number"] == "JGSW01003—2018"
    assert e["year"] == 2018
    assert e["title"] == "基础通用标准 标准化导则"
    assert e["status"] == "trial"
    assert e["approved_on"] == "2018-12-31"
    assert e["approved_by"] == "云南省机关事务管理局"
    assert e["trial"] is True
    assert e["replaces"] is None and e["replaced_by"] is None
    assert e["withdrawn_on"] is None
    one = api.get("/standards/jgsw01003/editions/2018").get_json()
    assert one["number"] == "JGSW01003—2018"
    assert one["owner_department"] == "政策法规处"
    assert one["drafting_units"] == ["云南省机关事务管理局", "云南云天咨询有限公司"]


def test_editions_of_a_draft_is_empty(api):
    code = api.draft()
    assert api.get(f"/standards/{code}/editions").get_json()["items"] == []


# ------------------------------------------------------------------ categories
def test_categories(api, seeded):
    body = api.get("/categories").get_json()
    items = {c["code"]: c for c in body["items"]}
    assert list(items) == ["01", "02", "03", "04", "05", "06"]
    assert items["01"]["name"] == "基础通用标准"
    assert items["05"]["name"] == "后勤服务标准"
    assert items["04"]["name"] == "公共机构节约能源资源标准"
    assert [items[c]["standards"] for c in items] == [4, 0, 0, 0, 5, 0]
    assert items["01"]["by_status"] == {"trial": 3, "approved": 1}
    assert items["05"]["next_sub_item"] == "005"
    assert items["05"]["next_code"] == "JGSW05005"
    assert items["01"]["next_sub_item"] == "005"
    assert items["02"]["next_sub_item"] == "001"
    assert items["02"]["next_code"] == "JGSW02001"


def test_categories_change_after_drafting(api, seeded):
    assert api.draft(category="05", title="后勤服务管理标准 新") == "JGSW05005"
    assert api.draft(category="02", title="机关经费管理标准 新") == "JGSW02001"
    items = {c["code"]: c for c in api.get("/categories").get_json()["items"]}
    assert items["05"]["standards"] == 6
    assert items["05"]["next_sub_item"] == "006"
    assert items["05"]["by_status"].get("draft") == 1
    assert items["02"]["standards"] == 1
    assert items["02"]["next_sub_item"] == "002"
    assert items["02"]["next_code"] == "JGSW02002"


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize("text,canonical,year", [
    ("JGSW05001", "JGSW05001", None),
    ("jgsw05001", "JGSW05001", None),
    ("JGSW05004-2018", "JGSW05004—2018", 2018),
    ("JGSW05004—2018", "JGSW05004—2018", 2018),
    ("JGSW/01001-2018", "JGSW01001—2018", 2018),
    ("YNJGSW01003-2018", "JGSW01003—2018", 2018),
    ("JGSW 05 004 － 2018", "JGSW05004—2018", 2018),
])
def test_numbers_parse(api, text, canonical, year):
    resp = api.get("/numbers/" + quote(text))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["canonical"] == canonical
    assert body["code"] == canonical[:9]
    assert body["prefix"] == "JGSW"
    assert body["category"] == canonical[4:6]
    assert body["sub_item"] == canonical[6:9]
    assert body["year"] == year
    assert body["category_name"] in ("基础通用标准", "后勤服务标准")


@pytest.mark.parametrize("text,reason", [
    ("JGSW09001", "unknown-category"),
    ("XX05001", "prefix"),
    ("JGSW0500", "sub-item-digits"),
    ("JGSW05001-20", "two-digit-year"),
    ("JGSW05001-201", "year-digits"),
    ("JGSW05001-2018abc", "trailing-text"),
    ("JGSW05001-1800", "year-range"),
])
def test_bad_numbers(api, text, reason):
    body = assert_problem(api.get("/numbers/" + quote(text)), 422)
    assert body["reason"] == reason
    assert body["errors"]["number"]


# ------------------------------------------------------------------ health, openapi
def test_health_without_auth(api, seeded, store):
    resp = api.client.get(PREFIX + "/health")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["store"] == store
    assert body["position"] == api.position()
    assert set(body["projections"]) == {"standard_log", "catalogue_states", "edition_states", "users"}
    assert set(body["projections"].values()) == {api.position()}


def test_openapi_without_auth_lists_every_path(api):
    resp = api.client.get(PREFIX + "/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    expected = {
        "/standards": {"get", "post"},
        "/standards/{code}": {"get"},
        "/standards/{code}/editions": {"get"},
        "/standards/{code}/editions/{year}": {"get"},
        "/standards/{code}/draft": {"patch"},
        "/standards/{code}/submit": {"post"},
        "/standards/{code}/request-changes": {"post"},
        "/standards/{code}/approve": {"post"},
        "/standards/{code}/publish": {"post"},
        "/standards/{code}/revisions": {"post"},
        "/standards/{code}/withdraw": {"post"},
        "/standards/{code}/reviews": {"post"},
        "/categories": {"get"},
        "/numbers/{text}": {"get"},
        "/health": {"get"},
    }
    for path, methods in expected.items():
        full = PREFIX + path
        assert full in paths, (full, sorted(paths))
        assert methods <= set(paths[full]), (full, paths[full].keys())


# ------------------------------------------------------------------ Chinese
TITLES = [
    "后勤服务管理标准 公务接待工作指南",
    "基础通用标准（试行）——“标准化”导则：第一部分；附录Ａ",
    "𠀀𪚥 生僻字与全角标点，。、",
]


@pytest.mark.parametrize("title", TITLES)
def test_chinese_round_trips(api, title):
    resp = api.create(title=title, summary=title + "的摘要", kind="工作指南",
                      owner_department="政策法规处", drafting_units=["云南省机关事务管理局"])
    assert resp.status_code == 201, resp.get_data(as_text=True)
    raw = resp.get_data()
    assert title.encode("utf-8") in raw
    assert b"\\u" not in raw
    assert resp.get_json()["title"] == title
    code = resp.get_json()["code"]
    for path in (f"/standards/{code}", "/standards?q=" + quote(title[:4]), "/categories"):
        got = api.get(path)
        assert b"\\u" not in got.get_data()
    got = api.get(f"/standards/{code}")
    assert title.encode("utf-8") in got.get_data()
    body = got.get_json()
    assert body["draft"]["title"] == title
    assert body["draft"]["summary"] == title + "的摘要"
    assert body["draft"]["owner_department"] == "政策法规处"
    assert body["draft"]["drafting_units"] == ["云南省机关事务管理局"]
    assert resp.content_type.startswith("application/json")


def test_chinese_in_problems_is_not_escaped(api):
    resp = api.get("/numbers/" + quote("JGSW05001-18"))
    assert_problem(resp, 422)
    assert "年代号".encode() in resp.get_data()
    assert b"\\u" not in resp.get_data()


def test_chinese_round_trips_through_revision_and_editions(api, seeded):
    api.publish("JGSW05001", __import__("datetime").date(2018, 12, 31), __import__("datetime").date(2019, 1, 1))
    title = "后勤服务管理标准 公务接待工作指南（2021年修订）"
    api.revise("JGSW05001", __import__("datetime").date(2021, 3, 1),
               __import__("datetime").date(2021, 3, 2), __import__("datetime").date(2021, 4, 1), title=title)
    resp = api.get("/standards/JGSW05001/editions/2021")
    assert title.encode("utf-8") in resp.get_data()
    assert resp.get_json()["title"] == title
    assert b"\\u" not in api.get("/standards/JGSW05001/editions").get_data()


def test_cjk_compatibility_ideograph_round_trips(api):
    title = "\uf900\uf901 标准"
    resp = api.create(title=title)
    assert resp.status_code == 201
    assert resp.get_json()["title"] == title


def test_an_edition_path_takes_the_year_or_the_whole_edition_number(api, seeded):
    for segment in ("2018", "JGSW05001-2018", "jgsw05001—2018", "ＪＧＳＷ０５００１－２０１８"):
        resp = api.get(f"/standards/JGSW05001/editions/{segment}")
        assert resp.status_code == 200, (segment, resp.get_data(as_text=True))
        assert resp.get_json()["number"] == "JGSW05001—2018"
    for segment in ("2019", "JGSW05002-2018", "18", "abc"):
        assert_problem(api.get(f"/standards/JGSW05001/editions/{segment}"), 404)
