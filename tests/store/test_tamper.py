"""Tampering with the stored log, directly in the SQLite file, is caught by
`lifecycle verify`, which names the first position where the chain breaks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from lifecycle.seed import seed
from projections.verify import verify_log


@pytest.fixture
def seeded(service, settings):
    seed(service)
    db = sqlite3.connect(settings.sqlite_path)
    yield db
    db.close()


def holds(db, rowid: int, text: str) -> bool:
    row = db.execute("SELECT instr(CAST(state AS TEXT), ?) FROM stored_events WHERE rowid = ?",
                     (text, rowid)).fetchone()
    return bool(row and row[0])


def broken_at(service) -> tuple[int, str]:
    _, _, broken = verify_log(service)
    assert broken is not None, "the tampering went unnoticed"
    return broken.position, broken.problem


def test_an_untouched_log_verifies_and_prints_its_head(service, seeded, runner):
    head, last, broken = verify_log(service)
    assert broken is None and last == service.recorder.max_notification_id() == 30
    result = runner.invoke(main, ["verify"])
    assert result.exit_code == 0
    assert result.stdout.strip() == head and len(head) == 64


def test_an_edited_event_is_caught(service, seeded):
    seeded.execute("UPDATE stored_events SET state = replace(state, '2018-12-31', '2017-12-31') "
                   "WHERE rowid = 3")
    seeded.commit()
    assert holds(seeded, 3, "2017-12-31")
    assert broken_at(service) == (3, "the event's content or order does not match its chain "
                                     "hash: edited or reordered")


def test_an_edited_event_kept_as_bytes_is_caught(service, seeded):
    seeded.execute("UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), "
                   "'2018-12-31', '2017-12-31') AS BLOB) WHERE rowid = 11")
    seeded.commit()
    assert holds(seeded, 11, "2017-12-31")
    assert broken_at(service)[0] == 11


def test_an_edited_topic_is_caught(service, seeded):
    seeded.execute("UPDATE stored_events SET topic = topic || 'x' WHERE rowid = 7")
    seeded.commit()
    assert broken_at(service)[0] == 7


def test_a_deleted_event_is_caught(service, seeded):
    seeded.execute("DELETE FROM stored_events WHERE rowid = 12")
    seeded.commit()
    position, problem = broken_at(service)
    assert position == 12 and "deleted" in problem


def test_the_last_event_deleted_is_caught(service, seeded):
    seeded.execute("DELETE FROM stored_events WHERE rowid = 30")
    seeded.commit()
    position, problem = broken_at(service)
    assert position == 30 and "deleted" in problem


def test_reordered_events_are_caught(service, seeded):
    seeded.execute("UPDATE stored_events SET rowid = 1000 WHERE rowid = 5")
    seeded.execute("UPDATE stored_events SET rowid = 5 WHERE rowid = 6")
    seeded.execute("UPDATE stored_events SET rowid = 6 WHERE rowid = 1000")
    seeded.commit()
    assert broken_at(service)[0] == 5


def test_an_inserted_event_is_caught(service, seeded):
    seeded.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state) "
                   "SELECT originator_id, originator_version + 100, topic, state "
                   "FROM stored_events WHERE rowid = 4")
    seeded.commit()
    position, problem = broken_at(service)
    assert position == 31 and "inserted" in problem


def test_an_event_inserted_into_a_gap_is_caught(service, seeded):
    seeded.execute("DELETE FROM event_chain WHERE position = 9")  # a gap the forger fills
    seeded.execute("UPDATE stored_events SET state = state WHERE rowid = 9")
    seeded.commit()
    position, problem = broken_at(service)
    assert position == 9 and "inserted" in problem


def test_a_rewritten_chain_hash_is_caught(service, seeded):
    seeded.execute("UPDATE event_chain SET hash = '" + "f" * 64 + "' WHERE position = 20")
    seeded.commit()
    assert broken_at(service)[0] == 20


def test_the_real_command_exits_non_zero_naming_the_position(service, seeded, settings, tmp_path):
    seeded.execute("UPDATE stored_events SET state = replace(state, '2019-01-01', '2019-01-02') WHERE rowid = 8")
    seeded.commit()
    assert holds(seeded, 8, "2019-01-02")
    lifecycle = Path(sys.executable).parent / "lifecycle"
    result = subprocess.run([str(lifecycle), "verify"], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={"LIFECYCLE_DATABASE_URL": settings.database_url,
                                               "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "the chain breaks at position" in result.stderr
    assert result.stdout == ""
