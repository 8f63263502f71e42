"""`lifecycle snapshot`: write the nightly catalogue snapshot, or prove one
against the event log (projections/snapshot.py does the work)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from api.cli.common import Day, OperatorError, open_register


@click.group(invoke_without_command=True)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="where to write catalogue-<date>.json, .csv and .sha256 (created if missing)")
@click.option("--as-of", "as_of", type=Day(), default=None,
              help="the day the catalogue is as of, YYYY-MM-DD, 1949-01-01 to 2100-12-31 "
                   "(default: today in LIFECYCLE_TIMEZONE)")
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="keep the N newest snapshots (by the date in their names); delete older ones")
@click.pass_context
def snapshot(ctx: click.Context, directory: Path | None, as_of: date | None,
             keep: int | None) -> None:
    """Write the catalogue as of a day (JSON, CSV, SHA-256 list), or `verify FILE`."""
    if ctx.invoked_subcommand is not None:
        if directory is not None or as_of is not None or keep is not None:
            raise click.UsageError("--dir, --as-of and --keep write a snapshot; "
                                   "they do not go with a subcommand")
        return
    if directory is None:
        raise click.UsageError("Missing option '--dir' (or use: lifecycle snapshot verify FILE)")
    from projections.snapshot import write

    make_directory(directory)
    app = open_register()
    try:
        written, facts = write(app, directory, as_of or app.today(), keep)
    except OSError as e:  # the directory refuses files: permissions, a read-only or full disk
        raise OperatorError(f"cannot write the snapshot into {directory}: {e.strerror or e}") from None
    finally:
        app.close()
    for p in written:
        click.echo(str(p))
    pruned = f"; deleted {len(facts['deleted'])} older files" if facts["deleted"] else ""
    click.echo(f"snapshot of {facts['count']} standards as of {facts['as_of']} at log position "
               f"{facts['position']} (chain head {facts['chain_head']}){pruned}", err=True)


def make_directory(directory: Path) -> None:
    """Create --dir if it is missing; a path that cannot be a directory is
    refused in one line, naming the part in the way."""
    blocker = next((p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise OperatorError(f"--dir {directory}: {blocker} is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OperatorError(f"--dir {directory}: cannot create it: {e.strerror or e}") from None


@snapshot.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(file: Path) -> None:
    """Rebuild the catalogue from the log up to the snapshot's position and
    as-of date; confirm byte equality and the chain head (exit 1 otherwise)."""
    from tqdm import tqdm

    from projections.snapshot import verify

    app = open_register()
    with tqdm(total=0, unit="event", desc="verify", file=sys.stderr, leave=False, delay=0.5) as bar:
        def progress(n: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
                bar.refresh()
            bar.update(n)

        try:
            problems, facts = verify(app, file, progress)
        finally:
            app.close()
    if problems:
        for p in problems:
            click.echo(f"{file}: {p}", err=True)
        click.echo(f"FAILED: {file} does not match the log ({len(problems)} differences)", err=True)
        sys.exit(1)
    click.echo(f"OK: {file} matches the log at position {facts['position']} "
               f"(chain head {facts['chain_head']})")
