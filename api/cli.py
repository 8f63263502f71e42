"""The `lifecycle` command (API.md "Command line")."""

from __future__ import annotations

import os
import sys

import click

from lifecycle.config import ConfigError, Settings
from lifecycle.errors import DomainError


def _app(create_tables: bool = True):
    """The application for this command; its connections close with the command."""
    from lifecycle.application import StandardsApp

    app = StandardsApp(Settings.from_env(), create_tables=create_tables)
    click.get_current_context().call_on_close(app.close)
    return app


@click.group()
def main() -> None:
    """Operate the JGSW standards lifecycle service."""


@main.command()
def seed() -> None:
    """Load the 2018 catalogue of the seed document; safe to run twice."""
    from lifecycle.seed import seed as run_seed

    recorded = run_seed(_app())
    if recorded:
        click.echo(f"recorded {len(recorded)} standards: {', '.join(recorded)}", err=True)
    else:
        click.echo("the 2018 catalogue is already recorded; nothing changed", err=True)


def progress(desc: str, total: int):
    """A progress bar on stderr, counting events (stdout stays for results)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="event", desc=desc, file=sys.stderr)


def log_length(app) -> int:
    return app.recorder.max_notification_id() or 0


@main.group()
def user() -> None:
    """Manage users and their tokens."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True,
              help="drafter, reviewer, approver, publisher, auditor or admin; repeat or comma-separate")
def user_add(name: str, roles: tuple[str, ...]) -> None:
    """Create a user and print its token, alone, on standard output."""
    from lifecycle.users import parse_roles

    wanted = [r.strip() for value in roles for r in value.split(",") if r.strip()]
    token = _app().add_user(name, parse_roles(wanted))
    click.echo(token)


@user.command("token")
@click.argument("name")
def user_token(name: str) -> None:
    """Give an existing user a new token (the old one stops working); print it alone."""
    click.echo(_app().reissue_token(name))


@user.command("revoke")
@click.argument("name")
def user_revoke(name: str) -> None:
    """Revoke a user's token at once."""
    _app().revoke_user(name)
    click.echo(f"revoked the token of {name}", err=True)


@main.command()
def rebuild() -> None:
    """Rebuild every projection from the event log."""
    from projections.rebuild import rebuild as run_rebuild

    app = _app()
    with progress("rebuild", log_length(app)) as bar:
        position = run_rebuild(app, progress=bar.update)
    click.echo(f"projections rebuilt up to log position {position}", err=True)


@main.command()
def verify() -> None:
    """Re-read the whole log and check its chain; print the head hash."""
    from projections.verify import verify_log

    app = _app()
    with progress("verify", log_length(app)) as bar:
        head, last, broken = verify_log(app, progress=bar.update)
    if broken is not None:
        click.echo(f"the chain breaks at position {broken.position}: {broken.problem}", err=True)
        sys.exit(2)
    click.echo(head)
    click.echo(f"{last} events verified; head hash above", err=True)


@main.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
def export_log(file: str) -> None:
    """Write the whole event log as JSON lines, with positions and the chain head."""
    from projections.transfer import export

    app = _app()
    with click.open_file(file, "w", encoding="utf-8", atomic=file != "-") as out, \
            progress("export", log_length(app)) as bar:
        last, head = export(app, out, progress=bar.update)
    click.echo(f"exported the log up to position {last}, chain head {head}", err=True)


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_log(file: str) -> None:
    """Load an exported log into an empty store (either kind), then rebuild."""
    from projections.transfer import TransferError, import_log as run_import, read_header

    app = _app()
    with open(file, encoding="utf-8") as f:
        try:
            total = read_header(iter(f)).get("events", 0)
        except TransferError as e:
            raise click.ClickException(str(e)) from None
    try:
        with progress("import", total) as bar:
            last, head = run_import(app, lambda: open(file, encoding="utf-8"), progress=bar.update)
    except TransferError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"imported {total} events up to position {last}; chain head {head}", err=True)
    click.echo(head)


@main.command()
@click.option("--bind", default=None, help="host:port (default LIFECYCLE_BIND or 127.0.0.1:8000)")
@click.option("--workers", type=int, default=None,
              help="worker processes (default LIFECYCLE_WORKERS or 2 x cores, at most 8)")
def serve(bind: str | None, workers: int | None) -> None:
    """Run the API under gunicorn (api/gunicorn.conf.py) on the configured store."""
    from api.server import serve as run_server

    Settings.from_env()  # a bad setting fails here, not in every worker
    run_server(bind=bind, workers=workers)


def _register_more_commands() -> None:
    from api.cli_snapshot import snapshot

    main.add_command(snapshot)


_register_more_commands()


def run() -> None:
    try:
        main(standalone_mode=False)
    except (DomainError, ConfigError) as e:
        click.echo(f"error: {getattr(e, 'message', e)}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)


if __name__ == "__main__":
    run()
