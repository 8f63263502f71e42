"""eventsourcing's SQLite recorder, extended to write, in the same
transaction as the events (the pattern of the library's
ftscontentmanagement example): the chain hash of every event, and the
projection changes the application computed. A 2xx answer means all of it is
durable; a read after it sees it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from lifecycle.files import Staged
from lifecycle.idempotency import Claim
from projections import chain, contents, deliveries, search
from projections.projector import follow
from projections.schema import OPEN, STATEMENTS
from projections.writer import Writer, values

# An import's batch: events (position, originator id, version, topic, state),
# their chain links (position, hash), and the projection rows they make.
Batch = tuple[list[tuple[Any, ...]], list[tuple[int, str]], dict[str, list[tuple[Any, ...]]]]


class ShareEvent(NamedTuple):
    """A stored event with its position, as a rebuild reads a share of the log:
    what the mapper reads of a Notification (a frozen dataclass, slower to make)."""

    id: int
    originator_id: Any
    originator_version: int
    topic: str
    state: bytes


def share_bounds(share: int, shares: int) -> tuple[int | None, int | None]:
    """The ids of share `share` of `shares`: those whose first byte is in
    [low, high) (None: no bound), so the shares together hold every id once."""
    low = share * 256 // shares if share > 0 else None
    high = (share + 1) * 256 // shares if share < shares - 1 else None
    return low, high


class Locked(NamedTuple):
    """What a save reads while it holds the write lock: the chain's last
    hash, and the last record time of the standard it `follows` (None: none)."""

    head: str
    last: str | None


# Locked's two values, in one statement (a NULL code matches no row).
LOCKED = ("SELECT (SELECT hash FROM event_chain ORDER BY position DESC LIMIT 1) AS head, "
          "(SELECT recorded_from FROM standard_log WHERE code = ? AND recorded_to = ?) AS last")


def read_locked(c: Any, writer: Writer, follows: str | None) -> None:
    """Send LOCKED on cursor `c`; `locked(c)` reads its answer."""
    c.execute(writer.sql(LOCKED), (follows, OPEN))


def locked(c: Any) -> Locked:
    head, last = values(c.fetchone())
    return Locked(head or chain.GENESIS, last)


class ProjectingMixin:
    """Shared by the SQLite and PostgreSQL recorders."""

    writer: Writer
    datastore: Any

    def _after_insert(self, c: Any, stored_events: Sequence[StoredEvent], ids: Sequence[int],
                      kwargs: dict[str, Any], read: Locked | None = None) -> None:
        """Write what goes with the events, the write lock held. `read`:
        what the caller read already under that lock (else read here)."""
        follows = kwargs.get("follows")  # the standard whose record times these changes follow
        if read is None:
            read_locked(c, self.writer, follows)
            read = locked(c)
        self._extend_chain(c, stored_events, ids, read.head)
        claim = kwargs.get("idempotency")
        if claim is not None:
            self._claim_idempotency_key(c, claim)
        for staged in kwargs.get("contents") or ():
            self._store_content(c, staged)
        changes = kwargs.get("projection")
        if changes and follows is not None:
            follow(changes, read.last)
        if changes:
            for change in changes:
                self.writer.apply(c, change)
            self.writer.advance(c, max(ids))
        delivery = kwargs.get("delivery")
        if delivery is not None:  # a subscription's secret, position or retries
            deliveries.apply(c, self.writer, delivery, max(ids))

    def _import_contents(self, c: Any, staged: Iterable[Staged]) -> None:
        """Contents moved with a log (their text is extracted by the rebuild that follows)."""
        for content in staged:
            contents.store(c, self.writer, content)
            content.source.close()

    def _store_content(self, c: Any, staged: Staged) -> None:
        """The bytes an event names, with their text, unless the store holds them already."""
        if contents.store(c, self.writer, staged):
            search.index(c, self.writer, staged.sha256, staged.text)

    def _claim_idempotency_key(self, c: Any, claim: Claim) -> None:
        """Record the command's Idempotency-Key with its events: a second
        command with the same key collides here and records nothing."""
        c.execute(self.writer.sql("DELETE FROM idempotency WHERE created_at < ?"), (claim.expired,))
        c.execute(self.writer.sql("INSERT INTO idempotency (key, request_hash, code, version, "
                                  "created_at) VALUES (?, ?, ?, ?, ?)"),
                  (claim.key, claim.request_hash, claim.code, claim.version, claim.created_at))

    def _extend_chain(self, c: Any, stored_events: Sequence[StoredEvent], ids: Sequence[int],
                      head: str) -> None:
        # The write lock is held (SQLite's, or the events table lock on
        # PostgreSQL), so the head cannot move under us.
        previous, links = head, []
        for event, position in zip(stored_events, ids, strict=True):
            previous = chain.link(previous, position, event.originator_id,
                                  event.originator_version, event.topic, event.state)
            links.append((position, previous))
        self.writer.insert(c, "event_chain", links)


class ProjectingSQLiteRecorder(ProjectingMixin, SQLiteApplicationRecorder):
    writer = Writer("?")

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *STATEMENTS]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:
            self._after_insert(c, stored_events, ids, kwargs)
        return ids

    def import_events(self, batches: Iterable[Batch], contents: Iterable[Staged] = (),
                      finish: Callable[[Any], None] | None = None) -> None:
        """Insert events at their original positions, with their chain links
        and the projection rows they make, then the contents of files and
        `finish` (the text index), all in one transaction (moving a
        log keeps every position and hash)."""
        with self.datastore.transaction(commit=True) as c:
            for rows, links, projected in batches:
                c.executemany(f"INSERT INTO {self.events_table_name} "
                              "(rowid, originator_id, originator_version, topic, state) VALUES (?,?,?,?,?)",
                              [(p, o.hex, v, t, s) for p, o, v, t, s in rows])
                self.writer.insert(c, "event_chain", links)
                self.writer.write(c, projected)
            self._import_contents(c, contents)
            if finish is not None:
                finish(c)

    def parallel_reads(self) -> bool:
        """Can other processes read this store (a file, not memory)?"""
        return not self.datastore.pool.is_sqlite_memory_mode

    def last_position(self, c: Any) -> int:
        """The log's last position, read in the transaction of cursor `c`."""
        c.execute(f"SELECT MAX(rowid) FROM {self.events_table_name}")
        return c.fetchone()[0] or 0

    def read_share(self, share: int, shares: int, upto: int, limit: int) -> Iterator[list[ShareEvent]]:
        """The events up to position `upto` of the aggregates in share `share`
        of `shares` (share_bounds: a range of their ids), in log order, in
        batches of at most `limit`. On a connection of its own, opened here:
        for a process forked from the one that holds the pool."""
        db = sqlite3.connect(self.datastore.pool.db_name, uri=True, isolation_level=None)
        try:
            db.execute("PRAGMA query_only = 1")
            low, high = share_bounds(share, shares)
            statement = (f"SELECT rowid, originator_id, originator_version, topic, state "
                         f"FROM {self.events_table_name} WHERE rowid > ? AND rowid <= ? "
                         f"{'' if low is None else 'AND originator_id >= ? '}"
                         f"{'' if high is None else 'AND originator_id < ? '}ORDER BY rowid LIMIT ?")
            bounds = [f"{b:02x}" for b in (low, high) if b is not None]  # ids are lower-case hex
            after = 0
            ids: dict[str, UUID] = {}  # one UUID per aggregate, not one per event
            while True:
                rows = db.execute(statement, (after, upto, *bounds, limit)).fetchall()
                if not rows:
                    return
                yield [ShareEvent(p, ids.get(o) or ids.setdefault(o, UUID(o)), v, t, s)
                       for p, o, v, t, s in rows]
                after = rows[-1][0]
        finally:
            db.close()

    def select_standard_events(self, originator_id: Any) -> list[Notification]:
        """One aggregate's events with their log positions."""
        key = originator_id.hex if hasattr(originator_id, "hex") else originator_id
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid, * FROM {self.events_table_name} WHERE originator_id = ? "
                      "ORDER BY originator_version", (key,))
            return [Notification(id=r["rowid"], originator_id=self.convert_originator_id(r["originator_id"]),
                                 originator_version=r["originator_version"], topic=r["topic"],
                                 state=r["state"]) for r in c.fetchall()]
