"""The service layer: takes one command (lifecycle/commands.py), loads its
aggregate, runs the command's domain method, and saves the new events
together with the projection rows they make, in one transaction.

The read side is wired in from outside (api/bootstrap.py): `reads` and
`projection` are the Protocols of lifecycle/ports.py, and the event store's
recorder is chosen by topic in the environment the application is given.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import EventStore, IntegrityError, JSONTranscoder, PersistenceError
from eventsourcing.utils import Environment, get_topic

from lifecycle import idempotency, numbering, references, snapshots, targets
from lifecycle.commands import (
    AddUser,
    ChangeSubscription,
    Command,
    Context,
    DraftStandard,
    IssueToken,
    RevokeToken,
    StandardCommand,
    Subscribe,
    SubscriptionCommand,
    UserCommand,
)
from lifecycle.config import Settings
from lifecycle.domain import Draft, Edition, Standard, standard_id
from lifecycle.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    StaleVersion,
)
from lifecycle.files import Staged
from lifecycle.numbering import NumberError
from lifecycle.ports import Projection, RegisterReads, UserRow
from lifecycle.subscriptions import DELETED, DeliveryChange, Subscription, delivery_change
from lifecycle.transcodings import DataclassAsDict, DateAsISO, EnumAsValue
from lifecycle.users import User, hash_token, user_id
from lifecycle.vocabulary import ReviewOutcome, Role

log = logging.getLogger(__name__)

# How often an automatic number is retried when another client took it first.
ALLOCATION_ATTEMPTS = 50

A = TypeVar("A", Standard, User, Subscription)

# What became of a command, for whoever watches (api/operations.py counts them):
# a bounded set of words, so they can be labels.
RECORDED, CONFLICT, REFUSED, REPLAYED, UNAVAILABLE, FAILED = (
    "recorded", "conflict", "refused", "replayed", "unavailable", "failed")


def outcome_of(error: BaseException) -> str:
    if isinstance(error, Conflict | StaleVersion | InvalidTransition):
        return CONFLICT  # 409, 412: the standard is not at the stage or version the command needs
    if isinstance(error, DomainError | NumberError):
        return REFUSED
    if isinstance(error, idempotency.AlreadyRecorded):
        return REPLAYED
    if isinstance(error, PersistenceError):
        return UNAVAILABLE
    return FAILED


class StandardsApp(Application[Any]):
    name = "standards"
    reads: RegisterReads
    projection: Projection
    aggregates: tuple[type[Aggregate], ...] = (Standard, User, Subscription)  # what this register records
    snapshot_class = snapshots.StandardSnapshot  # taken by record(), every snapshots.INTERVAL events
    # Called with (command's class name, outcome) after each command; None: nobody watches.
    command_observer: Callable[[str, str], None] | None = None

    def __init__(self, settings: Settings, env: Mapping[str, str]) -> None:
        self.settings = settings
        self._users_checked: set[UserRow] = set()  # users rows this process found in the log
        super().__init__(env=dict(env))

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Only the environment we are given configures the store: a stray
        # PERSISTENCE_MODULE or SQLITE_DBNAME in the shell must not redirect the log.
        return Environment(name, {**dict(env or {}), "IS_SNAPSHOTTING_ENABLED": "y"})

    def construct_snapshot_store(self) -> EventStore[Any]:
        return snapshots.CheckedSnapshots(mapper=self.mapper,
                                          recorder=self.factory.aggregate_recorder(purpose="snapshots"))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(EnumAsValue(ReviewOutcome))
        transcoder.register(EnumAsValue(Role))
        transcoder.register(DataclassAsDict(Draft))  # in a standard's snapshot
        transcoder.register(DataclassAsDict(Edition))

    @classmethod
    def event_classes(cls) -> list[type[Aggregate.Event]]:
        return [value for owner in cls.aggregates for value in vars(owner).values()
                if isinstance(value, type) and issubclass(value, Aggregate.Event)
                and value.__name__ != "Event"]  # the aggregate's base event class

    @classmethod
    def schema_version(cls) -> int:
        """The event schema's version: the highest `class_version` of the events
        this register records. It goes up whenever an event changes shape
        (docs/architecture.md, "The golden store"), never otherwise."""
        return max(getattr(e, "class_version", 1) for e in cls.event_classes())

    @classmethod
    def event_topics(cls) -> frozenset[str]:
        """The topic of every event class this register records: anything else
        in a log is not ours (an import refuses it before resolving it)."""
        return frozenset(get_topic(value) for value in cls.event_classes())

    def today(self) -> date:
        return self.settings.today()

    def context(self) -> Context:
        return Context(today=self.today())

    # ------------------------------------------------------------- commands
    def handle(self, command: Command) -> Any:
        """Run one command; returns the aggregate it recorded."""
        observer = self.command_observer
        if observer is None:
            return self._handle(command)
        try:
            result = self._handle(command)
        except Exception as e:
            observer(type(command).__name__, outcome_of(e))
            raise
        observer(type(command).__name__, RECORDED)
        return result

    def _handle(self, command: Command) -> Any:
        cited = command.cited()
        if cited:
            self._check_cited(cited, _own_code(command))
        if isinstance(command, DraftStandard):
            return self._draft(command)
        if isinstance(command, StandardCommand):
            return self._change(command)
        if isinstance(command, UserCommand):
            return self._user(command)
        if isinstance(command, Subscribe | SubscriptionCommand):
            return self._subscription(command)
        raise TypeError(f"not a command: {command!r}")

    def _check_cited(self, texts: list[str], own: str | None) -> None:
        """The list's own rules (lifecycle/references.py), then: internal
        references must name a standard of this register, and a dated one an
        edition it has."""
        for ref in references.parse_list(texts, own):
            if ref.code is None:
                continue
            years = self.reads.edition_years(ref.code)
            if years is None:
                raise InvalidInput(references.FIELD, f"{ref.text!r}: there is no standard {ref.code}")
            if ref.year is not None and ref.year not in years:
                known = ", ".join(f"{ref.code}—{y}" for y in years) or "none yet"
                raise InvalidInput(references.FIELD, f"{ref.text!r}: {ref.code} has no edition {ref.year} "
                                                     f"(its editions: {known})")

    def _change(self, command: StandardCommand) -> Standard:
        """Run `command` on its standard if it is still at the version expected."""
        code = command.code
        standard = self._load(Standard, standard_id(code), f"no standard {code}", code=str(code))
        expected = command.expected_version
        if expected is not None and standard.version != expected:
            raise StaleVersion(f"{code} is at version {standard.version}, not {expected}: read it again",
                               version=standard.version)
        before = self.projection.slices(standard)
        command.run(standard, self.context())
        try:
            self.record(standard, before, contents=command.contents())
        except IntegrityError:
            self._check_replay()
            # Another command on this standard was recorded first.
            raise StaleVersion(f"{code} was changed by another command: read it again") from None
        return standard

    def _draft(self, command: DraftStandard) -> Standard:
        cat = numbering.parse_category(command.category)
        if command.sub_item is not None:
            return self._create(numbering.make_code(cat.code, command.sub_item), command)
        for _ in range(ALLOCATION_ATTEMPTS):
            used = self.reads.used_sub_items(cat.code)
            try:
                return self._create(numbering.make_code(cat.code, numbering.next_sub_item(used)), command)
            except Conflict:
                continue  # another client took this number a moment ago
        raise Conflict(f"could not allocate a number in category {cat.code}: too much contention; try again")

    def _create(self, code: numbering.StandardCode, command: DraftStandard) -> Standard:
        standard = Standard.create(code, command.fields, actor=command.actor, reason=command.reason)
        try:
            self.record(standard)
        except IntegrityError:
            self._check_replay()
            raise Conflict(f"{code} already exists: a number is drafted once and never reused",
                           code=str(code)) from None
        return standard

    def _user(self, command: UserCommand) -> User:
        if isinstance(command, AddUser):
            user = User.add(command.name, list(command.roles), command.token_hash, command.actor)
            try:
                self.record(user)
            except IntegrityError:
                same = f" ({command.name!r} is the same name)" if user.name != command.name else ""
                raise Conflict(f"user {user.name!r} exists{same}") from None
            return user
        user = self._load(User, user_id(command.name), f"no user {command.name!r}")
        if isinstance(command, RevokeToken):
            user.revoke(command.actor)
        elif isinstance(command, IssueToken):
            user.issue_token(command.token_hash, command.actor)
        self.record(user)
        return user

    def _subscription(self, command: Subscribe | SubscriptionCommand) -> Subscription:
        if isinstance(command, Subscribe):
            self.check_target(command.url)
            subscription = Subscription.create(command.url, command.types, command.categories,
                                               command.description, command.actor, command.reason)
            self.record(subscription, delivery=delivery_change(subscription, subscription.pending_events,
                                                               command.secret))
            return subscription
        missing = f"no subscription {command.subscription_id}"
        subscription = self._load(Subscription, command.subscription_id, missing)
        if subscription.state == DELETED:
            raise NotFound(missing)
        if isinstance(command, ChangeSubscription) and "url" in command.changes:
            self.check_target(command.changes["url"])
        command.run(subscription, Context(today=self.today(),
                                          log_position=self.recorder.max_notification_id() or 0))
        try:
            self.record(subscription, delivery=delivery_change(subscription, subscription.pending_events))
        except IntegrityError:
            raise Conflict(f"subscription {subscription.id} was changed by another request: "
                           "read it again") from None
        return subscription

    def check_target(self, url: str) -> targets.Target:
        """A webhook target, after DNS, against LIFECYCLE_WEBHOOK_ALLOW (422 otherwise)."""
        return targets.check(url, self.settings.webhook_allow)

    def _load(self, kind: type[A], aggregate_id: Any, missing: str, **details: object) -> A:
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(missing, **details) from None
        assert isinstance(found, kind)
        return found

    # ------------------------------------------------------------- saving
    def record(self, aggregate: Standard | User | Subscription, before: Any = None,
               delivery: DeliveryChange | None = None, contents: Sequence[Staged] = ()) -> None:
        """Record the aggregate's new events with the projection changes they
        make. `before`: its slices as loaded (projection.slices, taken before
        the command ran); None for a new aggregate. `delivery`: what a
        subscription's events change in the deliverer's rows. `contents`: the
        bytes of files the events name, stored in the same transaction."""
        pending = list(aggregate.pending_events)
        first = pending[0].originator_version

        def state_before() -> Standard | User | Subscription | None:
            return self.repository.get(aggregate.id, version=first - 1) if first > 1 else None

        changes = self.projection.changes_for_save(aggregate, pending, before or {}, state_before)
        extra: dict[str, Any] = {"contents": list(contents)} if contents else {}
        if isinstance(aggregate, Standard) and first > 1:
            # Its record times never precede its last one, which the recorder
            # reads in the transaction that saves (projections/recorder.py).
            extra["follows"] = aggregate.code
        if isinstance(aggregate, Standard):
            claim = idempotency.claim(aggregate.code, aggregate.version)
            if claim is not None:
                extra["idempotency"] = claim
        if delivery is not None:
            extra["delivery"] = delivery
        self.save(aggregate, projection=changes, **extra)
        if isinstance(aggregate, Standard) and snapshots.due([e.originator_version for e in pending]):
            self.snapshot(aggregate)

    def snapshot(self, standard: Standard) -> None:
        """Store a snapshot of a standard as just recorded. The command is
        already durable: a snapshot that cannot be stored is only logged."""
        assert self.snapshots is not None and not standard.pending_events
        try:
            self.snapshots.put([snapshots.StandardSnapshot.take(standard)])
        except Exception:
            log.warning("could not store a snapshot of %s at version %d", standard.code, standard.version,
                        exc_info=True)

    def _check_replay(self) -> None:
        """After a failed insert: was it because this request's key was taken?"""
        key = idempotency.current()
        if key is not None and self.reads.idempotency(key.key) is not None:
            raise idempotency.AlreadyRecorded(key)

    # ------------------------------------------------------------- users
    def authenticate(self, token: str) -> tuple[str, list[str]] | None:
        """(name, roles) of the user holding `token`, else None. Only the
        token's SHA-256 is stored; the row found by it is checked once more
        with a constant-time comparison. Unknown and revoked tokens look alike.
        A row this process has not seen yet is first checked against the
        user's events: a `users` row edited behind the log's back grants nothing."""
        digest = hash_token(token)
        row = self.reads.user_by_token_hash(digest)
        if row is None or not hmac.compare_digest(row.token_hash.encode(), digest.encode()):
            return None
        if row not in self._users_checked:
            if not self._supported_by_log(row):
                log.error("the users row of %r disagrees with its events: refused; run `lifecycle "
                          "verify`", row.name)
                return None
            self._users_checked.add(row)
        return row.name, list(row.roles)

    def _supported_by_log(self, row: UserRow) -> bool:
        try:
            user: Any = self.repository.get(user_id(row.name))
        except AggregateNotFoundError:
            return False
        return (isinstance(user, User) and user.version == row.version and user.token_hash == row.token_hash
                and tuple(r.value for r in user.roles) == row.roles)


def _own_code(command: Command) -> str | None:
    """The standard a command is about, where it is known before it runs."""
    if isinstance(command, StandardCommand):
        return str(command.code)
    if isinstance(command, DraftStandard) and command.sub_item is not None:
        return str(numbering.make_code(command.category, command.sub_item))
    return None
