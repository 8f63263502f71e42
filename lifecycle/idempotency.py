"""Idempotent retries: a command sent with an Idempotency-Key is recorded at
most once. The key is claimed in the same transaction as the command's
events, so two copies arriving at once on different workers cannot both
record; the loser learns that the key was taken and answers with the first
answer."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

KEEP = timedelta(hours=48)  # keys are kept at least 24 hours, as promised

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


def claim(code: str, version: int) -> tuple[str, str, str, int, str, str] | None:
    """What the recorder writes beside the events, or None without a key."""
    key = _current.get()
    if key is None:
        return None
    now = datetime.now(timezone.utc)
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    return (key.key, key.request_hash, code, version, now.strftime(stamp),
            (now - KEEP).strftime(stamp))
