"""From events to row changes. Each event moves its aggregate from one state
to the next; the slices that differ are closed at the event's record time
and the new ones opened. Commands (through the recorder) and `rebuild` both
go through `changes`, so they write the same rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from lifecycle.config import DEFAULT_REVIEW_YEARS
from lifecycle.domain import Standard
from lifecycle.subscriptions import Subscription
from lifecycle.users import User
from projections.documents import (
    Slices,
    StandardSlices,
    record_time,
    standard_slices,
    subscription_row,
    user_row,
)


@dataclass(slots=True)
class Change:
    """What one event does to the projection tables, at record time `at`."""

    at: str
    close: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    open: list[tuple[str, tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=list)
    users: list[tuple[Any, ...]] = field(default_factory=list)
    subscriptions: list[tuple[Any, ...]] = field(default_factory=list)
    originators: list[tuple[str, str, str]] = field(default_factory=list)


# Events whose `apply` never changes an edition nor adds one (lifecycle/domain.py):
# the draft, its files, its submission, a review; each edition's slices after
# one are those before it.
EDITIONS_KEPT = (Standard.DraftEdited, Standard.FileAttached, Standard.FileRemoved, Standard.Submitted,
                 Standard.ChangesRequested, Standard.RevisionOpened, Standard.Reviewed)


def keeps_timeline(event: Any) -> bool:
    """An EDITIONS_KEPT event that leaves what the timeline's slices depend on
    (documents._catalogue_key) as it was: of the draft, the catalogue shows
    only its title and level; its stage is the first edition's paperwork."""
    if isinstance(event, Standard.DraftEdited):
        return "title" not in event.changes and "level" not in event.changes
    return isinstance(event, (Standard.FileAttached, Standard.FileRemoved))


def slices_of(aggregate: Any, zone: tzinfo, memo: dict | None = None,
              review_years: int = DEFAULT_REVIEW_YEARS, editions_as_in: Slices | None = None,
              timeline_kept: bool = False) -> Slices:
    if isinstance(aggregate, Standard):
        return standard_slices(aggregate, zone, memo, review_years, editions_as_in, timeline_kept)
    return {}


def diff(before: Slices, after: Slices, at: str) -> Change:
    change = Change(at)
    if isinstance(before, StandardSlices) and isinstance(after, StandardSlices):
        # Group by group; a group that is the same object on both sides is unchanged.
        _compare(change, before.log, after.log)
        earlier = before.groups
        if earlier is after.groups:  # every group taken over as it was (keeps_timeline)
            return change
        for slot, group in after.groups.items():
            was = earlier.get(slot)
            if was is not group:
                _compare(change, was or {}, group)
        for slot, was in earlier.items():
            if slot not in after.groups:
                _compare(change, was, {})
        return change
    _compare(change, before, after)
    return change


def _compare(change: Change, before: Slices, after: Slices) -> None:
    for key, payload in before.items():
        if after.get(key) != payload:
            change.close.append(key)
    for key, payload in after.items():
        if before.get(key) != payload:
            change.open.append((key[0], key[1], payload))


def event_at(event: Any, previous: str | None) -> str:
    """An event's record time; never before its aggregate's previous one
    (clocks of several servers may disagree a little)."""
    return not_before(record_time(event.timestamp), previous)


def not_before(at: str, previous: str | None) -> str:
    return previous if previous and previous > at else at


def follow(changes: Sequence[Change], previous: str | None) -> None:
    """A save's changes, made as if its aggregate had no earlier record time,
    moved to follow its last one, `previous`: each record time is then the
    one event_at gives with `previous` (the greater of it and the running
    maximum already taken)."""
    for change in changes:
        change.at = not_before(change.at, previous)


def originator_row(aggregate: Any) -> tuple[str, str, str]:
    if isinstance(aggregate, Standard):
        return (str(aggregate.id), "standard", aggregate.code)
    if isinstance(aggregate, Subscription):
        return (str(aggregate.id), "subscription", str(aggregate.id))
    return (str(aggregate.id), "user", aggregate.name)


class Projector:
    """Keeps each aggregate's current slices and turns events into Changes."""

    def __init__(self, zone: tzinfo, review_years: int = DEFAULT_REVIEW_YEARS) -> None:
        self.zone = zone
        self.review_years = review_years
        self.memo: dict = {}  # see documents.standard_slices

    def slices(self, aggregate: Any) -> Slices:
        """The slices an aggregate has now (take them before a command runs)."""
        return slices_of(aggregate, self.zone, self.memo, self.review_years) if aggregate is not None else {}

    def _change(self, before: Slices, last_at: str | None, event: Any, state: Any,
                created: bool) -> tuple[Slices, str, Change]:
        at = event_at(event, last_at)
        kept = isinstance(event, EDITIONS_KEPT)
        after = slices_of(state, self.zone, self.memo, self.review_years, before if kept else None,
                          kept and keeps_timeline(event))
        change = diff(before, after, at)
        if type(state) is Standard:
            pass
        elif isinstance(state, User):
            change.users.append(user_row(state))
        elif isinstance(state, Subscription):
            change.subscriptions.append(subscription_row(state))
        if created:
            change.originators.append(originator_row(state))
        return after, at, change

    def step(self, state: Any, slices: Slices, last_at: str | None,
             event: Any) -> tuple[Any, Slices, str, Change]:
        """Apply one event: (new state, new slices, its record time, Change)."""
        created = state is None
        state = event.mutate(state)
        after, at, change = self._change(slices, last_at, event, state, created)
        return state, after, at, change

    def changes_for_save(self, aggregate: Any, pending: Sequence[Any], before: Slices,
                         state_before: Callable[[], Any]) -> list[Change]:
        """The Changes of a command's pending events. `before`: the aggregate's
        slices before the command. Their record times take no account of the
        aggregate's earlier ones: the recorder moves them after its last one,
        which it reads while it holds the write lock (`follow`). One event
        (most commands) needs nothing more; for several, `state_before()`
        gives the aggregate as it was, and the events are replayed on it to
        find each intermediate state."""
        if len(pending) == 1:
            event = pending[0]
            _, _, change = self._change(before, None, event, aggregate,
                                        created=event.originator_version == 1)
            return [change]
        state, slices, out, last_at = state_before(), before, [], None
        for event in pending:
            state, slices, last_at, change = self.step(state, slices, last_at, event)
            out.append(change)
        return out
