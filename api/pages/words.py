"""How the pages say things in Chinese: dates as people read them
(2019年1月1日), and the words for roles, review outcomes and due reasons.
Status and level words come from the domain (lifecycle.status.LABELS,
lifecycle.domain.LEVEL_LABELS), as the API gives them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

ROLE_LABELS = {"drafter": "起草人", "reviewer": "审查人", "approver": "批准人",
               "publisher": "发布人", "auditor": "审计员", "admin": "管理员"}
OUTCOME_LABELS = {"confirm": "确认继续有效", "revise": "修订", "withdraw": "废止"}
DUE_REASONS = {"interval": "到复审期", "reference_changed": "引用的标准已变化",
               "paperwork": "紧急批准待补办手续"}
AMENDMENT_STATUS = {"draft": "草案", "approved": "已批准", "in_force": "已实施", "dropped": "已撤销"}


def as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def chinese_date(value: date | str | None) -> str:
    """2019年1月1日; empty for no date."""
    day = as_date(value)
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def local_time(recorded_at: str, zone: ZoneInfo) -> str:
    """A recorded time (RFC 3339, UTC) as the office reads it: 2026年11月27日 14:03."""
    moment = datetime.fromisoformat(recorded_at.replace("Z", "+00:00")).astimezone(zone)
    return f"{chinese_date(moment.date())} {moment:%H:%M}"


def day_element(value: date | str | None) -> Markup:
    """A date people read, with the ISO date for machines: <time datetime>.
    (A filter rather than a Jinja macro: a standard's page has hundreds.)"""
    day = as_date(value)
    if day is None:
        return Markup('<span class="none">—</span>')
    return Markup('<time datetime="{}">{}</time>').format(day.isoformat(), chinese_date(day))


def status_element(code: str, label: str) -> Markup:
    """A status in colour (its CSS class) and in words."""
    return Markup('<span class="status status-{}">{}</span>').format(code, label)
