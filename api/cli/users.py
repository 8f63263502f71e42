"""`lifecycle user …`: users and their tokens. Each is a command of the
registry, sent by the operator at the console."""

from __future__ import annotations

import click

from api.cli.common import open_register
from lifecycle.commands import AddUser, IssueToken, RevokeToken
from lifecycle.users import parse_roles, token_pair

OPERATOR = "operator"  # the actor of commands typed at the console


@click.group()
def user() -> None:
    """Manage users and their tokens."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True,
              help="drafter, reviewer, approver, publisher, auditor or admin; repeat or comma-separate")
def user_add(name: str, roles: tuple[str, ...]) -> None:
    """Create a user and print its token, alone, on standard output."""
    wanted = [r.strip() for value in roles for r in value.split(",") if r.strip()]
    token, digest = token_pair()
    open_register().handle(AddUser(name=name, roles=tuple(parse_roles(wanted)), token_hash=digest,
                                   actor=OPERATOR))
    click.echo(token)


@user.command("token")
@click.argument("name")
def user_token(name: str) -> None:
    """Give an existing user a new token (the old one stops working); print it alone."""
    token, digest = token_pair()
    open_register().handle(IssueToken(name=name, token_hash=digest, actor=OPERATOR))
    click.echo(token)


@user.command("revoke")
@click.argument("name")
def user_revoke(name: str) -> None:
    """Revoke a user's token at once."""
    open_register().handle(RevokeToken(name=name, actor=OPERATOR))
    click.echo(f"revoked the token of {name}", err=True)
