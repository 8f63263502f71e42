"""eventsourcing's PostgreSQL recorder with the same additions as the SQLite
one: chain hashes and projection changes in the transaction that inserts the
events, while the library holds its EXCLUSIVE lock on the events table (so
positions, chain and projections advance in commit order)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry

from lifecycle.files import Staged
from projections.recorder import Batch, ProjectingMixin, ShareEvent, locked, read_locked, share_bounds
from projections.schema import STATEMENTS
from projections.writer import PostgresWriter, values

# Any constant will do: it names the lock that serialises schema creation
# between servers starting at the same time.
SCHEMA_LOCK = 7_421_001


def postgres_ddl(statement: str) -> str:
    """Our tables compare ISO dates, times and codes as text: byte order (the
    "C" collation) whatever the database's locale, as on SQLite. Bytes are
    BYTEA."""
    return statement.replace(" TEXT", ' TEXT COLLATE "C"').replace(" BLOB", " BYTEA")


class ProjectingPostgresRecorder(ProjectingMixin, PostgresApplicationRecorder):
    writer = PostgresWriter()

    def create_table(self) -> None:
        """Create the library's tables and ours once, even when several
        servers start together: concurrent CREATE TABLE IF NOT EXISTS can still
        collide in PostgreSQL's catalogue, so take an advisory lock first."""
        info = self.datastore.pool.kwargs
        assert isinstance(info, dict)
        params = {k: info[k] for k in ("dbname", "host", "port", "user", "password")}
        with psycopg.connect(**params, autocommit=True) as lock:
            lock.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                super().create_table()
                with self.datastore.transaction(commit=True) as c:
                    for statement in STATEMENTS:
                        c.execute(postgres_ddl(statement))
            finally:
                lock.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """The library's insert, with our additions, in two round trips: its
        own (psycopg's transaction() inside a pipeline) takes five, syncing
        when the transaction begins, after the insert, before COMMIT, after
        it and at the end. Here the first batch is BEGIN, the library's lock
        and insert, and what is read under that lock (the chain's head, the
        standard's last record time for `follows`); the second,
        once the positions are known, the chain links, the projection rows
        and COMMIT, answered when the pipeline ends. Any error rolls the
        whole transaction back."""
        if not stored_events or self.datastore.enable_db_functions:
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.get_connection() as conn:  # maps psycopg's errors to the library's
            try:
                with conn.pipeline() as pipeline:  # its end syncs: COMMIT's answer, or the first error
                    return self._insert_in_pipeline(conn, pipeline, stored_events, kwargs)
            except Exception:
                with suppress(psycopg.Error):  # a broken connection has nothing to roll back
                    conn.rollback()
                raise

    def _insert_in_pipeline(self, conn: Any, pipeline: Any, stored_events: Sequence[StoredEvent],
                            kwargs: dict[str, Any]) -> Sequence[int]:
        begin = conn.cursor()
        begin.execute("BEGIN")  # the connection is in autocommit: this one transaction holds it all
        self._insert_events(begin, stored_events, **kwargs)  # the library's hook for its own first writes
        curs = conn.cursor()
        self._insert_stored_events(curs, stored_events, **kwargs)  # lock timeout, LOCK, NOTIFY, INSERT
        reads = conn.cursor()
        read_locked(reads, self.writer, kwargs.get("follows"))
        pipeline.sync()  # a second writer of the same version fails here: IntegrityError
        ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert ids is not None
        self._after_insert(curs, stored_events, ids, kwargs, locked(reads))
        curs.execute("COMMIT")
        return ids

    def import_events(self, batches: Iterable[Batch], contents: Iterable[Staged] = (),
                      finish: Callable[[Any], None] | None = None) -> None:
        """Insert events at their original positions, with their chain links
        and the projection rows they make, then the contents of files and
        `finish` (the text index), all in one transaction."""
        table = self.events_table_name
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            for rows, links, projected in batches:
                c.executemany(f"INSERT INTO {table} (notification_id, originator_id, "
                              "originator_version, topic, state) VALUES (%s, %s, %s, %s, %s)", rows)
                self.writer.insert(c, "event_chain", links)
                self.writer.write(c, projected)
            self._import_contents(c, contents)
            if finish is not None:
                finish(c)
            # New events continue after the imported positions.
            c.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'notification_id'), "
                      f"(SELECT MAX(notification_id) FROM {table}))")

    def parallel_reads(self) -> bool:
        return True

    def last_position(self, c: Any) -> int:
        """The log's last position, read in the transaction of cursor `c`."""
        c.execute(f"SELECT MAX(notification_id) AS max FROM {self.datastore.schema}.{self.events_table_name}")
        return values(c.fetchone())[0] or 0

    def read_share(self, share: int, shares: int, upto: int, limit: int) -> Iterator[list[ShareEvent]]:
        """The events up to position `upto` of the aggregates in share `share`
        of `shares` (share_bounds: a range of their ids), in log order, in
        batches of at most `limit`. On a connection of its own, opened here:
        for a process forked from the one that holds the pool."""
        info = self.datastore.pool.kwargs
        assert isinstance(info, dict)
        params = {k: info[k] for k in ("dbname", "host", "port", "user", "password")}
        low, high = share_bounds(share, shares)
        statement = (f"SELECT notification_id, originator_id, originator_version, topic, state "
                     f"FROM {self.datastore.schema}.{self.events_table_name} "
                     "WHERE notification_id > %s AND notification_id <= %s "
                     f"{'' if low is None else 'AND originator_id >= %s '}"
                     f"{'' if high is None else 'AND originator_id < %s '}ORDER BY notification_id LIMIT %s")
        bounds = [UUID(f"{b:02x}" + "0" * 30) for b in (low, high) if b is not None]
        with psycopg.connect(**params) as db:
            after = 0
            while True:
                rows = db.execute(statement, (after, upto, *bounds, limit)).fetchall()
                if not rows:
                    return
                yield [ShareEvent(p, o, v, t, bytes(s)) for p, o, v, t, s in rows]
                after = rows[-1][0]

    def select_standard_events(self, originator_id: Any) -> list[Notification]:
        """One aggregate's events with their log positions."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT notification_id, originator_id, originator_version, topic, state "
                      f"FROM {self.events_table_name} WHERE originator_id = %s "
                      "ORDER BY originator_version", (originator_id,))
            return [Notification(id=r["notification_id"], originator_id=r["originator_id"],
                                 originator_version=r["originator_version"], topic=r["topic"],
                                 state=bytes(r["state"])) for r in c.fetchall()]
