"""From events to row changes. Each event moves its aggregate from one state
to the next; the slices that differ are closed at the event's record time
and the new ones opened. Commands (through the recorder) and `rebuild` both
go through `changes`, so they write the same rows."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from lifecycle.domain import Standard
from lifecycle.users import User
from projections.documents import Slices, record_time, standard_slices, user_row


@dataclass
class Change:
    """What one event does to the projection tables, at record time `at`."""

    at: str
    close: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    open: list[tuple[str, tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=list)
    users: list[tuple[Any, ...]] = field(default_factory=list)
    originators: list[tuple[str, str, str]] = field(default_factory=list)


def slices_of(aggregate: Any, zone: tzinfo, memo: dict | None = None) -> Slices:
    return standard_slices(aggregate, zone, memo) if isinstance(aggregate, Standard) else {}


def diff(before: Slices, after: Slices, at: str) -> Change:
    change = Change(at)
    for key, payload in before.items():
        if after.get(key) != payload:
            change.close.append(key)
    for key, payload in after.items():
        if before.get(key) != payload:
            change.open.append((key[0], key[1], payload))
    return change


def event_at(event: Any, previous: str | None) -> str:
    """An event's record time; never before its aggregate's previous one
    (clocks of several servers may disagree a little)."""
    at = record_time(event.timestamp)
    return max(at, previous) if previous else at


def originator_row(aggregate: Any) -> tuple[str, str, str]:
    if isinstance(aggregate, Standard):
        return (str(aggregate.id), "standard", aggregate.code)
    return (str(aggregate.id), "user", aggregate.name)


class Projector:
    """Keeps each aggregate's current slices and turns events into Changes."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.memo: dict = {}  # see documents.standard_slices

    def step(self, state: Any, slices: Slices, last_at: str | None, event: Any):
        """Apply one event: (new state, new slices, its record time, Change)."""
        created = state is None
        state = event.mutate(state)
        at = event_at(event, last_at)
        after = slices_of(state, self.zone, self.memo)
        change = diff(slices, after, at)
        if isinstance(state, User):
            change.users.append(user_row(state))
        if created:
            change.originators.append(originator_row(state))
        return state, after, at, change

    def changes_for_save(self, before: Any, pending: list[Any],
                         last_at: str | None = None, *, private: bool = False) -> list[Change]:
        """The Changes of a command's pending events, given the aggregate as it
        was loaded (None for a new one) and the record time of its last event
        as the projections hold it. `before` is not modified, unless the caller
        says it is a `private` copy."""
        state = before if private else copy.deepcopy(before)
        slices = slices_of(state, self.zone) if state is not None else {}
        if state is not None and last_at is None:
            last_at = record_time(state.modified_on)
        out = []
        for event in pending:
            state, slices, last_at, change = self.step(state, slices, last_at, event)
            out.append(change)
        return out
