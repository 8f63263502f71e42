"""The service layer: takes one command (lifecycle/commands.py), loads its
aggregate, runs the command's domain method, and saves the new events
together with the projection rows they make, in one transaction.

The read side is wired in from outside (api/bootstrap.py): `reads` and
`projection` are the Protocols of lifecycle/ports.py, and the event store's
recorder is chosen by topic in the environment the application is given.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder
from eventsourcing.utils import Environment

from lifecycle import idempotency, numbering
from lifecycle.commands import (
    AddUser,
    Command,
    Context,
    DraftStandard,
    IssueToken,
    RevokeToken,
    StandardCommand,
    UserCommand,
)
from lifecycle.config import Settings
from lifecycle.domain import Standard, standard_id
from lifecycle.errors import Conflict, NotFound, StaleVersion
from lifecycle.files import Staged
from lifecycle.ports import Projection, RegisterReads
from lifecycle.transcodings import DateAsISO, EnumAsValue
from lifecycle.users import User, hash_token, user_id
from lifecycle.vocabulary import ReviewOutcome, Role

# How often an automatic number is retried when another client took it first.
ALLOCATION_ATTEMPTS = 50

A = TypeVar("A", Standard, User)


class StandardsApp(Application[Any]):
    name = "standards"
    reads: RegisterReads
    projection: Projection

    def __init__(self, settings: Settings, env: Mapping[str, str]) -> None:
        self.settings = settings
        super().__init__(env=dict(env))

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Only the environment we are given configures the store: a stray
        # PERSISTENCE_MODULE or SQLITE_DBNAME in the shell must not redirect the log.
        return Environment(name, dict(env or {}))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(EnumAsValue(ReviewOutcome))
        transcoder.register(EnumAsValue(Role))

    def today(self) -> date:
        return self.settings.today()

    def context(self) -> Context:
        return Context(today=self.today())

    # ------------------------------------------------------------- commands
    def handle(self, command: Command) -> Any:
        """Run one command; returns the aggregate it recorded."""
        if isinstance(command, DraftStandard):
            return self._draft(command)
        if isinstance(command, StandardCommand):
            return self._change(command)
        if isinstance(command, UserCommand):
            return self._user(command)
        raise TypeError(f"not a command: {command!r}")

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
            self.record(standard, before, command.contents())
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
                raise Conflict(f"user {command.name!r} exists") from None
            return user
        user = self._load(User, user_id(command.name), f"no user {command.name!r}")
        if isinstance(command, RevokeToken):
            user.revoke(command.actor)
        elif isinstance(command, IssueToken):
            user.issue_token(command.token_hash, command.actor)
        self.record(user)
        return user

    def _load(self, kind: type[A], aggregate_id: Any, missing: str, **details: object) -> A:
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(missing, **details) from None
        assert isinstance(found, kind)
        return found

    # ------------------------------------------------------------- saving
    def record(self, aggregate: Standard | User, before: Any = None,
               contents: Sequence[Staged] = ()) -> None:
        """Record the aggregate's new events with the projection changes they
        make. `before`: its slices as loaded (projection.slices, taken before
        the command ran); None for a new aggregate. `contents`: the bytes of
        files the events name, stored in the same transaction."""
        pending = list(aggregate.pending_events)
        first = pending[0].originator_version
        last_at = self.reads.last_recorded(aggregate.code) \
            if isinstance(aggregate, Standard) and first > 1 else None

        def state_before() -> Standard | User | None:
            return self.repository.get(aggregate.id, version=first - 1) if first > 1 else None

        changes = self.projection.changes_for_save(aggregate, pending, before or {}, last_at,
                                                   state_before)
        extra: dict[str, Any] = {"contents": list(contents)} if contents else {}
        if isinstance(aggregate, Standard):
            claim = idempotency.claim(aggregate.code, aggregate.version)
            if claim is not None:
                extra["idempotency"] = claim
        self.save(aggregate, projection=changes, **extra)

    def _check_replay(self) -> None:
        """After a failed insert: was it because this request's key was taken?"""
        key = idempotency.current()
        if key is not None and self.reads.idempotency(key.key) is not None:
            raise idempotency.AlreadyRecorded(key)

    # ------------------------------------------------------------- users
    def authenticate(self, token: str) -> tuple[str, list[str]] | None:
        """(name, roles) of the user holding `token`, else None. Only the
        token's SHA-256 is stored; the row found by it is checked once more
        with a constant-time comparison. Unknown and revoked tokens look alike."""
        digest = hash_token(token)
        found = self.reads.user_by_token_hash(digest)
        if found is None:
            return None
        name, roles, stored = found
        if not hmac.compare_digest(stored.encode(), digest.encode()):
            return None
        return name, roles

