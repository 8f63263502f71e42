"""What every `lifecycle` subcommand shares: the register for this command
(closed when it ends) and a progress bar on stderr."""

from __future__ import annotations

import sys
from typing import Any

import click

from api.bootstrap import bootstrap
from lifecycle.config import Settings
from projections.register import Register


def open_register(create_tables: bool = True) -> Register:
    """The register for this command; its connections close with the command."""
    register = bootstrap(Settings.from_env(), create_tables=create_tables)
    click.get_current_context().call_on_close(register.close)
    return register


def progress(desc: str, total: int) -> Any:
    """A progress bar on stderr, counting events (stdout stays for results)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="event", desc=desc, file=sys.stderr)
