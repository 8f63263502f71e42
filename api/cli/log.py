"""`lifecycle seed | rebuild | verify | export | import`: the log and its projections."""

from __future__ import annotations

import json
import sys
from typing import IO, Any, NoReturn

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
@click.option("--since", "since", type=click.Path(exists=True, dir_okay=False), default=None,
              help="a snapshot (.json) or export (.jsonl) whose signed head the log must still extend")
@click.option("--trusted-key", "trusted_keys", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="a public key (PEM) besides this register's own that may have signed that head")
def verify(since: str | None, trusted_keys: tuple[str, ...]) -> None:
    """Check the chain, every projection row and every stored file against the
    log; with --since, that the log still extends an earlier signed head.
    Prints the head hash; exits 2 naming the first difference."""
    from projections.verify import verify_log, verify_projections, verify_since, verify_snapshots

    register = open_register()
    keys = [register.signer.public, *(_public_key(k) for k in trusted_keys)]
    signed = _signed_head(since) if since else None
    events = register.log_position()
    with progress("verify chain", events) as bar:
        checked = verify_log(register, progress=bar.update)
    if checked.broken is not None:
        _fail(f"the chain breaks at position {checked.broken.position}: {checked.broken.problem}")
    states: dict[Any, Any] = {}
    with progress("verify rows", events) as bar:
        difference = verify_projections(register, progress=bar.update, states=states)
    if difference is not None:
        _fail(f"the projections differ from the log: {difference}")
    snapshots, problem = verify_snapshots(register, states)
    if problem is not None:
        _fail(problem)
    verify_contents(register)
    if signed is not None:
        problem = verify_since(register, signed, keys)
        if problem is not None:
            _fail(f"{since}: {problem}")
    click.echo(checked.head)
    extends = f"; it extends the head signed at position {signed.position} in {since}" if signed else ""
    click.echo(f"{checked.events} events, every projection row and {snapshots} aggregate snapshots "
               f"verified{extends}; head hash above; "
               f"signing key {register.signer.fingerprint}", err=True)


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(2)


def _public_key(path: str) -> Any:
    from projections.signing import SigningError, load_public_key

    try:
        return load_public_key(path)
    except SigningError as e:
        raise click.UsageError(str(e)) from None


def _signed_head(path: str) -> Any:
    """The signed head a snapshot (its JSON) or an export (its header line) records."""
    from projections.signing import SignedHead, SigningError

    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
            doc = json.loads(first) if first.lstrip().startswith("{") and first.rstrip().endswith("}") \
                else json.loads(first + f.read())
        return SignedHead.from_dict(doc["signed_head"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, SigningError) as e:
        raise click.UsageError(f"{path} records no signed head ({type(e).__name__}: {e})") from None


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
@click.option("--trusted-key", "trusted_keys", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="a public key (PEM) besides this register's own that may have signed the file's head")
@click.option("--trust-unsigned", is_flag=True,
              help="load a file whose head is not signed (one exported before heads were signed)")
def import_log(file: str, trusted_keys: tuple[str, ...], trust_unsigned: bool) -> None:
    """Load an exported log into an empty store (either kind): its signed
    head, chain and every event are checked, and it is loaded with its
    projections in one transaction, or not at all."""
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
            last, head, trust = run_import(register, source, progress=bar.update,
                                           trust_unsigned=trust_unsigned,
                                           trusted_keys=[_public_key(k) for k in trusted_keys])
    except TransferError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"imported {total} events up to position {last}; chain head {head}; the file's head was "
               f"{trust}", err=True)
    click.echo(head)
