"""The tamper-evident chain over the event log: each event's hash is SHA-256
over the previous hash and a canonical encoding of the stored event, so
editing, deleting, reordering or inserting a stored event breaks every hash
from there on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(position: int, originator_id: Any, version: int, topic: str, state: bytes | str) -> bytes:
    """position, originator id, version and topic on one line each, then the state bytes."""
    # A tampered row may hold text where bytes were stored: hash what is there.
    body = state.encode() if isinstance(state, str) else bytes(state)
    return f"{position}\n{originator_id}\n{version}\n{topic}\n".encode() + body


def link(previous: str, position: int, originator_id: Any, version: int, topic: str,
         state: bytes | str) -> str:
    h = hashlib.sha256(previous.encode("ascii"))
    h.update(b"\n")
    h.update(canonical(position, originator_id, version, topic, state))
    return h.hexdigest()


def link_notification(previous: str, n: Any) -> str:
    return link(previous, n.id, n.originator_id, n.originator_version, n.topic, n.state)


@dataclass(frozen=True)
class Break:
    position: int
    problem: str


def check(notifications: Iterable[Any], recorded: Iterator[tuple[int, str]],
          previous: str = GENESIS) -> tuple[str, int, Break | None]:
    """Walk the log and the recorded chain together. Returns the head hash,
    the last position checked, and the first break (or None)."""
    rec = next(recorded, None)
    last = 0
    for n in notifications:
        if rec is None or rec[0] > n.id:
            return previous, last, Break(n.id, "an event with no chain hash: inserted after the fact")
        if rec[0] < n.id:
            return previous, last, Break(rec[0], "the chain names an event that is missing: deleted")
        expected = link_notification(previous, n)
        if rec[1] != expected:
            since = f"position {last}" if last else "the start of the log"
            return previous, last, Break(n.id, "the event's content or order does not match its "
                                         "chain hash: edited or reordered, or an event between "
                                         f"{since} and this one was deleted with its chain link")
        previous, last = expected, n.id
        rec = next(recorded, None)
    if rec is not None:
        return previous, last, Break(rec[0], "the chain names an event that is missing: deleted")
    return previous, last, None
