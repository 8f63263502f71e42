"""The edition timeline's geometry (api/pages/timeline.py): bars cut where
the status changes, in the order the domain's status rule gives, day lines,
amendment marks, year labels that stay inside the chart."""

from __future__ import annotations

from datetime import date

from api.pages.timeline import LEFT, RIGHT, WIDTH, timeline


def edition(year: int, approved: str, issued: str | None = None, effective: str | None = None,
            trial: bool = False, superseded: str | None = None, withdrawn: str | None = None,
            status: str = "current", label: str = "现行", **extra) -> dict:
    return {"number": f"JGSW05001—{year}", "year": year, "approved_on": approved, "issued_on": issued,
            "effective_on": effective, "trial": trial, "superseded_on": superseded,
            "withdrawn_on": withdrawn, "status": status, "status_label": label, **extra}


HISTORY = [
    edition(2018, "2018-06-01", "2018-12-31", "2019-01-01", trial=True, superseded="2021-04-01",
            status="superseded", label="被代替"),
    edition(2021, "2021-03-01", "2021-03-15", "2021-04-01", withdrawn="2025-01-01",
            status="withdrawn", label="废止"),
]


def test_one_bar_per_edition_cut_where_its_status_changes():
    drawing = timeline(HISTORY, date(2026, 12, 1), date(2026, 12, 1))
    assert drawing is not None and len(drawing.rows) == 2
    first, second = ([s.status for s in r.segments] for r in drawing.rows)
    assert first == ["approved", "issued", "trial", "superseded"]
    assert second == ["approved", "issued", "current", "withdrawn"]
    trial = drawing.rows[0].segments[2]
    assert trial.label == "试行" and trial.title == "试行：2019年1月1日起至2021年4月1日"
    assert drawing.rows[1].segments[-1].title == "废止：2025年1月1日起"  # open to the chart's end
    assert [label for _, label in drawing.legend] == ["已批准", "即将实施", "试行", "现行", "被代替", "废止"]
    assert drawing.rows[0].headline == "JGSW05001—2018  被代替  2019年1月1日试行"


def test_bars_are_contiguous_and_fit_the_width():
    drawing = timeline(HISTORY, date(2026, 12, 1), date(2026, 12, 1))
    for row in drawing.rows:
        for a, b in zip(row.segments, row.segments[1:]):
            assert abs(a.x + a.width - b.x) < 0.2
        assert row.segments[-1].x + row.segments[-1].width <= WIDTH - RIGHT + 0.1
        assert row.segments[0].x >= LEFT
    later = drawing.rows[1].segments[0].x
    assert later > drawing.rows[0].segments[0].x  # 2021 starts right of 2018


def test_today_and_the_day_asked_about_are_lines():
    drawing = timeline(HISTORY, date(2026, 12, 1), date(2019, 6, 1))
    today, asked = drawing.lines
    assert (today.kind, asked.kind) == ("today", "as-of")
    assert asked.x < today.x and asked.label == "查询日 2019年6月1日"
    assert today.anchor == "end"  # near the right edge the label runs leftwards
    only = timeline(HISTORY, date(2026, 12, 1), date(2026, 12, 1))
    assert [line.kind for line in only.lines] == ["today"]


def test_year_labels_never_crowd_and_stay_inside():
    long = [edition(2004, "2004-01-01", "2004-02-01", "2004-03-01")]
    drawing = timeline(long, date(2026, 12, 1), date(2026, 12, 1))
    labelled = [t for t in drawing.ticks if t.label]
    assert 3 <= len(labelled) <= 7
    assert drawing.ticks[0].anchor == "start" and drawing.ticks[-1].anchor == "end"


def test_amendment_marks_when_the_view_lists_them():
    sheets = [{"n": 1, "number": "JGSW05001—2021/XG1—2023", "approved_on": "2023-01-01",
               "effective_on": "2023-03-01", "status": "in_force"},
              {"n": 2, "number": None, "summary": "草案", "status": "dropped", "approved_on": None,
               "effective_on": None}]
    drawing = timeline([edition(2021, "2021-03-01", "2021-03-15", "2021-04-01", amendments=sheets)],
                       date(2026, 12, 1), date(2026, 12, 1))
    (mark,) = drawing.rows[0].marks
    assert mark.label == "XG1" and mark.title == "修改单 JGSW05001—2021/XG1—2023：2023年3月1日"


def test_nothing_to_draw_without_an_edition():
    assert timeline([], date(2026, 12, 1), date(2026, 12, 1)) is None
