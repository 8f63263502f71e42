"""Moving a whole log between stores (SQLite <-> PostgreSQL) as JSON lines:
a header with the log's last position, chain head and signed head, then one
event per line with its position and chain hash, then the files' contents, a
chunk per line (the header counts them and hashes their list). Import trusts
nothing in the file: it checks the signed head (the local key, a key given,
or an explicit --trust-unsigned), every chain hash, every event's topic,
version and state, every content's hash, and rebuilds the projections from
the decoded events, all in the one transaction that loads them, so a bad
file leaves the store empty."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from itertools import islice
from typing import IO, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from lifecycle.files import Extraction, Staged
from projections import chain
from projections.contents import spooled
from projections.rebuild import Rows, Table, index_texts, notifications
from projections.signing import SignedHead, SigningError
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
              "events": sum(1 for p in hashes if p <= last), **contents_summary(app),
              "signed_head": app.signer.sign(last, head).as_dict()}
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


def check_signature(header: dict[str, Any], keys: list[Any], trust_unsigned: bool) -> str:
    """How the file's head is trusted: signed by one of `keys` (the local
    key first), or unsigned and accepted by the operator's choice."""
    raw = header.get("signed_head")
    if raw is None:
        if trust_unsigned:
            return "unsigned, loaded because --trust-unsigned was given"
        raise TransferError("the file's head is not signed: load it only if you trust where it came "
                            "from, with --trust-unsigned")
    try:
        signed = SignedHead.from_dict(raw)
    except SigningError as e:
        raise TransferError(f"the file's signed head: {e}") from None
    if (signed.position, signed.chain_head) != (header.get("last_position"), header.get("chain_head")):
        raise TransferError("the file's signed head does not name its last position and chain head: "
                            "the header was edited")
    if signed.verified_by(keys) is None:
        raise TransferError(f"the file's head is signed by key {signed.key}, which is neither this "
                            "register's key nor one given with --trusted-key")
    return f"signed by {signed.key}"


class Decoder:
    """Checks each event of a file as the application would read it: a
    known topic, the next version of its aggregate, a state that decodes
    and applies; and collects the projection rows it makes."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.topics = app.event_topics()
        self.versions: dict[UUID, int] = {}
        self.rows = Rows(app.settings.zone, app.settings.review_years)

    def add(self, number: int, row: tuple[Any, ...]) -> None:
        position, originator_id, version, topic, state = row
        where = f"line {number}: position {position}"
        if topic not in self.topics:
            raise TransferError(f"{where}: {topic!r} is not an event type of this register")
        expected = self.versions.get(originator_id, 0) + 1
        if version != expected:
            raise TransferError(f"{where}: version {version} of aggregate {originator_id}, "
                                f"expected {expected}: versions must follow on without gaps")
        self.versions[originator_id] = version
        try:
            event = self.app.mapper.to_domain_event(StoredEvent(originator_id, version, topic, state))
            self.rows.add(position, event)
        except Exception as e:
            raise TransferError(f"{where}: the event does not decode or apply ({type(e).__name__}: "
                                f"{e})") from None


def _batches(lines: Iterator[str], header: dict[str, Any], decoder: Decoder,
             progress: Callable[[int], None] | None) -> Iterator[tuple[list, list, Table]]:
    rows: list[tuple[Any, ...]] = []
    links: list[tuple[int, str]] = []
    for number, (row, link) in enumerate(_events(lines, header), start=2):
        decoder.add(number, row)
        rows.append(row)
        links.append(link)
        if len(rows) >= BATCH:
            yield rows, links, decoder.rows.take_closed()
            if progress is not None:
                progress(len(rows))
            rows, links = [], []
    yield rows, links, decoder.rows.finish()
    if progress is not None:
        progress(len(rows))


def import_log(app: Any, open_source: Callable[[], IO[str]],
               progress: Callable[[int], None] | None = None, *, trusted_keys: list[Any] | None = None,
               trust_unsigned: bool = False) -> tuple[int, str, str]:
    """Load an exported log into an empty store; returns (last position, chain
    head, how its head was trusted). The file's chain is checked whole before
    anything is written; then its events are decoded, checked and loaded with
    their projection rows in one transaction: a bad file leaves the store empty."""
    if app.recorder.max_notification_id():
        raise TransferError("the target store is not empty: import only into a new store")
    with open_source() as source:
        lines = iter(source)
        header = read_header(lines)
        trust = check_signature(header, [app.signer.public, *(trusted_keys or [])], trust_unsigned)
        events = int(header.get("events") or 0)
        for _ in _events(islice(lines, events), header):
            pass
        for staged in _contents(lines, header, events + 2):
            staged.source.close()
    with open_source() as source:
        lines = iter(source)
        read_header(lines)
        decoder = Decoder(app)
        app.recorder.import_events(_batches(islice(lines, events), header, decoder, progress),
                                   _contents(lines, header, events + 2),
                                   finish=lambda c: index_texts(c, app.recorder.writer, decoder.rows))
    return header["last_position"], header["chain_head"], trust
