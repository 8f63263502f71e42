"""Recreate every projection from the event log: replay it in recorded order
through the same Projector the commands use. `Rows` turns a stream of events
into the rows each table should hold; `rebuild` writes them (and the
position) in one transaction, readers seeing the old rows until it commits;
`verify` compares them with the tables; `import` writes them with the events.
The text of files is extracted again from the stored contents, in the order
the log first names them (projections/search.py)."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.connection
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import partial
from typing import Any

from lifecycle.domain import Standard
from projections import contents, search, text
from projections.documents import to_column
from projections.projector import Projector
from projections.schema import OPEN, POSITION_NAME, PROJECTION_VERSION

BATCH = 5000
PARALLEL_FROM = 5000  # events: a shorter log is rebuilt in one process

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


@dataclass(slots=True)
class Track:
    """One aggregate during a replay: its state, open slices and when each opened."""

    state: Any = None
    slices: dict = field(default_factory=dict)
    opened: dict = field(default_factory=dict)
    last_at: str | None = None


class Rows:
    """The projection rows a stream of events makes, table by table: rows
    closed as events go (`take_closed`, to write in batches) and, at the end,
    the rows still open, the users, the originators and the position (`finish`).
    What is gathered across aggregates (users, subscriptions, originators,
    files in the order the log first names them) keeps the log position it
    came from, so the Rows of several shares of the log merge exactly (`absorb`)."""

    def __init__(self, zone: tzinfo, review_years: int) -> None:
        self.projector = Projector(zone, review_years)
        self.tracks: dict[Any, Track] = {}
        self.users: dict[str, tuple[int, tuple[Any, ...]]] = {}  # name -> (position, row), the latest
        self.subscriptions: dict[str, tuple[int, tuple[Any, ...]]] = {}
        self.originators: list[tuple[int, tuple[str, str, str]]] = []
        self.firsts: dict[str, tuple[int, str]] = {}  # sha256 -> (position first named, media type)
        self.closed: Table = {}
        self.last = 0

    def add(self, position: int, event: Any) -> None:
        if isinstance(event, Standard.FileAttached) and event.sha256 not in self.firsts:
            self.firsts[event.sha256] = (position, event.media_type)
        t = self.tracks.get(event.originator_id)
        if t is None:
            t = self.tracks[event.originator_id] = Track()
        state, after, at, change = self.projector.step(t.state, t.slices, t.last_at, event)
        if change.close:
            closed, opened, slices = self.closed, t.opened, t.slices
            for key in change.close:
                since = opened.pop(key)
                if since != at:  # a row that held for no time is dropped, as the writer does
                    held = closed.get(key[0])
                    if held is None:
                        held = closed[key[0]] = []
                    held.append((*key[1], since, at, *map(to_column, slices[key])))
        opened = t.opened
        for table, identity, _ in change.open:
            opened[(table, identity)] = at
        t.state, t.slices, t.last_at = state, after, at
        if change.users:
            for row in change.users:
                self.users[row[0]] = (position, row)
        if change.subscriptions:
            for row in change.subscriptions:
                self.subscriptions[row[0]] = (position, row)
        if change.originators:
            self.originators += [(position, row) for row in change.originators]
        self.last = position

    def take_closed(self) -> Table:
        closed, self.closed = self.closed, {}
        return closed

    def take_open(self) -> Table:
        """The rows still open (and any closed not yet taken)."""
        out = self.take_closed()
        for t in self.tracks.values():
            for key, payload in t.slices.items():
                out.setdefault(key[0], []).append((*key[1], t.opened[key], OPEN, *map(to_column, payload)))
        return out

    def gathered(self) -> tuple[Any, ...]:
        """What `absorb` takes from another Rows (a share of the log, in another process)."""
        return self.users, self.subscriptions, self.originators, self.firsts, self.last

    def absorb(self, gathered: tuple[Any, ...]) -> None:
        """Merge what another share of the log gathered: the latest row of each
        user and subscription, originators and files by log position."""
        users, subscriptions, originators, firsts, last = gathered
        for mine, theirs in ((self.users, users), (self.subscriptions, subscriptions)):
            for key, (position, row) in theirs.items():
                if key not in mine or mine[key][0] < position:
                    mine[key] = (position, row)
        self.originators = sorted([*self.originators, *originators], key=lambda o: o[0])
        for sha256, (position, media_type) in firsts.items():
            if sha256 not in self.firsts or self.firsts[sha256][0] > position:
                self.firsts[sha256] = (position, media_type)
        self.last = max(self.last, last)

    def first_named(self) -> list[tuple[str, str]]:
        """(sha256, media type) of every file, in the order the log first names them."""
        return [(sha256, media_type) for sha256, (_, media_type)
                in sorted(self.firsts.items(), key=lambda f: f[1][0])]

    def finish(self) -> Table:
        """The rows not yet taken: closed, still open, users, originators, position."""
        out = self.take_open()
        out["users"] = [row for _, row in self.users.values()]
        out["subscriptions"] = [row for _, row in self.subscriptions.values()]
        out["originators"] = [row for _, row in self.originators]
        out["projection_position"] = [(POSITION_NAME, self.last)] if self.last else []
        out["projection_meta"] = [("version", str(PROJECTION_VERSION))]
        return out


def rebuild(app: Any, progress: Callable[[int], None] | None = None, workers: int | None = None) -> int:
    """Rebuild all projections; returns the log position they now cover.
    `workers`: how many processes replay the log (default: one per core for
    a log of PARALLEL_FROM events or more on a store other processes can read)."""
    writer = app.recorder.writer
    with app.recorder.datastore.transaction(commit=True) as c:
        writer.clear(c)  # on SQLite, from here on this transaction holds the write lock
        upto = app.recorder.last_position(c)
        shares = workers if workers is not None else worker_count(app, upto)
        with writer.bulk(c):
            if shares > 1:
                rows, _ = _rows_in_processes(app, upto, shares, partial(writer.write, c), progress)
            else:
                rows = Rows(app.settings.zone, app.settings.review_years)
                decode = app.mapper.to_domain_event
                for batch in notifications(app, upto):
                    for n in batch:
                        rows.add(n.id, decode(n))
                    writer.write(c, rows.take_closed())
                    if progress is not None:
                        progress(len(batch))
                writer.write(c, rows.finish())
        index_texts(c, writer, rows)
    return rows.last


def worker_count(app: Any, events: int) -> int:
    """Processes for a rebuild of `events` events: one per core, but one for a
    short log, a store only this process can read (SQLite in memory), or
    where processes cannot be forked."""
    if events < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if not app.recorder.parallel_reads():
        return 1
    return max(1, os.cpu_count() or 1)


def _rows_in_processes(app: Any, upto: int, shares: int, sink: Callable[[Table], None],
                       progress: Callable[[int], None] | None,
                       with_states: bool = False) -> tuple[Rows, dict[Any, Any]]:
    """The log up to `upto` replayed in `shares` forked processes, each the
    aggregates of one share (every row depends on its own aggregate's events
    only); this process passes their rows to `sink` as they come (the last
    of them the merged users, originators and position) and merges what they
    gathered across aggregates. Returns the merged Rows and, `with_states`,
    every aggregate as the replay left it. The processes are ended
    (terminated if need be) before this returns or raises.

    Forked, they inherit this process's pool but never touch it (SQLite
    forbids using a connection across fork): each reads on a connection of
    its own, up to the position the caller read (a rebuild holds SQLite's
    write lock meanwhile: the log cannot move under them)."""
    context = multiprocessing.get_context("fork")
    pipes: list[Any] = []
    processes: list[Any] = []
    gc.freeze()  # the collector leaves what this process holds alone meanwhile (here and in the forks)
    try:
        for share in range(shares):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_share_rows,
                                      args=(app, share, shares, upto, send, with_states, [*pipes, receive]),
                                      name=f"rebuild-{share}", daemon=True)
            pipes.append(receive)
            processes.append(process)
            process.start()
            send.close()
        rows = Rows(app.settings.zone, app.settings.review_years)
        states: dict[Any, Any] = {}
        waiting = list(pipes)
        while waiting:
            ready: list[Any] = multiprocessing.connection.wait(waiting)
            for pipe in ready:
                try:
                    kind, count, table, gathered, their_states = pipe.recv()
                except EOFError:
                    raise RuntimeError("a rebuild process ended before it sent its rows") from None
                if kind == "error":
                    raise RuntimeError(f"a rebuild process failed: {table}")
                sink(table)
                if gathered is not None:
                    rows.absorb(gathered)
                    states.update(their_states or {})
                    waiting.remove(pipe)
                if progress is not None and count:
                    progress(count)
        sink(rows.finish())
        for process in processes:
            process.join()
        return rows, states
    except BaseException:  # an error, Ctrl-C: no process is left behind
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            if process.pid is not None:
                process.join()
        raise
    finally:
        gc.unfreeze()
        for pipe in pipes:
            pipe.close()


def _share_rows(app: Any, share: int, shares: int, upto: int, out: Any, with_states: bool,
                inherited: list[Any]) -> None:
    """In a forked process: the rows of one share of the aggregates, sent as
    they close, then the open rows, what was gathered across aggregates and
    (`with_states`) the aggregates. Reads on a connection of its own, never
    the parent's pool. The pipes' reading ends it inherited are closed, so
    that if the parent dies its next send fails and it ends."""
    for pipe in inherited:
        pipe.close()
    gc.freeze()  # what the parent held (frozen there too): never walked here, so never copied
    # A replay makes no reference cycles: reference counts free what it drops
    # (the deep log's peak RSS is the same without the collector), and the
    # process ends when its share is sent. Collecting cost it 5-8 % of its CPU.
    gc.disable()
    try:
        rows = Rows(app.settings.zone, app.settings.review_years)
        decode = app.mapper.to_domain_event
        for batch in app.recorder.read_share(share, shares, upto, BATCH):
            for n in batch:
                rows.add(n.id, decode(n))
            out.send(("rows", len(batch), rows.take_closed(), None, None))
        states = {key: track.state for key, track in rows.tracks.items()} if with_states else None
        out.send(("done", 0, rows.take_open(), rows.gathered(), states))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent says so
        pass
    except BaseException as e:
        with contextlib.suppress(OSError):
            out.send(("error", 0, f"{type(e).__name__}: {e}", None, None))
    finally:
        out.close()


def index_texts(c: Any, writer: Any, rows: Rows) -> None:
    """The text of every stored file, extracted again, and its search index."""
    search.rebuild(c, writer, rows.first_named(), lambda sha256: contents.copy_to_file(c, writer, sha256),
                   text.extract)


def expected_rows(app: Any, progress: Callable[[int], None] | None = None,
                  states: dict[Any, Any] | None = None, workers: int | None = None) -> Table:
    """Every row the projections should hold, from a replay of the whole log
    (in processes as `rebuild` does); `states`, if given, gets every
    aggregate as the replay left it."""
    out: Table = {}

    def sink(table: Table) -> None:
        for name, values in table.items():
            out.setdefault(name, []).extend(values)

    upto = app.recorder.max_notification_id() or 0
    shares = workers if workers is not None else worker_count(app, upto)
    if shares > 1:
        _, found = _rows_in_processes(app, upto, shares, sink, progress, with_states=states is not None)
        if states is not None:
            states.update(found)
        return out
    rows = Rows(app.settings.zone, app.settings.review_years)
    for batch in notifications(app, upto):
        for n in batch:
            rows.add(n.id, app.mapper.to_domain_event(n))
        for table, values in rows.take_closed().items():
            out.setdefault(table, []).extend(values)
        if progress is not None:
            progress(len(batch))
    sink(rows.finish())
    if states is not None:
        states.update((key, track.state) for key, track in rows.tracks.items())
    return out
