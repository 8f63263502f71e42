"""What every `lifecycle` subcommand shares: the register for this command
(closed when it ends) and a progress bar on stderr."""

from __future__ import annotations

import calendar
import re
import sys
from datetime import date
from typing import Any

import click

from api.bootstrap import bootstrap
from lifecycle import numbering
from lifecycle.config import Settings
from projections.register import Register


class OperatorError(click.ClickException):
    """What the operator gave cannot be used: one line on stderr, exit 2 (as
    click's usage errors), never a traceback."""

    exit_code = 2


class Day(click.ParamType):
    """A day as YYYY-MM-DD within the years the numbering rules accept; each
    way of being wrong is named (a day the calendar lacks, a month, the range)."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", str(value).strip())
        if m is None:
            self.fail(f"{value} is not a day: write YYYY-MM-DD, e.g. 2019-06-01", param, ctx)
        year, month, day = (int(part) for part in m.groups())
        if not 1 <= month <= 12:
            self.fail(f"{value} is not a day: there is no month {month}", param, ctx)
        if not numbering.FIRST_DAY.year <= year <= numbering.LAST_DAY.year:
            self.fail(f"{value} is outside {numbering.FIRST_DAY} to {numbering.LAST_DAY}, "
                      "the years the numbering rules accept", param, ctx)
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            self.fail(f"{value} is not a day: {calendar.month_name[month]} {year} has {last} days",
                      param, ctx)
        return date(year, month, day)


def open_register(create_tables: bool = True) -> Register:
    """The register for this command; its connections close with the command."""
    register = bootstrap(Settings.from_env(), create_tables=create_tables)
    click.get_current_context().call_on_close(register.close)
    return register


def progress(desc: str, total: int) -> Any:
    """A progress bar on stderr, counting events (stdout stays for results)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="event", desc=desc, file=sys.stderr)
