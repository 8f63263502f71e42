"""Substring search in the text of files, the same on SQLite and PostgreSQL.

Chinese has no spaces between words and most words are two characters
(绿化, 餐饮), so neither SQLite's FTS5 trigram tokenizer (three characters at
least) nor PostgreSQL's pg_trgm (which skips CJK under the C collation) can
serve it. Instead every text is cut into its characters and pairs of
characters ("grams"), and `text_grams` keeps, per gram, the set of texts
(`content_text.doc`) that hold it, as a serialised roaring bitmap (pyroaring).

A query of one or two characters is one gram: its set is the answer. A longer
query intersects the sets of its pairs (`candidates`); the catalogue's query
confirms a candidate with a substring test only when it reaches its row, so
a common query confirms a page's worth, not every text. The index is written with the event that first names
a content, and rebuilt in log order by `rebuild`, so both give the same rows.
`scripts/bench.py` measures it against a full `LIKE '%q%'` scan."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Any

from pyroaring import BitMap

from lifecycle.files import Extraction
from projections.writer import Writer, values

BATCH = 500  # grams read or written per statement


def grams(text: str) -> set[str]:
    """Every character and every pair of adjacent characters of `text`."""
    return set(text) | {text[i:i + 2] for i in range(len(text) - 1)}


def keys_of(query: str) -> list[str]:
    """The grams whose sets hold every text containing `query`."""
    if len(query) <= 2:
        return [query]
    return sorted({query[i:i + 2] for i in range(len(query) - 1)})


def _serialise(bitmap: BitMap) -> bytes:
    return bytes(bitmap.serialize())


def next_doc(c: Any) -> int:
    c.execute("SELECT COALESCE(MAX(doc), 0) + 1 FROM content_text")
    return int(values(c.fetchone())[0])


def insert_text(c: Any, writer: Writer, doc: int, sha256: str, extraction: Extraction) -> None:
    writer.insert(c, "content_text", [(doc, sha256, extraction.status, extraction.detail, extraction.text)])


def index(c: Any, writer: Writer, sha256: str, extraction: Extraction) -> int:
    """Add a new content's text (inside the transaction that stores it);
    returns its doc number."""
    doc = next_doc(c)
    insert_text(c, writer, doc, sha256, extraction)
    found = sorted(grams(extraction.text))
    for start in range(0, len(found), BATCH):
        batch = found[start:start + BATCH]
        c.execute(writer.sql(f"SELECT gram, docs FROM text_grams WHERE {writer.among('gram')}"),
                  (writer.members(batch),))
        sets = {gram: BitMap.deserialize(bytes(docs)) for gram, docs in map(values, c.fetchall())}
        rows = []
        for gram in batch:
            bitmap = sets.get(gram) or BitMap()
            bitmap.add(doc)
            rows.append((gram, _serialise(bitmap)))
        c.executemany(writer.sql("INSERT INTO text_grams (gram, docs) VALUES (?, ?) ON CONFLICT (gram) "
                                 "DO UPDATE SET docs = excluded.docs"), rows)
    return doc


def rebuild(c: Any, writer: Writer, firsts: Iterable[tuple[str, str]],
            open_content: Callable[[str], IO[bytes]],
            extract: Callable[[str, IO[bytes]], Extraction]) -> int:
    """Recreate `content_text` and `text_grams` (already emptied) from the
    stored contents, numbered in the order the log first names them
    (`firsts`: (sha256, media type)). Returns how many texts."""
    sets: dict[str, BitMap] = {}
    doc = 0
    for sha256, media_type in firsts:
        doc += 1
        with open_content(sha256) as source:
            extraction = extract(media_type, source)
        insert_text(c, writer, doc, sha256, extraction)
        for gram in grams(extraction.text):
            found = sets.get(gram)
            if found is None:
                sets[gram] = BitMap([doc])
            else:
                found.add(doc)
    write_grams(c, writer, sets)
    return doc


def write_grams(c: Any, writer: Writer, sets: dict[str, BitMap]) -> None:
    rows = [(gram, _serialise(bitmap)) for gram, bitmap in sorted(sets.items())]
    for start in range(0, len(rows), 5 * BATCH):
        writer.insert(c, "text_grams", rows[start:start + 5 * BATCH])


def exact(query: str) -> bool:
    """Whether `candidates` is exactly the set of texts containing `query`."""
    return len(query) <= 2


def candidates(c: Any, writer: Writer, query: str) -> BitMap:
    """The docs whose text holds every gram of `query`: exactly those that
    contain it if `exact(query)`, else a superset to confirm."""
    keys = keys_of(query)
    c.execute(writer.sql(f"SELECT docs FROM text_grams WHERE {writer.among('gram')}"),
              (writer.members(keys),))
    sets = [BitMap.deserialize(bytes(values(r)[0])) for r in c.fetchall()]
    if len(sets) < len(keys):
        return BitMap()
    return BitMap.intersection(*sets) if len(sets) > 1 else sets[0]


def snippets(c: Any, writer: Writer, docs: list[int], query: str, before: int = 30,
             after: int = 60) -> dict[int, str]:
    """doc -> the text around the first place `query` occurs in it (docs
    without it are left out), in one query."""
    if not docs:
        return {}
    window = before + len(query) + after
    c.execute(writer.sql(
        f"SELECT doc, at, size, substr(text, CASE WHEN at > {before} THEN at - {before} ELSE 1 END, "
        f"{window}) FROM (SELECT doc, text, {writer.position('text')} AS at, LENGTH(text) AS size "
        f"FROM content_text WHERE {writer.among('doc')}) found WHERE at > 0"), (query, writer.members(docs)))
    out = {}
    for doc, at, size, text in map(values, c.fetchall()):
        start = max(1, at - before)
        out[int(doc)] = (("…" if start > 1 else "") + " ".join(str(text).split())
                         + ("…" if start + window <= size else ""))
    return out
