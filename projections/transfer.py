"""Moving a whole log between stores (SQLite <-> PostgreSQL) as JSON lines:
a header with the log's last position and chain head, then one event per
line with its position and chain hash, then the files' contents, a chunk per
line (the header counts them and hashes their list). Import keeps every
position, checks every hash as it goes, then rebuilds the projections."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from itertools import islice
from typing import IO, Any
from uuid import UUID

from lifecycle.files import Extraction, Staged
from projections import chain
from projections.contents import spooled
from projections.rebuild import notifications, rebuild
from projections.writer import values

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
              "events": sum(1 for p in hashes if p <= last), **contents_summary(app)}
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
    export_contents(app, out)
    return last, head


# ------------------------------------------------------------------ contents
def _contents_digest(listed: list[tuple[str, int]]) -> str:
    return hashlib.sha256("".join(f"{sha256} {size}\n" for sha256, size in listed).encode()).hexdigest()


def _stored_contents(app: Any) -> list[tuple[str, int]]:
    with app.reads.cursor() as c:
        c.execute("SELECT sha256, size FROM contents ORDER BY sha256")
        return [(str(sha256), int(size)) for sha256, size in map(values, c.fetchall())]


def contents_summary(app: Any) -> dict[str, Any]:
    """What the header promises of the contents: how many, and a hash of their list."""
    listed = _stored_contents(app)
    return {"contents": len(listed), "contents_sha256": _contents_digest(listed)}


def export_contents(app: Any, out: IO[str]) -> None:
    """After the events: each content, a chunk per line, in SHA-256 order."""
    for sha256, size in _stored_contents(app):
        info = app.contents.stored(sha256)
        for seq, data in enumerate(app.contents.read(info)):
            out.write(json.dumps({"content": sha256, "size": size, "seq": seq,
                                  "data": base64.b64encode(data).decode("ascii")},
                                 separators=(",", ":")) + "\n")


def _contents(lines: Iterator[str], header: dict[str, Any], first_line: int) -> Iterator[Staged]:
    """Each content of the file, spooled and checked against its SHA-256, then
    the whole list against the header."""
    listed: list[tuple[str, int]] = []
    current: tuple[str, int] | None = None
    out, digest, seq = spooled(), hashlib.sha256(), 0

    def finished() -> Staged:
        assert current is not None
        sha256, size = current
        if digest.hexdigest() != sha256 or out.tell() != size:
            out.close()
            raise TransferError(f"content {sha256}: the file's bytes are not that content "
                                "(edited or cut short)")
        listed.append(current)
        return Staged(sha256, size, "", out, Extraction("none"))

    for number, line in enumerate(lines, start=first_line):
        try:
            e = json.loads(line)
            sha256, size, part = str(e["content"]), int(e["size"]), int(e["seq"])
            data = base64.b64decode(e["data"], validate=True)
        except (ValueError, KeyError, TypeError) as err:
            raise TransferError(f"line {number}: not a content line ({err})") from None
        if current is not None and sha256 != current[0]:
            yield finished()
            out, digest, seq = spooled(), hashlib.sha256(), 0
        if (current is None or sha256 != current[0]) and listed and sha256 <= listed[-1][0]:
            raise TransferError(f"line {number}: content {sha256} is out of order")
        if part != seq:
            raise TransferError(f"line {number}: content {sha256}: chunk {part}, expected {seq}")
        current, seq = (sha256, size), seq + 1
        digest.update(data)
        out.write(data)
    if current is not None:
        yield finished()
    promised = (header.get("contents", 0), header.get("contents_sha256", _contents_digest([])))
    if (len(listed), _contents_digest(listed)) != promised:
        raise TransferError(f"the file holds {len(listed)} contents, but its header promised "
                            f"{promised[0]}: contents were added, removed or edited")


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
        events = int(header.get("events") or 0)
        for _ in _events(islice(lines, events), header):
            pass
        for staged in _contents(lines, header, events + 2):
            staged.source.close()
    with open_source() as source:
        lines = iter(source)
        read_header(lines)
        app.recorder.import_events(_batches(islice(lines, events), header, progress),
                                   _contents(lines, header, events + 2))
    rebuild(app)
    return header["last_position"], header["chain_head"]
