"""The library's own recorder test cases, run against our recorder subclasses
on both stores: writing chain links and projections in the event
transaction must not break the recorder's contract."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)

from projections import chain
from projections.pg_recorder import ProjectingPostgresRecorder
from projections.pg_store import CheckedPostgresDatastore
from projections.projector import Change
from projections.recorder import ProjectingSQLiteRecorder, values
from tests.conftest import reset_postgres


class OnSQLite:
    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp())
        self.datastore = SQLiteDatastore(str(self.dir / "store.db"))
        self.threads_before = set(threading.enumerate())
        super().setUp()

    def tearDown(self) -> None:
        # The library's concurrency test signals its reader threads to stop
        # but does not join them; closing the store under them would crash.
        for thread in threading.enumerate():
            if thread not in self.threads_before and not thread.daemon:
                thread.join(timeout=5)
        self.datastore.close()
        shutil.rmtree(self.dir)
        super().tearDown()

    def create_recorder(self) -> ProjectingSQLiteRecorder:
        recorder = ProjectingSQLiteRecorder(self.datastore)
        recorder.create_table()
        return recorder


@pytest.fixture
def fresh_postgres(request, postgres_database):
    reset_postgres(postgres_database)
    request.cls.postgres_url = postgres_database


class OnPostgres:
    postgres_url: str

    def setUp(self) -> None:
        url = urlparse(self.postgres_url)
        self.threads_before = set(threading.enumerate())
        # The service's datastore (api/bootstrap.py), with its liveness check.
        self.datastore = CheckedPostgresDatastore(
            dbname=url.path.lstrip("/"), host=url.hostname, port=url.port or 5432,
            user=url.username or "postgres", password=url.password or "",
            pool_size=10, max_overflow=10, pre_ping=True,
        )
        super().setUp()

    def tearDown(self) -> None:
        for thread in threading.enumerate():
            if thread not in self.threads_before and not thread.daemon:
                thread.join(timeout=5)
        self.datastore.close()
        super().tearDown()

    def create_recorder(self) -> ProjectingPostgresRecorder:
        recorder = ProjectingPostgresRecorder(self.datastore)
        recorder.create_table()
        return recorder


class ProjectionWrites:
    """Our additions, checked with the library's harness."""

    def count(self, table: str) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) FROM {table}")
            return values(c.fetchone())[0]

    def test_projection_rows_and_chain_commit_with_the_events(self) -> None:
        recorder = self.create_recorder()
        event = StoredEvent(self.new_originator_id(), 1, "topic", b"{}")
        change = Change("2024-01-01T00:00:00.000000Z", users=[("alice", "admin", "hash-1", 1)])
        ids = recorder.insert_events([event], projection=[change])
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT name, token_hash FROM users")
            self.assertEqual([values(r) for r in c.fetchall()], [("alice", "hash-1")])
            c.execute("SELECT position FROM projection_position")
            self.assertEqual(values(c.fetchone())[0], ids[-1])
        self.assertEqual(self.count("event_chain"), 1)

    def test_each_link_follows_the_last_one_written(self) -> None:
        recorder = self.create_recorder()
        for version in (1, 2, 3):
            events = [StoredEvent(self.new_originator_id(), 1, "topic", b"{}") for _ in range(version)]
            recorder.insert_events(events)
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, h.hash "
                      f"FROM {recorder.events_table_name} e JOIN event_chain h "
                      "ON h.position = e.notification_id ORDER BY h.position"
                      if isinstance(recorder, ProjectingPostgresRecorder) else
                      f"SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, h.hash "
                      f"FROM {recorder.events_table_name} e JOIN event_chain h "
                      "ON h.position = e.rowid ORDER BY h.position")
            rows = [values(r) for r in c.fetchall()]
        self.assertEqual(len(rows), 6)
        previous = chain.GENESIS
        for position, originator, version, topic, state, stored in rows:
            originator = UUID(str(originator))
            previous = chain.link(previous, position, originator, version, topic, bytes(state))
            self.assertEqual(stored, previous)

    def test_a_conflict_writes_neither_events_nor_rows_nor_chain(self) -> None:
        recorder = self.create_recorder()
        originator = self.new_originator_id()
        recorder.insert_events([StoredEvent(originator, 1, "topic", b"{}")])
        change = Change("2024-01-01T00:00:00.000000Z", users=[("bob", "admin", "hash-2", 1)])
        with self.assertRaises(IntegrityError):
            recorder.insert_events([StoredEvent(originator, 1, "topic", b"{}")], projection=[change])
        self.assertEqual(self.count("users"), 0)
        self.assertEqual(self.count("event_chain"), 1)
        self.assertEqual(len(recorder.select_notifications(start=None, limit=10)), 1)


class TestProjectingSQLiteRecorder(OnSQLite, ProjectionWrites, ApplicationRecorderTestCase):
    def test_concurrent_throughput(self) -> None:
        pass  # a throughput print, not a check; the no-conflict test still runs


class TestProjectingSQLiteRecorderNonInterleaving(OnSQLite, NonInterleavingNotificationIDsBaseCase):
    insert_num = 200


@pytest.mark.usefixtures("fresh_postgres")
class TestProjectingPostgresRecorder(OnPostgres, ProjectionWrites, ApplicationRecorderTestCase):
    EXPECT_CONTIGUOUS_NOTIFICATION_IDS = False  # PostgreSQL sequences skip ids of rolled-back inserts

    def test_concurrent_throughput(self) -> None:
        pass


@pytest.mark.usefixtures("fresh_postgres")
class TestProjectingPostgresRecorderNonInterleaving(OnPostgres, NonInterleavingNotificationIDsBaseCase):
    insert_num = 200


del ApplicationRecorderTestCase, NonInterleavingNotificationIDsBaseCase
