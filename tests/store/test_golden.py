"""The golden store (tests/golden/): a log recorded by an earlier version must
import, verify to the same head, rebuild the same rows and give the same
answers under this one, on both stores. Later versions may add fields; none
may disappear or change meaning (a deliberate change adds a newer answers
file beside the old ones)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from api import create_app
from api.cli import main

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
IMPORT_ARGS = ["--trust-unsigned"]  # recorded before exports were signed


def newest(kind: str) -> Path:
    """answers-issueN.json (or rows-issueN.json) with the highest N."""
    found = sorted(GOLDEN.glob(f"{kind}-issue*.json"),
                   key=lambda p: int(re.search(r"issue(\d+)", p.name).group(1)))
    assert found, f"no {kind} file in {GOLDEN}"
    return found[-1]


def extends(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Where `actual` fails to carry everything `expected` says: a dict may
    gain keys, never lose or change one; lists keep their length and order."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{where}.{key}: missing")
            else:
                out += extends(value, actual[key], f"{where}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} items, got {actual!r}"[:300]]
        return [p for i, (e, a) in enumerate(zip(expected, actual)) for p in extends(e, a, f"{where}[{i}]")]
    if expected != actual:
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []


def _cell(value: Any) -> Any:
    """A JSON document in a column compares as a document."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def rows_extend(expected: dict[str, list], actual: dict[str, list]) -> list[str]:
    problems = []
    for table, rows in expected.items():
        got = [list(r) for r in actual.get(table, [])]
        if len(got) != len(rows):
            problems.append(f"{table}: expected {len(rows)} rows, got {len(got)}")
            continue
        for i, (want, have) in enumerate(zip(rows, got)):
            problems += extends([_cell(v) for v in want], [_cell(v) for v in have[:len(want)]],
                                f"{table}[{i}]")
    return problems


@pytest.fixture
def golden(runner, service):
    """The golden log imported into a fresh store of each kind, through the CLI."""
    result = runner.invoke(main, ["import", str(GOLDEN / "store.jsonl"), *IMPORT_ARGS])
    assert result.exit_code == 0, result.output
    return json.loads(newest("answers").read_text(encoding="utf-8"))


def test_verify_prints_the_recorded_head(golden, runner):
    result = runner.invoke(main, ["verify"])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [golden["head"]]


def test_import_and_rebuild_give_the_recorded_rows(golden, runner, service):
    expected = json.loads(newest("rows").read_text(encoding="utf-8"))
    assert rows_extend(expected, service.reads.dump()) == []
    result = runner.invoke(main, ["rebuild"])
    assert result.exit_code == 0, result.output
    assert rows_extend(expected, service.reads.dump()) == []


def test_the_api_gives_the_recorded_answers(golden, service):
    client = create_app(service=service).test_client()
    token = json.loads((GOLDEN / "tokens.json").read_text())["sun"]
    problems = []
    for path, want in golden["requests"].items():
        resp = client.get("/api/v1" + path, headers={"Authorization": f"Bearer {token}"})
        if resp.status_code != want["status"]:
            problems.append(f"{path}: status {resp.status_code}, expected {want['status']}")
            continue
        if "etag" in want and resp.headers.get("ETag") != want["etag"]:
            problems.append(f"{path}: ETag {resp.headers.get('ETag')}, expected {want['etag']}")
        problems += extends(want["body"], resp.get_json(), path)
    assert problems == [], "\n".join(problems[:40])


def test_the_comparison_catches_a_lost_field_and_a_changed_value():
    """The golden comparison itself: a field gone or a value changed fails."""
    recorded = {"items": [{"number": "JGSW05001—2018", "status": "current"}]}
    assert extends(recorded, {"items": [{"number": "JGSW05001—2018", "status": "current", "new": 1}]}) == []
    assert extends(recorded, {"items": [{"number": "JGSW05001—2018"}]}) == [".items[0].status: missing"]
    assert extends(recorded, {"items": [{"number": "JGSW05001—2018", "status": "trial"}]}) == [
        ".items[0].status: expected 'current', got 'trial'"]


def test_a_changed_event_class_still_reads_the_golden_events(golden, service, runner, monkeypatch):
    """The rule for an event that changes shape (docs/architecture.md): a new
    class_version with an upcast method; the stored bytes and chain hashes of
    old events stay as they are. Here a test-only version 2 of Submitted
    gains a field, and the golden log still loads, verifies and projects."""
    from eventsourcing.utils import _topic_cache, get_topic

    from lifecycle.domain import Standard
    from projections.rebuild import replay

    class Submitted(Standard.Event):
        class_version = 2
        channel: str  # the new field: how the draft was sent for review

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["channel"] = "unknown (recorded before version 2)"

        def apply(self, standard: Standard) -> None:
            Standard.Submitted.apply(self, standard)  # type: ignore[arg-type]

    topic = get_topic(Standard.Submitted)
    expected = json.loads(newest("rows").read_text(encoding="utf-8"))
    monkeypatch.setitem(_topic_cache, topic, Submitted)

    aggregates, _ = replay(service)
    submitted = [e for n in service.recorder.select_notifications(start=1, limit=1000)
                 if n.topic == topic for e in [service.mapper.to_domain_event(n)]]
    assert len(submitted) == 18
    assert all(isinstance(e, Submitted) and e.channel.startswith("unknown") for e in submitted)
    assert sum(1 for a in aggregates.values() if isinstance(a, Standard)) == 17

    assert runner.invoke(main, ["verify"]).stdout.split() == [golden["head"]]
    assert runner.invoke(main, ["rebuild"]).exit_code == 0
    assert rows_extend(expected, service.reads.dump()) == []


@pytest.mark.parametrize("day", ["2019-06-01", "2026-12-01"])
def test_workbooks_of_snapshots_written_before_xlsxwriter_are_reproduced(golden, service, day):
    """workbook-<day>-openpyxl.xlsx: the snapshot's workbook of the golden
    log as the code before XlsxWriter (commit of 2026-12-01) wrote it. `snapshot verify`
    proves such files against render_xlsx_openpyxl, so it must give these bytes."""
    from datetime import date

    from projections import snapshot

    as_of = date.fromisoformat(day)
    _, _, rows = service.reads.everything_on(as_of)
    recorded = (GOLDEN / f"workbook-{day}-openpyxl.xlsx").read_bytes()
    assert snapshot.render_xlsx_openpyxl(as_of, snapshot.views_of(as_of, rows)) == recorded
