"""Tampering with the stored log, directly in the database file or server,
is caught by `lifecycle verify`, which names the first position where the
chain breaks. On both stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from lifecycle.seed import seed
from projections.verify import verify_log
from tests.tampering import Forger


@pytest.fixture
def forger(service, settings):
    seed(service)
    f = Forger(settings, service.recorder.events_table_name)
    yield f
    f.close()


def broken_at(service) -> tuple[int, str]:
    broken = verify_log(service).broken
    assert broken is not None, "the tampering went unnoticed"
    return broken.position, broken.problem


def test_an_untouched_log_verifies_and_prints_its_head(service, forger, runner):
    checked = verify_log(service)
    head = checked.head
    assert checked.broken is None and checked.last == checked.events == service.recorder.max_notification_id() == 30
    result = runner.invoke(main, ["verify"])
    assert result.exit_code == 0
    assert result.stdout.strip() == head and len(head) == 64


def test_an_edited_event_is_caught(service, forger):
    forger.replace_text(3, "2018-12-31", "2017-12-31")
    assert broken_at(service) == (3, "the event's content or order does not match its chain "
                                     "hash: edited or reordered, or an event between position 2 "
                                     "and this one was deleted with its chain link")


def test_an_edited_topic_is_caught(service, forger):
    forger.edit_topic(7)
    assert broken_at(service)[0] == 7


def test_a_deleted_event_is_caught(service, forger):
    forger.delete(12)
    position, problem = broken_at(service)
    assert position == 12 and "deleted" in problem


def test_the_last_event_deleted_is_caught(service, forger):
    forger.delete(30)
    position, problem = broken_at(service)
    assert position == 30 and "deleted" in problem


def test_reordered_events_are_caught(service, forger):
    forger.swap(5, 6)
    assert broken_at(service)[0] == 5


def test_an_inserted_event_is_caught(service, forger):
    position = forger.append_copy(4)
    found, problem = broken_at(service)
    assert found == position == 31 and "inserted" in problem


def test_an_event_whose_chain_link_was_removed_is_caught(service, forger):
    forger.run("DELETE FROM event_chain WHERE position = 9")
    position, problem = broken_at(service)
    assert position == 9 and "inserted" in problem


def test_a_rewritten_chain_hash_is_caught(service, forger):
    forger.run("UPDATE event_chain SET hash = ? WHERE position = 20", ("f" * 64,))
    assert broken_at(service)[0] == 20


def test_the_real_command_exits_non_zero_naming_the_position(service, forger, settings, tmp_path):
    forger.replace_text(8, "2019-01-01", "2019-01-02")
    lifecycle = Path(sys.executable).parent / "lifecycle"
    result = subprocess.run([str(lifecycle), "verify"], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={**os.environ,
                                               "LIFECYCLE_DATABASE_URL": settings.database_url})
    assert result.returncode == 2
    assert "the chain breaks at position 8" in result.stderr
    assert result.stdout == ""
