"""The library's own recorder test cases, run against our recorder subclass:
writing projections in the event transaction must not break the contract."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)

from projections.projector import Change
from projections.recorder import ProjectingSQLiteRecorder


class OnAFile:
    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp())
        self.datastore = SQLiteDatastore(str(self.dir / "store.db"))
        self.threads_before = set(threading.enumerate())
        super().setUp()

    def tearDown(self) -> None:
        # The library's concurrency test signals its reader threads to stop
        # but does not join them; closing the file under them would crash.
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


class TestProjectingSQLiteRecorder(OnAFile, ApplicationRecorderTestCase):
    def test_concurrent_throughput(self) -> None:
        # The library's own SQLite suite skips this one for file databases too
        # (a throughput print, not a check); the no-conflict test still runs.
        pass

    def test_projection_rows_commit_with_the_events(self) -> None:
        recorder = self.create_recorder()
        event = StoredEvent(self.new_originator_id(), 1, "topic", b"{}")
        change = Change("2024-01-01T00:00:00.000000Z", users=[("alice", "admin", "hash-1", 1)])
        ids = recorder.insert_events([event], projection=[change])
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT name, token_hash FROM users")
            self.assertEqual([tuple(r) for r in c.fetchall()], [("alice", "hash-1")])
            c.execute("SELECT position FROM projection_position")
            self.assertEqual(c.fetchone()[0], ids[-1])

    def test_a_conflict_writes_neither_events_nor_rows(self) -> None:
        recorder = self.create_recorder()
        originator = self.new_originator_id()
        recorder.insert_events([StoredEvent(originator, 1, "topic", b"{}")])
        change = Change("2024-01-01T00:00:00.000000Z", users=[("bob", "admin", "hash-2", 1)])
        with self.assertRaises(IntegrityError):
            recorder.insert_events([StoredEvent(originator, 1, "topic", b"{}")], projection=[change])
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT COUNT(*) FROM users")
            self.assertEqual(c.fetchone()[0], 0)
            c.execute("SELECT COUNT(*) FROM event_chain")
            self.assertEqual(c.fetchone()[0], 1)
        self.assertEqual(recorder.max_notification_id(), 1)


class TestProjectingSQLiteRecorderNonInterleaving(OnAFile, NonInterleavingNotificationIDsBaseCase):
    insert_num = 200


del ApplicationRecorderTestCase, NonInterleavingNotificationIDsBaseCase
