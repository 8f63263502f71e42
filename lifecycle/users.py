"""Users and their roles, event-sourced like everything else, so auditors can
see who was granted what and when. Only a SHA-256 of a token is ever stored."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from lifecycle.commands import REGISTRY
from lifecycle.domain import NAMESPACE
from lifecycle.errors import InvalidInput
from lifecycle.vocabulary import Role

__all__ = ["PERMISSIONS", "Role", "User", "fold_name", "hash_token", "may", "new_token", "parse_roles",
           "token_pair", "user_id"]

# What people may read beyond the catalogue, which every signed-in user reads.
READ_PERMISSIONS: dict[str, frozenset[Role]] = {
    "read_audit": frozenset({Role.AUDITOR, Role.ADMIN}),
    "read_subscriptions": frozenset({Role.ADMIN}),
}

# command (or read) -> roles that may run it: the registry's, and the reads above.
PERMISSIONS: dict[str, frozenset[Role]] = {
    **{name: spec.roles for name, spec in REGISTRY.items()},
    **READ_PERMISSIONS,
}

NAME = re.compile(r"^[\w.@-]{1,64}$")


def may(roles: Iterable[Role], command: str) -> bool:
    """Does any of these roles allow `command` (a command or read of PERMISSIONS)?"""
    return not PERMISSIONS[command].isdisjoint(roles)


def fold_name(name: str) -> str:
    """A user name as one identity: NFKC, so that names differing only in
    width or compatibility forms (ｖｉｃｔｉｍ, victim) are one user. ASCII
    names are left as they are, so recorded ids never change."""
    return unicodedata.normalize("NFKC", name)


def user_id(name: str) -> UUID:
    return uuid5(NAMESPACE, f"user:{fold_name(name)}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_pair() -> tuple[str, str]:
    """A new token and its SHA-256: the token goes to its holder, the hash to the log."""
    token = new_token()
    return token, hash_token(token)


def parse_roles(values: list[str]) -> list[Role]:
    try:
        return sorted({Role(v) for v in values}, key=lambda r: list(Role).index(r))
    except ValueError:
        bad = next(v for v in values if v not in Role._value2member_map_)
        known = ", ".join(r.value for r in Role)
        raise InvalidInput("role", f"unknown role {bad!r}: one of {known}") from None


class User(Aggregate):
    class Event(Aggregate.Event):
        actor: str

    class Added(Event, Aggregate.Created):
        name: str
        roles: list[Role]
        token_hash: str

    class TokenRevoked(Event):
        def apply(self, user: User) -> None:
            user.token_hash = None

    class TokenIssued(Event):
        token_hash: str

        def apply(self, user: User) -> None:
            user.token_hash = self.token_hash

    def __init__(self, name: str, roles: list[Role], token_hash: str, actor: str) -> None:
        self.name = name
        self.roles = [Role(r) for r in roles]
        self.token_hash: str | None = token_hash

    @classmethod
    def add(cls, name: str, roles: list[Role], token_hash: str, actor: str) -> User:
        name = fold_name(name)
        if not NAME.fullmatch(name):
            raise InvalidInput("name", f"{name!r} is not a user name: letters, digits, . @ - _ (at most 64)")
        if not roles:
            raise InvalidInput("role", "a user needs at least one role")
        return cls._create(cls.Added, id=user_id(name), name=name, roles=list(roles),
                           token_hash=token_hash, actor=actor)

    def revoke(self, actor: str) -> None:
        self.trigger_event(self.TokenRevoked, actor=actor)

    def issue_token(self, token_hash: str, actor: str) -> None:
        self.trigger_event(self.TokenIssued, token_hash=token_hash, actor=actor)
