"""What the service layer needs from the read side, as small Protocols: the
register's projections (projections/) implement them, and the composition
root (api/bootstrap.py) wires them in, so lifecycle/ imports no read model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.domain import Aggregate, DomainEventProtocol


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to an idempotent command, kept for its retries."""

    request_hash: str
    code: str
    version: int
    status: int | None = None   # None until the answer is stored after the commit
    etag: str | None = None
    location: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class UserRow:
    """A user as the `users` projection holds it."""

    name: str
    roles: tuple[str, ...]
    token_hash: str
    version: int


class RegisterReads(Protocol):
    """The few facts a command needs from the projections."""

    def used_sub_items(self, category: str) -> list[str]:
        """Every sub-item ever drafted in the category."""

    def exists(self, code: str) -> bool: ...

    def edition_years(self, code: str) -> list[int] | None:
        """The years of the standard's approved editions; None if there is no such standard."""

    def idempotency(self, key: str) -> StoredAnswer | None: ...


    def user_by_token_hash(self, token_hash: str) -> UserRow | None:
        """The user holding this token."""


class Projection(Protocol):
    """Turns a command's new events into the projection changes recorded with them."""

    def slices(self, aggregate: Aggregate | None) -> Any:
        """What the aggregate projects now (taken before a command runs)."""

    def changes_for_save(self, aggregate: Aggregate, pending: Sequence[DomainEventProtocol],
                         before: Any, state_before: Callable[[], Aggregate | None]) -> list[Any]: ...
