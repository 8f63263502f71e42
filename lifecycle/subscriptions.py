"""Subscriptions: who wants the standards' events pushed to them (API.md
"Subscriptions"). A subscription is an aggregate of its own, so creating,
changing, pausing and removing one are events that auditors see. Its signing
secret is never in an event: the application hands it to the recorder, which
keeps it in a table of its own (projections/deliveries.py)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from lifecycle import numbering
from lifecycle.commands import REGISTRY
from lifecycle.errors import Conflict, InvalidInput

# The CloudEvents type of a standard's event: "jgsw." + its audit-log type.
TYPE_PREFIX = "jgsw."
EVENT_TYPES = tuple(sorted(TYPE_PREFIX + spec.records for spec in REGISTRY.values()
                           if spec.records.startswith("standard.")))
SECRET_PREFIX = "whsec_"  # the Standard Webhooks spelling of a signing secret

ACTIVE, PAUSED, DELETED = "active", "paused", "deleted"
CHANGEABLE = ("url", "types", "categories", "description")


def new_secret() -> str:
    """32 random bytes, as Standard Webhooks libraries read them."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_id() -> UUID:
    return uuid4()


def cloudevents_type(event_type: str) -> str:
    """"standard.approved" -> "jgsw.standard.approved"."""
    return TYPE_PREFIX + event_type


def check_types(types: Sequence[str] | None) -> list[str] | None:
    """None: every type. A list names CloudEvents types of standards' events."""
    if types is None:
        return None
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidInput("types", f"unknown event type {unknown[0]!r}: one of {', '.join(EVENT_TYPES)}")
    if not types:
        raise InvalidInput("types", "name at least one type, or leave `types` out for every type")
    return sorted(set(types))


def check_categories(categories: Sequence[str] | None) -> list[str] | None:
    """None: every category. A list names categories 01 to 06."""
    if categories is None:
        return None
    if not categories:
        raise InvalidInput("categories", "name at least one category, or leave `categories` out for all")
    try:
        return sorted({numbering.parse_category(c).code for c in categories})
    except numbering.NumberError as e:
        raise InvalidInput("categories", e.message) from None


@dataclass(frozen=True)
class DeliveryChange:
    """What a subscription's command does to the deliverer's own rows, written
    by the recorder in the command's transaction. These rows are not
    projections: rebuild and export never touch them."""

    subscription_id: str
    secret: str | None = None       # creation: kept apart from the events
    rewind_to: int | None = None    # replay: deliver again everything after this position
    retry_now: bool = False         # resume, or a new URL: forget the backoff
    forget: bool = False            # deletion: drop the secret and the position

    def __repr__(self) -> str:  # never print a secret
        return f"DeliveryChange({self.subscription_id!r}, ...)"


class Subscription(Aggregate):
    class Event(Aggregate.Event):
        actor: str
        reason: str | None

    class Created(Event, Aggregate.Created):
        url: str
        types: list[str] | None
        categories: list[str] | None
        description: str | None

    class Changed(Event):
        changes: dict[str, Any]

        def apply(self, subscription: Subscription) -> None:
            for name, value in self.changes.items():
                setattr(subscription, name, value)

    class Paused(Event):
        def apply(self, subscription: Subscription) -> None:
            subscription.set_state(PAUSED, self)

    class Resumed(Event):
        def apply(self, subscription: Subscription) -> None:
            subscription.set_state(ACTIVE, self)

    class Replayed(Event):
        from_position: int

    class Deleted(Event):
        def apply(self, subscription: Subscription) -> None:
            subscription.set_state(DELETED, self)

    def __init__(self, url: str, types: list[str] | None, categories: list[str] | None,
                 description: str | None, actor: str, reason: str | None) -> None:
        self.url = url
        self.types = types
        self.categories = categories
        self.description = description
        self.created_by = actor
        self.state = ACTIVE
        self.state_reason: str | None = None
        self.state_by: str | None = None

    def set_state(self, state: str, event: Subscription.Event) -> None:
        self.state, self.state_reason, self.state_by = state, event.reason, event.actor

    @classmethod
    def create(cls, url: str, types: Sequence[str] | None, categories: Sequence[str] | None,
               description: str | None, actor: str, reason: str | None = None,
               subscription_id: UUID | None = None) -> Subscription:
        return cls._create(cls.Created, id=subscription_id or new_id(), url=url, types=check_types(types),
                           categories=check_categories(categories), description=description,
                           actor=actor, reason=reason)

    # ------------------------------------------------------------- commands
    def change(self, changes: dict[str, Any], actor: str, reason: str | None) -> None:
        unknown = set(changes) - set(CHANGEABLE)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "not a field of a subscription")
        if not changes:
            raise InvalidInput("_schema", "give at least one field to change")
        checked = dict(changes)
        if "types" in checked:
            checked["types"] = check_types(checked["types"])
        if "categories" in checked:
            checked["categories"] = check_categories(checked["categories"])
        self.trigger_event(self.Changed, changes=checked, actor=actor, reason=reason)

    def pause(self, actor: str, reason: str | None) -> None:
        self._require(ACTIVE, "pause")
        self.trigger_event(self.Paused, actor=actor, reason=reason)

    def resume(self, actor: str, reason: str | None) -> None:
        self._require(PAUSED, "resume")
        self.trigger_event(self.Resumed, actor=actor, reason=reason)

    def replay(self, from_position: int, last_position: int, actor: str, reason: str | None) -> None:
        if not 1 <= from_position <= last_position + 1:
            raise InvalidInput("from", f"{from_position} is not a position of the log: "
                               f"give 1 to {last_position + 1} (the next event to come)")
        self.trigger_event(self.Replayed, from_position=from_position, actor=actor, reason=reason)

    def delete(self, actor: str, reason: str | None) -> None:
        self.trigger_event(self.Deleted, actor=actor, reason=reason)

    def _require(self, state: str, word: str) -> None:
        if self.state != state:
            raise Conflict(f"cannot {word} subscription {self.id}: it is {self.state}", state=self.state)


def delivery_change(subscription: Subscription, events: Iterable[Any],
                    secret: str | None = None) -> DeliveryChange | None:
    """The deliverer's rows that these new events change."""
    sid = str(subscription.id)
    for event in events:
        if isinstance(event, Subscription.Created):
            return DeliveryChange(sid, secret=secret)
        if isinstance(event, Subscription.Replayed):
            return DeliveryChange(sid, rewind_to=event.from_position - 1, retry_now=True)
        if isinstance(event, Subscription.Resumed) or (
                isinstance(event, Subscription.Changed) and "url" in event.changes):
            return DeliveryChange(sid, retry_now=True)
        if isinstance(event, Subscription.Deleted):
            return DeliveryChange(sid, forget=True)
    return None
