"""The edition timeline: one bar per edition across the years, cut where its
status changes (即将实施, 试行, 现行, 被代替, 废止), with amendment marks, a
line for today and one for the day asked about. Geometry only: the template
(pages/timeline.html) draws it as inline SVG. The statuses come from
lifecycle.status.edition_status, the rule every view uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

from api.pages.words import as_date, chinese_date
from lifecycle.status import LABELS, edition_status

WIDTH = 340         # viewBox units: a 360 px screen shows the chart at about its own size
FONT = 13           # px of a CJK character; Latin letters and digits take about half
LEFT, RIGHT = 6, 6
TOP = 38            # room for the labels of the two day lines
ROW = 44            # one edition: a headline, then its bar
BAR = 16
AXIS = 30           # the year axis under the bars
MIN_YEARS = 4


@dataclass
class Dates:
    """What lifecycle.status needs of an edition (its EditionDates), read from its view."""

    year: int
    approved_on: date
    issued_on: date | None
    effective_on: date | None
    trial: bool
    superseded_on: date | None
    withdrawn_on: date | None

    @classmethod
    def of(cls, view: dict[str, Any]) -> Dates:
        approved = as_date(view["approved_on"])
        assert approved is not None  # an edition exists from its approval
        return cls(view["year"], approved, as_date(view.get("issued_on")),
                   as_date(view.get("effective_on")), bool(view.get("trial")),
                   as_date(view.get("superseded_on")), as_date(view.get("withdrawn_on")))

    def days(self) -> list[date]:
        return [d for d in (self.approved_on, self.issued_on, self.effective_on,
                            self.superseded_on, self.withdrawn_on) if d is not None]


@dataclass(frozen=True)
class Segment:
    status: str
    label: str
    x: float
    width: float
    title: str          # what a reader hovering (or a screen reader) is told
    show_label: bool    # the label fits inside the bar


@dataclass(frozen=True)
class Mark:
    x: float
    label: str
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str          # empty on years between labelled ones
    anchor: str         # the chart's first and last labels stay inside it


@dataclass(frozen=True)
class Row:
    y: float
    headline: str
    segments: list[Segment]
    marks: list[Mark]


@dataclass(frozen=True)
class DayLine:
    x: float
    label: str
    day: date
    kind: str
    label_y: float
    anchor: str         # the label runs right of the line, or left of it near the right edge


@dataclass(frozen=True)
class Timeline:
    width: int
    height: float
    rows: list[Row]
    ticks: list[Tick]
    axis_y: float
    lines: list[DayLine]
    legend: list[tuple[str, str]]
    summary: str


def text_width(text: str) -> float:
    return sum(FONT if ord(ch) > 0x2E80 else FONT * 0.6 for ch in text)


class Scale:
    """Days to x across whole years, from the first approval to the year after
    the last day shown."""

    def __init__(self, first: date, last: date) -> None:
        end_year = last.year + 1
        self.start = date(min(first.year, end_year - MIN_YEARS), 1, 1)
        self.end = date(end_year, 1, 1)
        self.span = (self.end - self.start).days

    def x(self, day: date) -> float:
        day = min(max(day, self.start), self.end)
        return round(LEFT + (day - self.start).days / self.span * (WIDTH - LEFT - RIGHT), 1)

    def ticks(self) -> list[Tick]:
        """Every year's line, labelled every `step` years so that labels never crowd."""
        years = self.end.year - self.start.year
        step = next(s for s in (1, 2, 5, 10, 20, 50) if years / s <= 6)
        out = []
        for year in range(self.start.year, self.end.year + 1):
            x = self.x(date(year, 1, 1))
            anchor = "start" if x < 20 else "end" if x > WIDTH - 20 else "middle"
            out.append(Tick(x, str(year) if year % step == 0 else "", anchor))
        return out


def segments(edition: Dates, scale: Scale) -> list[Segment]:
    """The edition's bar, cut at each day its status changes, to the chart's end."""
    cuts = sorted({d for d in edition.days() if d < scale.end} | {scale.end})
    found: list[tuple[str, date, date]] = []
    for start, stop in pairwise(cuts):
        status = edition_status(edition, start)
        if found and found[-1][0] == status:
            found[-1] = (status, found[-1][1], stop)
        else:
            found.append((status, start, stop))
    out = []
    for status, start, stop in found:
        x, width = scale.x(start), scale.x(stop) - scale.x(start)
        until = "" if stop == scale.end else f"至{chinese_date(stop)}"
        out.append(Segment(status, LABELS[status], x, round(width, 1),
                           f"{LABELS[status]}：{chinese_date(start)}起{until}",
                           width >= text_width(LABELS[status]) + 6))
    return out


def marks(view: dict[str, Any], scale: Scale) -> list[Mark]:
    """Amendment sheets (修改单) that took effect or were approved, when the view lists them."""
    out = []
    for sheet in view.get("amendments") or []:
        day = as_date(sheet.get("effective_on") or sheet.get("approved_on"))
        if day is None or sheet.get("status") == "dropped":
            continue
        label = f"XG{sheet.get('n', '')}"
        out.append(Mark(scale.x(day), label,
                        f"修改单 {sheet.get('number') or label}：{chinese_date(day)}"))
    return out


def headline(view: dict[str, Any]) -> str:
    """The edition, its status on the day asked about, and when it took (or takes) effect."""
    if view.get("effective_on"):
        started = f"{chinese_date(view['effective_on'])}{'试行' if view.get('trial') else '实施'}"
    else:
        started = f"{chinese_date(view['approved_on'])}批准"
    return f"{view['number']}  {view['status_label']}  {started}"


def day_line(x: float, label: str, day: date, kind: str, label_y: float) -> DayLine:
    anchor = "end" if x + text_width(label) > WIDTH - RIGHT else "start"
    return DayLine(x, label, day, kind, label_y, anchor)


def timeline(editions: list[dict[str, Any]], today: date, as_of: date) -> Timeline | None:
    """The drawing of these edition views (oldest first); None when no edition exists."""
    if not editions:
        return None
    dates = [Dates.of(v) for v in editions]
    every_day = [d for e in dates for d in e.days()]
    scale = Scale(min(every_day), max([*every_day, today, as_of]))
    rows = [Row(TOP + i * ROW, headline(view), segments(e, scale), marks(view, scale))
            for i, (view, e) in enumerate(zip(editions, dates, strict=True))]
    axis_y = TOP + len(rows) * ROW + 4
    days = [("today", "今天", today)] + ([("as-of", "查询日", as_of)] if as_of != today else [])
    lines = [day_line(scale.x(day), f"{word} {chinese_date(day)}", day, kind, 14 + 16 * i)
             for i, (kind, word, day) in enumerate(days)]
    shown = {s.status for r in rows for s in r.segments}
    legend = [(status, LABELS[status]) for status in LABELS if status in shown]
    summary = "；".join(f"{v['number']}：{'，'.join(s.title for s in r.segments)}"
                       for v, r in zip(editions, rows, strict=True))
    return Timeline(WIDTH, axis_y + AXIS, rows, scale.ticks(), axis_y, lines, legend, summary)
