"""GET /api/v1/standards.xlsx: the catalogue as a workbook, with the same
filters and clocks as /standards; text cells, Chinese headers, a frozen header
row, fitted widths, formulas neutralised (issue 10 finding 5)."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.api.helpers import PREFIX, assert_problem

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == XLSX
    return load_workbook(io.BytesIO(resp.data)).active


def rows(sheet) -> list[dict]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], r)) for r in values[1:]]


def test_the_whole_catalogue_filtered_and_as_of_a_day(api, seeded):
    sheet = workbook(api.get("/standards.xlsx?category=01&as_of=2019-06-01", role="drafter"))
    found = rows(sheet)
    assert [r["代号"] for r in found] == ["JGSW01001", "JGSW01002", "JGSW01003", "JGSW01004"]
    first = found[0]
    assert first["编号"] == "JGSW01001—2018" and first["状态"] == "试行" and first["试行"] == "是"
    assert (first["类别"], first["顺序号"], first["实施日期"]) == ("01", "001", "2019-01-01")
    assert sheet.freeze_panes == "A2"
    assert all(c.data_type == "s" for c in sheet[2] if c.value is not None)
    trial = rows(workbook(api.get("/standards.xlsx?status=trial&as_of=2019-06-01")))
    assert len(trial) == 3
    assert rows(workbook(api.get("/standards.xlsx?q=绿化")))[0]["代号"] == "JGSW05004"


def test_more_rows_than_a_page(api, service):
    from lifecycle.commands import DraftStandard

    for _ in range(505):
        service.handle(DraftStandard(category="06", sub_item=None, fields={"title": "其他管理标准 测试"},
                                     actor="drafter", reason=None))
    assert len(rows(workbook(api.get("/standards.xlsx")))) == 505


def test_a_formula_title_is_neutralised(api):
    code = api.draft(title='=HYPERLINK("http://evil.example/","点击")')
    found = rows(workbook(api.get("/standards.xlsx")))
    assert found == [found[0]] and found[0]["代号"] == code
    assert found[0]["名称"] == '\'=HYPERLINK("http://evil.example/","点击")'


def test_named_for_people_and_for_old_clients(api, seeded):
    resp = api.get("/standards.xlsx?as_of=2019-06-01")
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="jgsw-catalogue-2019-06-01.xlsx"')
    assert "filename*=UTF-8''%E8%A7%84%E8%8C%83%E7%9B%AE%E5%BD%95-2019-06-01.xlsx" in disposition


def test_refusals(api, client, seeded):
    assert_problem(client.get(PREFIX + "/standards.xlsx"), 401)
    body = assert_problem(api.get("/standards.xlsx?limit=5"), 422)  # every row: no paging
    assert "limit" in body["errors"]
    assert "as_of" in assert_problem(api.get("/standards.xlsx?as_of=2019-02-30"), 422)["errors"]


def test_documented_as_a_binary_answer(api):
    spec = api.client.get(PREFIX + "/openapi.json").get_json()
    answer = spec["paths"]["/api/v1/standards.xlsx"]["get"]["responses"]["200"]
    assert answer["content"][XLSX]["schema"] == {"type": "string", "format": "binary"}
