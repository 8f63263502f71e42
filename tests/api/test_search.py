"""`q` on /standards finds titles and the text of the files of each
standard's edition in force: Chinese as substrings from one character up,
the same rows on SQLite and PostgreSQL (every test runs on both)."""

from __future__ import annotations

from datetime import date

import pytest

from tests import files as f
from tests.api.test_files import attached, issue_with_file


@pytest.fixture
def library(api):
    """One issued standard per honest sample, and a draft whose file is not searched."""
    codes = {}
    for name, (media_type, _) in f.HONEST.items():
        code, _ = issue_with_file(api, f.sample(name), media_type, name=name,
                                  title=f"后勤服务管理标准 样例 {name}")
        codes[name] = code
    draft = api.draft(title="起草中的标准")
    attached(api, draft, "draft.md", "草案里的独有词语：麒麟".encode(), f.MARKDOWN)
    codes["draft"] = draft
    return codes


def search(api, q: str, **params) -> list[dict]:
    resp = api.get("/standards", query_string={"q": q, "limit": 500, **params})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["items"]


@pytest.mark.parametrize("sample, query", [
    ("sample-zh.pdf", "餐具"),                # two characters, the commonest case
    ("sample-zh.pdf", "餐具每餐消毒"),
    ("sample-zh.ofd", "会场提前两小时"),
    ("sample-zh.ofd", "会场"),
    ("sample-zh.docx", "电梯每日巡检"),
    ("sample-zh.docx", "梯"),                  # one character
    ("sample-zh.odt", "草坪每周修剪"),
    ("sample-zh.odt", "坪"),
    ("sample-zh.md", "陪同人数"),
    ("sample-zh.md", "陪同"),
])
def test_each_format_is_found_by_its_text(api, library, sample, query):
    rows = search(api, query)
    assert [r["code"] for r in rows] == [library[sample]]
    row = rows[0]
    assert row["matched_in"] == "text" and row["matched_file"] == sample
    assert query in row["snippet"]


def test_a_title_match_says_so_and_text_only_rows_carry_a_snippet(api, library):
    rows = search(api, "样例")
    assert {r["code"] for r in rows} >= {library[n] for n in f.HONEST}
    assert all(r["matched_in"] == "title" and "snippet" not in r for r in rows)
    # found in the text of several standards (范围 is in every sample but the Markdown's heading)
    rows = search(api, "范围")
    assert len(rows) == 5 and all(r["matched_in"] == "text" for r in rows)
    assert [r["code"] for r in rows] == sorted(r["code"] for r in rows)


def test_a_substring_needs_every_character_in_order(api, library):
    assert search(api, "餐具每日巡检") == []   # each pair occurs somewhere, the whole nowhere
    assert search(api, "麒麟") == []           # only in a draft's file: not searched
    assert search(api, "無") == []


def test_search_combines_with_filters_and_pages(api, library):
    rows = search(api, "范围", category="05", status="current")
    assert len(rows) == 5
    first = api.get("/standards", query_string={"q": "范围", "limit": 2}).get_json()
    assert len(first["items"]) == 2 and first["next"]
    second = api.client.get(first["next"], headers=api.auth("auditor")).get_json()
    assert [r["code"] for r in second["items"]][0] > first["items"][-1]["code"]
    assert all(r["matched_in"] == "text" for r in second["items"])


def test_only_the_edition_in_force_is_searched(api):
    code = api.draft(title="绿化服务工作指南")
    attached(api, code, "正文.md", "第一版：草坪每周修剪。".encode(), f.MARKDOWN)
    api.ok(code, "submit", "drafter")
    api.ok(code, "approve", "approver", {"approved_on": "2019-03-01"})
    api.publish(code, date(2019, 3, 2), date(2019, 4, 1))
    api.ok(code, "revisions", "drafter", {"reason": "修订"})
    attached(api, code, "正文.md", "第二版：草坪每两周修剪。".encode(), f.MARKDOWN, status=200)
    assert [r["code"] for r in search(api, "每周")] == [code]      # the revision is a draft still
    assert search(api, "两周") == []
    api.ok(code, "submit", "drafter")
    api.ok(code, "approve", "approver")
    api.publish(code, api.today, api.today)
    assert search(api, "每周") == []
    assert [r["code"] for r in search(api, "两周")] == [code]
    assert [r["code"] for r in search(api, "每周", as_of="2020-01-01")] == [code]  # in force then


def test_search_index_matches_a_plain_scan(api, service):
    """The gram index gives exactly the texts a substring scan gives for one
    or two characters, a superset of them for more (confirmed by the query)."""
    from projections import search as index

    texts = ["机关会议服务要求", "会议室预订", "服务质量评价", "机关食堂", "议服", "a", "会", "议服，服务质"]
    code = api.draft()
    for i, text in enumerate(texts):
        attached(api, code, f"t{i}.md", text.encode(), f.MARKDOWN)
    with service.reads.cursor() as c:
        docs = {}
        c.execute("SELECT doc, text FROM content_text")
        for row in c.fetchall():
            doc, text = (row["doc"], row["text"]) if isinstance(row, dict) else tuple(row)
            docs[doc] = text
        for query in ("会", "会议", "议服", "机关会议", "服务要求", "机关会", "食堂服务", "a", "z", "议服务质"):
            found = set(index.candidates(c, service.recorder.writer, query))
            truth = {d for d, t in docs.items() if query in t}
            assert found == truth if index.exact(query) else found >= truth, query
        assert set(index.candidates(c, service.recorder.writer, "议服务质")) > {
            d for d, t in docs.items() if "议服务质" in t}  # 议服, 服务, 务质 all occur: to confirm
