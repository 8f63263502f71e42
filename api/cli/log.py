"""`lifecycle seed | rebuild | verify | export | import`: the log and its projections."""

from __future__ import annotations

import sys
from typing import IO

import click

from api.cli.common import open_register, progress
from projections.register import Register


@click.command()
def seed() -> None:
    """Load the 2018 catalogue of the seed document; safe to run twice."""
    from lifecycle.seed import seed as run_seed

    recorded = run_seed(open_register())
    if recorded:
        click.echo(f"recorded {len(recorded)} standards: {', '.join(recorded)}", err=True)
    else:
        click.echo("the 2018 catalogue is already recorded; nothing changed", err=True)


@click.command()
def rebuild() -> None:
    """Rebuild every projection from the event log."""
    from projections.rebuild import rebuild as run_rebuild

    register = open_register()
    with progress("rebuild", register.log_position()) as bar:
        position = run_rebuild(register, progress=bar.update)
    click.echo(f"projections rebuilt up to log position {position}", err=True)


@click.command()
def verify() -> None:
    """Re-read the whole log and check its chain; print the head hash."""
    from projections.verify import verify_log

    register = open_register()
    with progress("verify", register.log_position()) as bar:
        head, last, broken = verify_log(register, progress=bar.update)
    if broken is not None:
        click.echo(f"the chain breaks at position {broken.position}: {broken.problem}", err=True)
        sys.exit(2)
    verify_contents(register)
    click.echo(head)
    click.echo(f"{last} events verified; head hash above", err=True)


def verify_contents(register: Register) -> None:
    """Re-hash every stored file; exit 2 naming the first that differs."""
    from projections.verify_files import first_bad_content

    with progress("files", register.log_position()) as bar:
        checked, bad = first_bad_content(register, progress=bar.update)
    if bad is not None:
        click.echo(f"the file {bad.name!r} of {bad.code} (named at position {bad.position}) is "
                   f"not its bytes: content {bad.sha256}: {bad.problem}", err=True)
        sys.exit(2)
    click.echo(f"{checked} stored files re-hashed", err=True)


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
def export_log(file: str) -> None:
    """Write the whole event log as JSON lines, with positions and the chain head."""
    from projections.transfer import export

    register = open_register()
    with click.open_file(file, "w", encoding="utf-8", atomic=file != "-") as out, \
            progress("export", register.log_position()) as bar:
        last, head = export(register, out, progress=bar.update)
    click.echo(f"exported the log up to position {last}, chain head {head}", err=True)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_log(file: str) -> None:
    """Load an exported log into an empty store (either kind), then rebuild."""
    from projections.transfer import TransferError, read_header
    from projections.transfer import import_log as run_import

    register = open_register()
    with open(file, encoding="utf-8") as f:
        try:
            total = read_header(iter(f)).get("events", 0)
        except TransferError as e:
            raise click.ClickException(str(e)) from None
    def source() -> IO[str]:
        return open(file, encoding="utf-8")  # import_log reads it twice, closing it each time

    try:
        with progress("import", total) as bar:
            last, head = run_import(register, source, progress=bar.update)
    except TransferError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"imported {total} events up to position {last}; chain head {head}", err=True)
    click.echo(head)
