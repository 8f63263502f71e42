"""Recreate every projection from the event log: replay it in recorded order
through the same Projector the commands use, and write all rows and the
position in one transaction (readers see the old rows until it commits).
The text of files is extracted again from the stored contents, in the order
the log first names them (projections/search.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lifecycle.domain import Standard
from projections import contents, search, text
from projections.documents import to_column
from projections.projector import Projector
from projections.schema import OPEN

BATCH = 5000


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
    """One aggregate during a rebuild: its state, open slices and when each opened."""

    state: Any = None
    slices: dict = field(default_factory=dict)
    opened: dict = field(default_factory=dict)
    last_at: str | None = None


def rebuild(app: Any, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild all projections; returns the log position they now cover."""
    projector = Projector(app.settings.zone)
    writer = app.recorder.writer
    tracks: dict[Any, Track] = {}
    users: dict[str, tuple[Any, ...]] = {}
    originators: list[tuple[str, str, str]] = []
    firsts: dict[str, str] = {}  # sha256 -> media type, in the order the log first names them
    last = 0
    with app.recorder.datastore.transaction(commit=True) as c:
        writer.clear(c)
        for batch in notifications(app):
            closed: dict[str, list[tuple[Any, ...]]] = {}
            for n in batch:
                event = app.mapper.to_domain_event(n)
                if isinstance(event, Standard.FileAttached):
                    firsts.setdefault(event.sha256, event.media_type)
                t = tracks.setdefault(event.originator_id, Track())
                state, after, at, change = projector.step(t.state, t.slices, t.last_at, event)
                for key in change.close:
                    since = t.opened.pop(key)
                    if since != at:  # a row that held for no time is dropped, as the writer does
                        closed.setdefault(key[0], []).append(
                            (*key[1], since, at, *map(to_column, t.slices[key])))
                for table, identity, _ in change.open:
                    t.opened[(table, identity)] = at
                t.state, t.slices, t.last_at = state, after, at
                for row in change.users:
                    users[row[0]] = row
                originators += change.originators
            for table, rows in closed.items():
                writer.insert(c, table, rows)
            last = batch[-1].id
            if progress is not None:
                progress(len(batch))
        still_open: dict[str, list[tuple[Any, ...]]] = {}
        for t in tracks.values():
            for key, payload in t.slices.items():
                still_open.setdefault(key[0], []).append(
                    (*key[1], t.opened[key], OPEN, *map(to_column, payload)))
        for table, rows in still_open.items():
            writer.insert(c, table, rows)
        writer.insert(c, "users", list(users.values()))
        writer.insert(c, "originators", originators)
        search.rebuild(c, writer, firsts.items(), lambda sha256: contents.copy_to_file(c, writer, sha256),
                       text.extract)
        if last:
            writer.advance(c, last)
    return last
