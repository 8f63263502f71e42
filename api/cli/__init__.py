"""The `lifecycle` command (API.md "Command line"): one group, its
subcommands in the modules beside this one."""

from __future__ import annotations

import sys

import click

from api.cli import deliver, log, snapshot, users
from lifecycle.config import ConfigError, Settings
from lifecycle.errors import DomainError


@click.group()
def main() -> None:
    """Operate the JGSW standards lifecycle service."""


@main.command()
@click.option("--bind", default=None, help="host:port (default LIFECYCLE_BIND or 127.0.0.1:8000)")
@click.option("--workers", type=int, default=None,
              help="worker processes (default LIFECYCLE_WORKERS or 2 x cores, at most 8)")
def serve(bind: str | None, workers: int | None) -> None:
    """Run the API under gunicorn (api/gunicorn.conf.py) on the configured store."""
    from api.server import serve as run_server

    Settings.from_env()  # a bad setting fails here, not in every worker
    run_server(bind=bind, workers=workers)


for command in (log.seed, log.rebuild, log.verify, log.export_log, log.import_log, users.user,
                snapshot.snapshot, deliver.deliver):
    main.add_command(command)


def run() -> None:
    try:
        main(standalone_mode=False)
    except (DomainError, ConfigError) as e:
        click.echo(f"error: {getattr(e, 'message', e)}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.UsageError as e:  # one line, for cron's log too; --help has the usage
        where = e.ctx.command_path if e.ctx is not None else "lifecycle"
        click.echo(f"error: {e.format_message()} (see {where} --help)", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        click.echo(f"error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    run()
