"""Recreate every projection from the event log: replay it in recorded order
through the same Projector the commands use. `Rows` turns a stream of events
into the rows each table should hold; `rebuild` writes them (and the
position) in one transaction, readers seeing the old rows until it commits;
`verify` compares them with the tables; `import` writes them with the events.
The text of files is extracted again from the stored contents, in the order
the log first names them (projections/search.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from lifecycle.domain import Standard
from projections import contents, search, text
from projections.documents import to_column
from projections.projector import Projector
from projections.schema import OPEN, POSITION_NAME, PROJECTION_VERSION

BATCH = 5000

Table = dict[str, list[tuple[Any, ...]]]


def notifications(app: Any, upto: int | None = None, after: int = 0) -> Iterator[list[Any]]:
    """The log in batches, from position `after` + 1 up to `upto`."""
    while True:
        batch = app.recorder.select_notifications(start=after + 1, limit=BATCH, stop=upto)
        if not batch:
            return
        yield batch
        after = batch[-1].id


def replay(app: Any, upto: int | None = None,
           progress: Callable[[int], None] | None = None) -> tuple[dict[Any, Any], int]:
    """Every aggregate as of log position `upto` (default: the end)."""
    aggregates: dict[Any, Any] = {}
    last = 0
    for batch in notifications(app, upto):
        for n in batch:
            event = app.mapper.to_domain_event(n)
            aggregates[event.originator_id] = event.mutate(aggregates.get(event.originator_id))
        last = batch[-1].id
        if progress is not None:
            progress(len(batch))
    return aggregates, last


@dataclass
class Track:
    """One aggregate during a replay: its state, open slices and when each opened."""

    state: Any = None
    slices: dict = field(default_factory=dict)
    opened: dict = field(default_factory=dict)
    last_at: str | None = None


class Rows:
    """The projection rows a stream of events makes, table by table: rows
    closed as events go (`take_closed`, to write in batches) and, at the end,
    the rows still open, the users, the originators and the position (`finish`)."""

    def __init__(self, zone: tzinfo, review_years: int) -> None:
        self.projector = Projector(zone, review_years)
        self.tracks: dict[Any, Track] = {}
        self.users: dict[str, tuple[Any, ...]] = {}
        self.subscriptions: dict[str, tuple[Any, ...]] = {}
        self.originators: list[tuple[str, str, str]] = []
        self.firsts: dict[str, str] = {}  # sha256 -> media type, in the order the log first names them
        self.closed: Table = {}
        self.last = 0

    def add(self, position: int, event: Any) -> None:
        if isinstance(event, Standard.FileAttached):
            self.firsts.setdefault(event.sha256, event.media_type)
        t = self.tracks.setdefault(event.originator_id, Track())
        state, after, at, change = self.projector.step(t.state, t.slices, t.last_at, event)
        for key in change.close:
            since = t.opened.pop(key)
            if since != at:  # a row that held for no time is dropped, as the writer does
                self.closed.setdefault(key[0], []).append(
                    (*key[1], since, at, *map(to_column, t.slices[key])))
        for table, identity, _ in change.open:
            t.opened[(table, identity)] = at
        t.state, t.slices, t.last_at = state, after, at
        for row in change.users:
            self.users[row[0]] = row
        for row in change.subscriptions:
            self.subscriptions[row[0]] = row
        self.originators += change.originators
        self.last = position

    def take_closed(self) -> Table:
        closed, self.closed = self.closed, {}
        return closed

    def finish(self) -> Table:
        """The rows not yet taken: closed, still open, users, originators, position."""
        out = self.take_closed()
        for t in self.tracks.values():
            for key, payload in t.slices.items():
                out.setdefault(key[0], []).append((*key[1], t.opened[key], OPEN, *map(to_column, payload)))
        out["users"] = list(self.users.values())
        out["subscriptions"] = list(self.subscriptions.values())
        out["originators"] = list(self.originators)
        out["projection_position"] = [(POSITION_NAME, self.last)] if self.last else []
        out["projection_meta"] = [("version", str(PROJECTION_VERSION))]
        return out


def rebuild(app: Any, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild all projections; returns the log position they now cover."""
    rows = Rows(app.settings.zone, app.settings.review_years)
    writer = app.recorder.writer
    with app.recorder.datastore.transaction(commit=True) as c:
        writer.clear(c)
        for batch in notifications(app):
            for n in batch:
                rows.add(n.id, app.mapper.to_domain_event(n))
            writer.write(c, rows.take_closed())
            if progress is not None:
                progress(len(batch))
        writer.write(c, rows.finish())
        index_texts(c, writer, rows)
    return rows.last


def index_texts(c: Any, writer: Any, rows: Rows) -> None:
    """The text of every stored file, extracted again, and its search index."""
    search.rebuild(c, writer, rows.firsts.items(), lambda sha256: contents.copy_to_file(c, writer, sha256),
                   text.extract)


def expected_rows(app: Any, progress: Callable[[int], None] | None = None,
                  states: dict[Any, Any] | None = None) -> Table:
    """Every row the projections should hold, from a replay of the whole log;
    `states`, if given, gets every aggregate as the replay left it."""
    rows = Rows(app.settings.zone, app.settings.review_years)
    out: Table = {}
    for batch in notifications(app):
        for n in batch:
            rows.add(n.id, app.mapper.to_domain_event(n))
        for table, values in rows.take_closed().items():
            out.setdefault(table, []).extend(values)
        if progress is not None:
            progress(len(batch))
    for table, values in rows.finish().items():
        out.setdefault(table, []).extend(values)
    if states is not None:
        states.update((key, track.state) for key, track in rows.tracks.items())
    return out
