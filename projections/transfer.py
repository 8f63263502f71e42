"""Moving a whole log between stores (SQLite <-> PostgreSQL) as JSON lines:
a header with the log's last position and chain head, then one event per
line with its position and chain hash. Import keeps every position, checks
every hash as it goes, then rebuilds the projections."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import IO, Any
from uuid import UUID

from projections import chain
from projections.rebuild import notifications, rebuild

FORMAT = "jgsw-event-log/1"
BATCH = 2000


class TransferError(ValueError):
    pass


def export(app: Any, out: IO[str], progress: Callable[[int], None] | None = None) -> tuple[int, str]:
    """Write the log; returns (last position, chain head)."""
    last = app.recorder.max_notification_id() or 0
    hashes = dict(app.reads.chain_from(0)) if last else {}
    head = hashes.get(last, chain.GENESIS)
    header = {"format": FORMAT, "last_position": last, "chain_head": head,
              "events": sum(1 for p in hashes if p <= last)}
    out.write(json.dumps(header, ensure_ascii=False) + "\n")
    for batch in notifications(app, upto=last):
        for n in batch:
            out.write(json.dumps({
                "position": n.id,
                "originator_id": str(n.originator_id),
                "originator_version": n.originator_version,
                "topic": n.topic,
                "state": base64.b64encode(bytes(n.state)).decode("ascii"),
                "chain_hash": hashes.get(n.id),
            }, ensure_ascii=False, separators=(",", ":")) + "\n")
        if progress is not None:
            progress(len(batch))
    return last, head


def read_header(lines: Iterator[str]) -> dict[str, Any]:
    try:
        header = json.loads(next(lines))
    except (StopIteration, json.JSONDecodeError):
        raise TransferError("the file does not start with a log header") from None
    if header.get("format") != FORMAT:
        raise TransferError(f"not a {FORMAT} file (format {header.get('format')!r})")
    return header


def _events(lines: Iterator[str],
            header: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], tuple[int, str]]]:
    """Yield (row, link) per event, checking order and every chain hash, and
    at the end that the file holds all its header promised."""
    previous, last, count = chain.GENESIS, 0, 0
    for number, line in enumerate(lines, start=2):
        try:
            e = json.loads(line)
            row = (int(e["position"]), UUID(e["originator_id"]), int(e["originator_version"]),
                   str(e["topic"]), base64.b64decode(e["state"], validate=True))
        except (ValueError, KeyError, TypeError) as err:
            raise TransferError(f"line {number}: not an event ({err})") from None
        if row[0] <= last:
            raise TransferError(f"line {number}: position {row[0]} is not after {last}")
        previous = chain.link(previous, *row)
        if e.get("chain_hash") != previous:
            raise TransferError(f"line {number}: position {row[0]}: the chain breaks here "
                                "(the event or its hash was changed)")
        last, count = row[0], count + 1
        yield row, (row[0], previous)
    promised = (header.get("last_position"), header.get("chain_head"), header.get("events"))
    if (last, previous, count) != promised:
        raise TransferError(f"the file ends at position {last} with head {previous} after {count} "
                            f"events, but its header promised {promised}: it was cut short or edited")


def _batches(lines: Iterator[str], header: dict[str, Any],
             progress: Callable[[int], None] | None) -> Iterator[tuple[list, list]]:
    rows: list[tuple[Any, ...]] = []
    links: list[tuple[int, str]] = []
    for row, link in _events(lines, header):
        rows.append(row)
        links.append(link)
        if len(rows) >= BATCH:
            yield rows, links
            if progress is not None:
                progress(len(rows))
            rows, links = [], []
    if rows:
        yield rows, links
        if progress is not None:
            progress(len(rows))


def import_log(app: Any, open_source: Callable[[], IO[str]],
               progress: Callable[[int], None] | None = None) -> tuple[int, str]:
    """Load an exported log into an empty store; returns (last position, chain
    head). The file is checked whole before anything is written, and loaded in
    one transaction: a bad file leaves the store empty."""
    if app.recorder.max_notification_id():
        raise TransferError("the target store is not empty: import only into a new store")
    with open_source() as source:
        lines = iter(source)
        header = read_header(lines)
        for _ in _events(lines, header):
            pass
    with open_source() as source:
        lines = iter(source)
        read_header(lines)
        app.recorder.import_events(_batches(lines, header, progress))
    rebuild(app)
    return header["last_position"], header["chain_head"]
