"""Users for tests, added through the command registry as the CLI adds them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lifecycle.commands import AddUser, IssueToken, RevokeToken
from lifecycle.users import Role, token_pair

OPERATOR = "operator"


def add_user(register: Any, name: str, roles: Iterable[Role], actor: str = OPERATOR) -> str:
    """Add a user; returns the token (only its hash is recorded)."""
    token, digest = token_pair()
    register.handle(AddUser(name=name, roles=tuple(roles), token_hash=digest, actor=actor))
    return token


def reissue_token(register: Any, name: str, actor: str = OPERATOR) -> str:
    token, digest = token_pair()
    register.handle(IssueToken(name=name, token_hash=digest, actor=actor))
    return token


def revoke_user(register: Any, name: str, actor: str = OPERATOR) -> None:
    register.handle(RevokeToken(name=name, actor=actor))


def send(register: Any, command: type, code: Any = None, **fields: Any) -> Any:
    """Send one command of the registry, by whoever `actor` names; on an
    existing standard (`code`) without If-Match."""
    if code is not None:
        from lifecycle.numbering import parse_code

        fields.update(code=parse_code(str(code)), expected_version=None)
    return register.handle(command(**fields))
