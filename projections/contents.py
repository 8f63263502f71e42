"""The bytes of files, stored once per SHA-256 in the store of the log (the
`contents` and `content_chunks` tables), in chunks of CHUNK bytes: written by
the recorders in the transaction that records the event naming them, read a
chunk at a time, so a 50 MB file never sits whole in memory.

Contents are part of the record, not a projection: `rebuild` keeps them,
`export`/`import` carry them, `verify` re-hashes them."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from lifecycle.files import Staged
from projections.writer import Writer, values

CHUNK = 1 << 20  # 1 MiB: one row, one read
SPOOL = 1 << 20  # a temporary file keeps this much in memory, the rest on disk


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    chunk_size: int
    chunks: int


def spooled() -> IO[bytes]:
    """A temporary file that moves to disk past SPOOL bytes."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL)


def store(c: Any, writer: Writer, staged: Staged) -> bool:
    """Insert the content if the store does not hold it yet (True if it was new)."""
    # The write lock of the log is held (SQLite's, or the events table's on
    # PostgreSQL), so no other command stores the same bytes in between.
    if stored(c, writer, staged.sha256) is not None:
        return False
    writer.insert(c, "contents", [(staged.sha256, staged.size, CHUNK, -(-staged.size // CHUNK))])
    insert = writer.sql("INSERT INTO content_chunks (sha256, seq, data) VALUES (?, ?, ?)")
    for seq, block in enumerate(staged.chunks(CHUNK)):
        c.execute(insert, (staged.sha256, seq, block))
    return True


def stored(c: Any, writer: Writer, sha256: str) -> Stored | None:
    c.execute(writer.sql("SELECT sha256, size, chunk_size, chunks FROM contents WHERE sha256 = ?"),
              (sha256,))
    row = c.fetchone()
    return Stored(*values(row)) if row else None


def chunk(c: Any, writer: Writer, sha256: str, seq: int) -> bytes | None:
    c.execute(writer.sql("SELECT data FROM content_chunks WHERE sha256 = ? AND seq = ?"), (sha256, seq))
    row = c.fetchone()
    if not row:
        return None
    data = values(row)[0]
    # A tampered row may hold text where bytes were stored: read what is there.
    return data.encode() if isinstance(data, str) else bytes(data)


def copy_to_file(c: Any, writer: Writer, sha256: str) -> IO[bytes]:
    """The content in a (spooled) temporary file, positioned at its start."""
    info = stored(c, writer, sha256)
    out = spooled()
    if info is not None:
        for seq in range(info.chunks):
            out.write(chunk(c, writer, sha256, seq) or b"")
    out.seek(0)
    return out


class Contents:
    """Reading contents outside a command: each chunk in its own short read
    transaction (contents never change, so the reads need not share one)."""

    def __init__(self, datastore: Any, writer: Writer) -> None:
        self.datastore = datastore
        self.writer = writer

    def _read(self, fn: Callable[[Any], Any]) -> Any:
        with self.datastore.transaction(commit=False) as c:
            return fn(c)

    def stored(self, sha256: str) -> Stored | None:
        return self._read(lambda c: stored(c, self.writer, sha256))

    def _chunk(self, sha256: str, seq: int) -> bytes | None:
        with self.datastore.transaction(commit=False) as c:
            return chunk(c, self.writer, sha256, seq)

    def read(self, info: Stored, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The bytes [start, stop) of a content, a chunk at a time."""
        stop = info.size if stop is None else min(stop, info.size)
        seq = start // info.chunk_size
        while start < stop:
            data = self._chunk(info.sha256, seq)
            if data is None:
                raise LookupError(f"content {info.sha256} has no chunk {seq}")
            offset = start - seq * info.chunk_size
            piece = data[offset: offset + stop - start]
            if not piece:
                raise LookupError(f"content {info.sha256} is shorter than its recorded size")
            yield piece
            start += len(piece)
            seq += 1

    def hash_problem(self, sha256: str, size: int | None = None) -> str | None:
        """Why the stored bytes of `sha256` are not that content, or None if they are."""
        info = self.stored(sha256)
        if info is None:
            return "not in the store"
        if size is not None and info.size != size:
            return f"the store records {info.size} bytes, the event {size}"
        digest, total = hashlib.sha256(), 0
        for seq in range(info.chunks):  # every stored byte, not only `size` of them
            data = self._chunk(sha256, seq)
            if data is None:
                return f"it has no chunk {seq} of {info.chunks}"
            digest.update(data)
            total += len(data)
        counted = self._read(lambda c: _count_chunks(c, self.writer, sha256))
        if counted != info.chunks:
            return f"{counted} chunks stored, {info.chunks} recorded"
        if total != info.size:
            return f"{total} bytes stored, {info.size} recorded"
        if digest.hexdigest() != sha256:
            return f"the stored bytes hash to {digest.hexdigest()}"
        return None


def _count_chunks(c: Any, writer: Writer, sha256: str) -> int:
    c.execute(writer.sql("SELECT COUNT(*) FROM content_chunks WHERE sha256 = ?"), (sha256,))
    return int(values(c.fetchone())[0])

