"""Users and their roles, event-sourced like everything else, so auditors can
see who was granted what and when. Only a SHA-256 of a token is ever stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from enum import Enum
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from lifecycle.domain import NAMESPACE
from lifecycle.errors import InvalidInput


class Role(Enum):
    DRAFTER = "drafter"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    PUBLISHER = "publisher"
    AUDITOR = "auditor"
    ADMIN = "admin"


# command -> roles that may run it (API.md "Who may do what").
PERMISSIONS: dict[str, frozenset[Role]] = {
    "draft": frozenset({Role.DRAFTER}),
    "edit_draft": frozenset({Role.DRAFTER}),
    "submit": frozenset({Role.DRAFTER}),
    "open_revision": frozenset({Role.DRAFTER}),
    "request_changes": frozenset({Role.REVIEWER, Role.APPROVER}),
    "approve": frozenset({Role.APPROVER}),
    "publish": frozenset({Role.PUBLISHER}),
    "withdraw": frozenset({Role.APPROVER}),
    "review": frozenset({Role.APPROVER}),
    "read_audit": frozenset({Role.AUDITOR, Role.ADMIN}),
    "manage_users": frozenset({Role.ADMIN}),
}

NAME = re.compile(r"^[\w.@-]{1,64}$")


def user_id(name: str) -> UUID:
    return uuid5(NAMESPACE, f"user:{name}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def parse_roles(values: list[str]) -> list[Role]:
    try:
        return sorted({Role(v) for v in values}, key=lambda r: list(Role).index(r))
    except ValueError:
        bad = next(v for v in values if v not in Role._value2member_map_)
        raise InvalidInput("role", f"unknown role {bad!r}: one of {', '.join(r.value for r in Role)}") from None


class User(Aggregate):
    class Added(Aggregate.Created):
        name: str
        roles: list[Role]
        token_hash: str
        actor: str

    class TokenRevoked(Aggregate.Event):
        actor: str

        def apply(self, user: User) -> None:
            user.token_hash = None

    class TokenIssued(Aggregate.Event):
        token_hash: str
        actor: str

        def apply(self, user: User) -> None:
            user.token_hash = self.token_hash

    def __init__(self, name: str, roles: list[Role], token_hash: str, actor: str) -> None:
        self.name = name
        self.roles = [Role(r) for r in roles]
        self.token_hash: str | None = token_hash

    @classmethod
    def add(cls, name: str, roles: list[Role], token_hash: str, actor: str) -> User:
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

    def may(self, command: str) -> bool:
        return bool(PERMISSIONS[command] & set(self.roles))
