"""The service layer: loads an aggregate, runs one command on it, and saves
its events together with the projection rows, in one transaction."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import date
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from lifecycle import idempotency, numbering
from lifecycle.config import Settings
from lifecycle.domain import ReviewOutcome, Standard, standard_id
from lifecycle.errors import Conflict, NotFound, StaleVersion
from lifecycle.transcodings import DateAsISO, EnumAsValue
from lifecycle.users import Role, User, hash_token, new_token, user_id
from projections.documents import Slices
from projections.projector import Projector
from projections.queries import Reads
from projections.writer import Writer

# How often an automatic number is retried when another client took it first.
ALLOCATION_ATTEMPTS = 50


class StandardsApp(Application):
    name = "standards"

    def __init__(self, settings: Settings | None = None, *, create_tables: bool = True) -> None:
        self.settings = settings or Settings.from_env()
        super().__init__(env=self.settings.eventsourcing_env(create_tables))
        self.reads = Reads(self.recorder.datastore, self.recorder.writer)
        self.projector = Projector(self.settings.zone)

    def construct_env(self, name: str, env: Any = None) -> Any:
        # Only our own settings configure the store: a stray PERSISTENCE_MODULE
        # or SQLITE_DBNAME in the shell must not redirect the log.
        from eventsourcing.utils import Environment

        return Environment(name, dict(env or {}))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(EnumAsValue(ReviewOutcome))
        transcoder.register(EnumAsValue(Role))

    def today(self) -> date:
        return self.settings.today()

    # ------------------------------------------------------------- saving
    def record(self, aggregate: Standard | User, before: Slices | None = None) -> None:
        """Record the aggregate's new events with the projection changes they
        make. `before`: its slices as loaded (take them with projector.slices
        before running the command); None for a new aggregate."""
        pending = list(aggregate.pending_events)
        first = pending[0].originator_version
        last_at = self.reads.last_recorded(aggregate.code) \
            if isinstance(aggregate, Standard) and first > 1 else None

        def state_before() -> Standard | User | None:
            return self.repository.get(aggregate.id, version=first - 1) if first > 1 else None

        changes = self.projector.changes_for_save(aggregate, pending, before or {}, last_at,
                                                  state_before)
        extra = {}
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

    def _get_standard(self, code: numbering.StandardCode) -> Standard:
        try:
            return self.repository.get(standard_id(code))
        except AggregateNotFoundError:
            raise NotFound(f"no standard {code}", code=str(code)) from None

    def _change(self, code: numbering.StandardCode, expected_version: int | None,
                command: Callable[[Standard], None]) -> Standard:
        """Run `command` on the standard if it is still at `expected_version`."""
        standard = self._get_standard(code)
        if expected_version is not None and standard.version != expected_version:
            raise StaleVersion(
                f"{code} is at version {standard.version}, not {expected_version}: read it again",
                version=standard.version,
            )
        before = self.projector.slices(standard)
        command(standard)
        try:
            self.record(standard, before)
        except IntegrityError:
            self._check_replay()
            # Another command on this standard was recorded first.
            raise StaleVersion(f"{code} was changed by another command: read it again") from None
        return standard

    # ------------------------------------------------------------- commands
    def draft(self, category: str, fields: dict[str, Any], actor: str,
              sub_item: str | None = None, reason: str | None = None) -> Standard:
        """Draft a new standard; without `sub_item`, the next free one (顺延编号)."""
        cat = numbering.parse_category(category)
        if sub_item is not None:
            code = numbering.make_code(cat.code, sub_item)
            return self._create(code, fields, actor, reason)
        for _ in range(ALLOCATION_ATTEMPTS):
            last = self.reads.max_sub_item(cat.code)
            code = numbering.make_code(cat.code, numbering.next_sub_item([last] if last else []))
            try:
                return self._create(code, fields, actor, reason)
            except Conflict:
                continue  # another client took this number a moment ago
        raise Conflict(f"could not allocate a number in category {cat.code}: too much contention; try again")

    def _create(self, code: numbering.StandardCode, fields: dict[str, Any], actor: str,
                reason: str | None) -> Standard:
        standard = Standard.create(code, fields, actor=actor, reason=reason)
        try:
            self.record(standard)
        except IntegrityError:
            self._check_replay()
            raise Conflict(f"{code} already exists: a number is drafted once and never reused",
                           code=str(code)) from None
        return standard

    def edit_draft(self, code, expected_version, changes, actor, reason=None) -> Standard:
        return self._change(code, expected_version, lambda s: s.edit_draft(changes, actor, reason))

    def submit(self, code, expected_version, actor, reason=None) -> Standard:
        return self._change(code, expected_version, lambda s: s.submit(actor, reason))

    def request_changes(self, code, expected_version, actor, reason) -> Standard:
        return self._change(code, expected_version, lambda s: s.request_changes(actor, reason))

    def approve(self, code, expected_version, approved_on, actor, reason=None) -> Standard:
        today = self.today()
        return self._change(code, expected_version,
                            lambda s: s.approve(approved_on or today, today, actor, reason))

    def publish(self, code, expected_version, issued_on, effective_on, trial, actor,
                reason=None) -> Standard:
        return self._change(code, expected_version,
                            lambda s: s.publish(issued_on, effective_on, trial, actor, reason))

    def open_revision(self, code, expected_version, actor, reason, title=None) -> Standard:
        return self._change(code, expected_version, lambda s: s.open_revision(actor, reason, title))

    def withdraw(self, code, expected_version, withdrawn_on, actor, reason) -> Standard:
        return self._change(code, expected_version, lambda s: s.withdraw(withdrawn_on, actor, reason))

    def review(self, code, expected_version, reviewed_on, outcome, actor, reason=None) -> Standard:
        today = self.today()
        return self._change(code, expected_version,
                            lambda s: s.review(reviewed_on, ReviewOutcome(outcome), today, actor, reason))

    def remember_answer(self, key: str, status: int, etag: str | None, location: str | None,
                        body: str) -> None:
        """Keep the first answer of an idempotent command for its retries."""
        sql = self.recorder.writer.sql
        with self.recorder.datastore.transaction(commit=True) as c:
            c.execute(sql("UPDATE idempotency SET status = ?, etag = ?, location = ?, body = ? "
                          "WHERE key = ?"), (status, etag, location, body, key))

    # ------------------------------------------------------------- users
    def add_user(self, name: str, roles: list[Role], actor: str = "operator") -> str:
        """Create a user; returns the token, which is never stored."""
        token = new_token()
        user = User.add(name, roles, hash_token(token), actor)
        try:
            self.record(user)
        except IntegrityError:
            raise Conflict(f"user {name!r} exists") from None
        return token

    def _get_user(self, name: str) -> User:
        try:
            return self.repository.get(user_id(name))
        except AggregateNotFoundError:
            raise NotFound(f"no user {name!r}") from None

    def revoke_user(self, name: str, actor: str = "operator") -> None:
        user = self._get_user(name)
        user.revoke(actor)
        self.record(user)

    def reissue_token(self, name: str, actor: str = "operator") -> str:
        user = self._get_user(name)
        token = new_token()
        user.issue_token(hash_token(token), actor)
        self.record(user)
        return token

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
