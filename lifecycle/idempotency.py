"""Idempotent retries: a command sent with an Idempotency-Key is recorded at
most once. The key is claimed in the same transaction as the command's
events, so two copies arriving at once on different workers cannot both
record; the loser learns that the key was taken and answers with the first
answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

KEEP = timedelta(hours=48)  # how long a key is kept (README "Retries")

_current: ContextVar[IdempotencyKey | None] = ContextVar("idempotency_key", default=None)


@dataclass(frozen=True)
class IdempotencyKey:
    key: str            # scoped to the user: "<user>:<Idempotency-Key>"
    request_hash: str   # method, path and body of the request


class AlreadyRecorded(Exception):
    """The key was claimed by a command recorded a moment ago."""

    def __init__(self, key: IdempotencyKey) -> None:
        super().__init__(key.key)
        self.key = key


@contextmanager
def using(key: IdempotencyKey | None) -> Iterator[None]:
    token = _current.set(key)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> IdempotencyKey | None:
    return _current.get()


@dataclass(frozen=True)
class Claim:
    """What the recorder writes beside a command's events: the key, what the
    request was, the version it recorded, and when; keys older than
    `expired` are pruned in the same transaction."""

    key: str
    request_hash: str
    code: str
    version: int
    created_at: str
    expired: str


def claim(code: str, version: int) -> Claim | None:
    """The claim of the current request's key, or None without a key."""
    key = _current.get()
    if key is None:
        return None
    now = datetime.now(UTC)
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    return Claim(key.key, key.request_hash, code, version, now.strftime(stamp),
                 (now - KEEP).strftime(stamp))
