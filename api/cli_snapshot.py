"""`lifecycle snapshot` (placeholder until the snapshot module lands)."""

import click


@click.group(invoke_without_command=True)
def snapshot() -> None:
    """Write or verify the nightly catalogue snapshot."""
    raise click.ClickException("not built yet")
