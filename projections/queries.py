"""Answers reads from the projection tables, on both clocks: `day` picks the
valid-time interval (what was so in the world), `known_at` the record-time
one (what the register said then; None: now). No replay per request."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, cast

import orjson

from lifecycle.ports import StoredAnswer, UserRow
from projections import search
from projections.chain import GENESIS
from projections.documents import StandardRows
from projections.schema import OPEN, POSITION_NAME, TABLES, TEXT_TABLES
from projections.writer import Writer, values

T = TypeVar("T")


@dataclass(frozen=True)
class CatalogueFilter:
    category: str | None = None
    status: str | None = None
    level: str | None = None
    q: str | None = None
    after: str | None = None  # keyset cursor: the last code of the previous page
    limit: int = 50


def recorded(alias: str, known_at: str | None) -> tuple[str, list[str]]:
    """SQL and parameters selecting rows the register held at `known_at`."""
    if known_at is None:
        return f"{alias}.recorded_to = ?", [OPEN]
    return f"{alias}.recorded_from <= ? AND ? < {alias}.recorded_to", [known_at, known_at]


def on_day(rows: StandardRows, state: tuple[Any, ...] | None,
           found: dict[str, Any] | None = None) -> StandardRows:
    """`rows` with its state on a day (dataclasses.replace, without its cost on 6,000 rows)."""
    return StandardRows(rows.code, rows.version, rows.stage, rows.doc, rows.editions, state, found)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# SQLite chooses an index before it sees a query's parameters, and with
# catalogue_states' indexes by day it may choose one that reads every row.
# Its reads name the index (on SQLite only: `Writer.indexed_by`).
BY_CODE = "sqlite_autoindex_catalogue_states_1"  # the primary key: code, valid_from, recorded_from
OPEN_IN_CODE_ORDER = "catalogue_states_open_in_code_order"  # recorded_to, code, valid_from, valid_to
OPEN_BY_STATUS = "catalogue_states_open_by_status"  # recorded_to, status, code, valid_from, valid_to


@dataclass(frozen=True)
class Sparse:
    """An index of catalogue_states by day or by moment (`column` first),
    over the rows `where` selects: the way to the rows of a day or moment
    when few existed (Reads._plan)."""
    index: str
    column: str
    where: str = ""
    params: tuple[str, ...] = ()


class Reads:
    def __init__(self, datastore: Any, writer: Writer) -> None:
        self.datastore = datastore
        self.writer = writer
        self.sql = writer.sql
        self._local = threading.local()  # per thread: a `consistent` block, its transaction, kept answers
        # (index, SPARSE) -> (log position, the SPARSE-th smallest value of its column)
        self._sparse_from: dict[tuple[str, int], tuple[int, str | None]] = {}

    @property
    def _pinned(self) -> Any:
        """The transaction of this thread's `consistent` block, opened by the
        block's first read of the store; None outside a block."""
        local = self._local
        pinned = getattr(local, "pinned", None)
        block = getattr(local, "block", None)
        if pinned is None and block is not None:
            local.pinned_at = self.datastore.change_counter()  # before the transaction: see _kept
            pinned = local.pinned = self._begin(block)
        return pinned

    def _begin(self, stack: ExitStack) -> Any:
        """A read transaction entered on `stack`. Its BEGIN goes to the server
        as it opens: if the session had ended, it is opened again on another
        connection (see READ_ATTEMPTS); a failed try leaves `stack` as it was."""
        begun, snapshot = self.datastore.transaction, self.writer.snapshot

        def begin() -> Any:
            with ExitStack() as attempt:
                c = attempt.enter_context(begun(commit=False))
                if snapshot is not None:
                    c.execute(snapshot)  # before its first query: one committed state throughout
                stack.enter_context(attempt.pop_all())
                return c

        return self._again_if_session_ended(begin)

    @contextmanager
    def _pinned_or(self, opened: Callable[[], AbstractContextManager[Any]]) -> Iterator[Any]:
        """The transaction of this thread's `consistent` block, else what `opened()` gives."""
        pinned = self._pinned
        if pinned is not None:
            yield pinned
            return
        with opened() as c:
            yield c

    def cursor(self) -> AbstractContextManager[Any]:
        """One read transaction: a consistent view across several queries."""
        return self._pinned_or(self._transaction)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A read transaction of its own; an error inside the block is the block's."""
        with ExitStack() as stack:
            yield self._begin(stack)

    @contextmanager
    def consistent(self) -> Iterator[Reads]:
        """Every read of this thread inside the block sees the same committed
        state (one transaction, begun by the block's first read: a block
        answered from kept answers reads nothing); inside another such block,
        that one's."""
        local = self._local
        if getattr(local, "block", None) is not None:
            yield self
            return
        local.block = ExitStack()
        try:
            with local.block:
                yield self
        finally:
            local.block = local.pinned = local.block_counter = None

    # Answers kept while the store has not changed (SQLite's data_version:
    # Datastore.change_counter), per thread since the counter is a
    # connection's: the user of a token and the log position, read on every
    # request, are read again only after a commit.
    KEPT = 1024

    def _kept(self, key: tuple[Any, ...], read: Callable[[], T]) -> T:
        """`read()`, or its answer kept from an earlier call if nothing was
        committed since. Inside a `consistent` block whose transaction has
        begun, the transaction's answer (kept only if nothing was committed
        since just before the transaction began)."""
        local = self._local
        counter = self._counter(local)
        if counter is None:
            return read()
        kept: dict[tuple[Any, ...], Any] | None = getattr(local, "kept", None)
        if kept is None or local.kept_at != counter:
            # The counter is read before the store: a commit in between clears it next time.
            kept = local.kept = {}
            local.kept_at = counter
        begun = getattr(local, "pinned", None) is not None
        if not begun and key in kept:
            return cast(T, kept[key])
        value = read()
        if (not begun or local.pinned_at == counter) and len(kept) < self.KEPT:
            kept[key] = value
        return value

    def change_counter(self) -> Any:
        """A value that changes whenever anything is committed to the store
        (SQLite's data_version), so an answer made of reads made after it was
        read holds while it is the same; None: the store cannot say (keep nothing)."""
        return self.datastore.change_counter()

    def _counter(self, local: threading.local) -> Any:
        """The store's change counter; inside a `consistent` block, the one
        its first kept read saw: the block's answers kept then all hold for
        that one committed state, and the counter is asked once per request."""
        if getattr(local, "block", None) is None:
            return self.change_counter()
        counter = getattr(local, "block_counter", None)
        if counter is None:
            counter = local.block_counter = self.change_counter()
        return counter

    def _by(self, index: str) -> str:
        return self.writer.indexed_by(index)

    def _rows(self, c: Any, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
        c.execute(self.sql(statement), tuple(params))
        return [values(r) for r in c.fetchall()]

    # A session the server ended (a restart, pg_terminate_backend) may be
    # found only by the statement sent on it: the pool's check cannot see an
    # end still on its way. A read has no effect, so it is sent again on
    # another connection, as the library does for its own reads; more tries
    # than the pool holds connections reach one opened after the end.
    READ_ATTEMPTS = 5

    def _again_if_session_ended(self, read: Callable[[], T]) -> T:
        """`read()`, tried again while it fails because its session had ended;
        the last try's error is the answer."""
        for _ in range(self.READ_ATTEMPTS - 1):
            try:
                return read()
            except Exception as e:
                if not self.writer.session_ended(e):
                    raise
        return read()

    def _all(self, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
        def read() -> list[tuple[Any, ...]]:
            with self._statement() as c:
                return self._rows(c, statement, params)

        if self._pinned is not None:
            return read()  # inside a pinned transaction: it cannot move to another connection
        return self._again_if_session_ended(read)

    def _statement(self) -> AbstractContextManager[Any]:
        """A cursor for one statement (Writer.statement), or the transaction `consistent` pinned."""
        return self._pinned_or(lambda: self.writer.statement(self.datastore))

    # ---------------------------------------------------------------- catalogue
    def catalogue(self, f: CatalogueFilter, day: date,
                  known_at: str | None = None) -> tuple[list[StandardRows], bool]:
        """One page of standards that existed on `day`, in code order, and
        whether more follow. `q` finds titles, and the text of the files of
        the edition each row speaks of (the one in force)."""
        when, params = recorded("s", known_at)
        where = [when, "s.valid_from <= ?", "? < s.valid_to"]
        params += [day.isoformat(), day.isoformat()]
        for column, value in (("s.status", f.status), ("s.level", f.level)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if f.category is not None:  # a range of codes: the index on code serves it
            where.append("s.code > ? AND s.code < ?")
            params += [f"JGSW{f.category}", f"JGSW{f.category}999z"]
        with self.cursor() as c:
            if f.q:
                states, more = self._search_page(c, where, params, f, known_at)
            else:
                states = self._states(c, where, params, f.after, f.limit + 1,
                                      index=self._plan(c, day, known_at, f.status is not None))
                more = len(states) > f.limit
                states = [(*state, None) for state in states[: f.limit]]
            rows = self._gather(c, [s[0] for s in states], known_at)
        return [on_day(rows[s[0]], tuple(s[1:5]), s[5]) for s in states], more

    # A page is read in code order, which finds 50 standards quickly while
    # most exist. On a day (or at a moment) when few existed, a scan in code
    # order reads every row to find them; an index by day (or by record time)
    # then reaches them directly. Counting at most SPARSE rows of that index
    # says which case this is, whatever the size of the register; the
    # SPARSE-th smallest day (or moment) of the index, read once per log
    # position, spares the count on the days when many existed.
    SPARSE = 4000

    def _plan(self, c: Any, day: date, known_at: str | None, by_status: bool) -> str | None:
        """The index a page on `day` at `known_at` is read through fastest
        (None on PostgreSQL: its planner sees the parameters)."""
        if not self.writer.hints:
            return None
        in_code_order = (BY_CODE if known_at is not None
                         else OPEN_BY_STATUS if by_status else OPEN_IN_CODE_ORDER)
        if known_at is None:
            candidates = [(Sparse("catalogue_states_open_by_day", "valid_from", "recorded_to = ?", (OPEN,)),
                           day.isoformat())]
        else:
            candidates = [(Sparse("catalogue_states_by_day", "valid_from"), day.isoformat()),
                          (Sparse("catalogue_states_by_moment", "recorded_from"), known_at)]
        best: tuple[int, str] = (self.SPARSE, in_code_order)
        position = self.position()  # kept while nothing is committed
        for sparse, bound in candidates:
            if not self._fewer_than_sparse(c, sparse, bound, position):
                continue  # most days: known without counting
            where = " AND ".join([*filter(None, [sparse.where]), f"{sparse.column} <= ?"])
            (count,), = self._rows(c, f"SELECT COUNT(*) FROM (SELECT 1 FROM catalogue_states"
                                      f"{self._by(sparse.index)} WHERE {where} LIMIT ?) x",
                                   [*sparse.params, bound, self.SPARSE])
            best = min(best, (count, sparse.index), key=lambda b: b[0])
        return best[1]

    def _fewer_than_sparse(self, c: Any, sparse: Sparse, bound: str, position: int) -> bool:
        """Do fewer than SPARSE rows of `sparse.index` have `sparse.column` <=
        `bound`? The SPARSE-th smallest value (None: there are fewer rows)
        answers for any bound; it is kept per index until the log moves from
        `position`. (A position read outside `c`'s transaction only chooses
        a plan: any plan gives the same rows.)"""
        key = (sparse.index, self.SPARSE)
        kept = self._sparse_from.get(key)
        if kept is None or kept[0] != position:
            where = f"WHERE {sparse.where} " if sparse.where else ""
            found = self._rows(c, f"SELECT {sparse.column} FROM catalogue_states{self._by(sparse.index)} "
                                  f"{where}ORDER BY {sparse.column} LIMIT 1 OFFSET ?",
                               [*sparse.params, max(self.SPARSE - 1, 0)])
            kept = self._sparse_from[key] = (position, found[0][0] if found else None)
        return kept[1] is None or bound < kept[1]

    def _states(self, c: Any, where: list[str], params: list[Any], after: str | None, limit: int,
                title_like: str | None = None, codes: list[str] | None = None,
                index: str | None = None) -> list[tuple[Any, ...]]:
        """Catalogue rows in code order after `after`: code, status,
        edition_year, level, title. With `title_like`, only rows whose title
        is LIKE it or whose code is one of `codes`, and whether the title is.
        `index`: the one to read them through (see _plan)."""
        where, params, flag, flag_params = list(where), list(params), "", []
        if after is not None:
            where.append("s.code > ?")
            params.append(after)
        if title_like is not None:
            like = "s.title LIKE ? ESCAPE '\\'"
            flag, flag_params = f", {like}", [title_like]
            where.append(f"({like} OR {self.writer.among('s.code', filter_only=True)})" if codes else like)
            params += [title_like, self.writer.members(codes)] if codes else [title_like]
        return self._rows(c, f"SELECT s.code, s.status, s.edition_year, s.level, s.title{flag} "
                          f"FROM catalogue_states s{self._by(index) if index else ''} "
                          f"WHERE {' AND '.join(where)} ORDER BY s.code LIMIT ?",
                          [*flag_params, *params, limit])

    def _search_page(self, c: Any, where: list[str], params: list[Any], f: CatalogueFilter,
                     known_at: str | None) -> tuple[list[tuple[Any, ...]], bool]:
        """A page of rows whose title holds `q` or whose edition's files'
        text does. The candidates of the text index name editions; rows are
        read a page at a time in code order and only their texts are confirmed
        (and cut into snippets), so a common query reads a page's worth of
        text, never every text (projections/search.py)."""
        assert f.q is not None
        files = self._candidate_files(c, search.candidates(c, self.writer, f.q), known_at)
        codes = sorted({code for code, _ in files})
        out: list[tuple[Any, ...]] = []
        after = f.after
        while len(out) <= f.limit:
            batch = self._states(c, where, params, after, f.limit + 1, f"%{_escape_like(f.q)}%", codes)
            wanted = {doc for s in batch if not s[5] for _, doc in files.get((s[0], s[2]), [])}
            texts = search.snippets(c, self.writer, sorted(wanted), f.q)
            for s in batch:
                found = self._found(bool(s[5]), files.get((s[0], s[2]), []), texts)
                if found is not None:
                    out.append((*s[:5], found))
            if len(batch) <= f.limit:
                break
            after = batch[-1][0]
        return out[: f.limit], len(out) > f.limit

    @staticmethod
    def _found(by_title: bool, files: list[tuple[str, int]], texts: dict[int, str]) -> dict[str, Any] | None:
        """How a row was found: its title, else the first file of its edition
        (by name) whose text holds the query; None if neither (a candidate the
        text did not confirm)."""
        if by_title:
            return {"matched_in": "title"}
        for name, doc in files:
            if doc in texts:
                return {"matched_in": "text", "matched_file": name, "snippet": texts[doc]}
        return None

    def _candidate_files(self, c: Any, docs: Any, known_at: str | None) -> dict[tuple[str, int],
                                                                                 list[tuple[str, int]]]:
        """(code, edition year) -> [(file name, doc)] of the files whose text is a candidate."""
        out: dict[tuple[str, int], list[tuple[str, int]]] = {}
        if not docs:
            return out
        when, params = recorded("ef", known_at)
        for code, year, name, doc in self._rows(
                c, "SELECT ef.code, ef.year, ef.name, t.doc FROM edition_files ef JOIN content_text t "
                f"ON t.sha256 = ef.sha256 WHERE {self.writer.among('t.doc', filter_only=True)} AND {when} "
                "ORDER BY ef.code, ef.year, ef.name", [self.writer.members(docs), *params]):
            out.setdefault((code, year), []).append((name, doc))
        return out

    def _gather(self, c: Any, codes: list[str], known_at: str | None) -> dict[str, StandardRows]:
        out: dict[str, StandardRows] = {}
        if not codes:
            return out
        marks = ",".join("?" * len(codes))
        if known_at is None:
            logs = self._rows(c, f"SELECT l.code, l.version, l.stage, l.doc FROM standard_log l "
                                 f"WHERE l.code IN ({marks}) AND l.recorded_to = ?", [*codes, OPEN])
        else:
            # A standard has a row per event (a deep history, thousands): the
            # one held at known_at is found by one index search per code.
            logs = self._rows(
                c, f"SELECT l.code, l.version, l.stage, l.doc FROM {self.writer.each('c')} "
                "JOIN standard_log l ON (l.code, l.recorded_from) = (SELECT m.code, m.recorded_from "
                "FROM standard_log m WHERE m.code = c.value AND m.recorded_from <= ? "
                "ORDER BY m.recorded_from DESC LIMIT 1) WHERE ? < l.recorded_to",
                [self.writer.members(codes), known_at, known_at])
        for code, version, stage, doc in logs:
            out[code] = StandardRows(code, version, stage, orjson.loads(doc), {}, None)
        # A standard has few edition rows (an edition changes on its own
        # events, not on draft edits): the rows of the codes, filtered.
        when, params = recorded("e", known_at)
        for code, year, doc in self._rows(
                c, f"SELECT e.code, e.year, e.doc FROM edition_states e "
                f"WHERE e.code IN ({marks}) AND {when} ORDER BY e.code, e.year", [*codes, *params]):
            out[code].editions[year] = orjson.loads(doc)
        return out

    def standard(self, code: str, day: date, known_at: str | None = None) -> StandardRows | None:
        """One standard as the register said at `known_at`; None if it had no
        record then. `state` is None if it did not exist yet on `day`."""
        with self.cursor() as c:
            found = self._gather(c, [code], known_at)
            if code not in found:
                return None
            when, params = recorded("s", known_at)
            states = self._rows(
                c, "SELECT s.status, s.edition_year, s.level, s.title "
                f"FROM catalogue_states s{self._by(BY_CODE)} "
                f"WHERE s.code = ? AND {when} AND s.valid_from <= ? AND ? < s.valid_to",
                [code, *params, day.isoformat(), day.isoformat()])
        return on_day(found[code], tuple(states[0]) if states else None)

    def everything_on(self, day: date, each: Callable[[list[StandardRows]], None] | None = None,
                      ) -> tuple[int, str, list[StandardRows]]:
        """For a snapshot, in one read transaction: the log position the
        projections cover, the chain hash at that position, and every standard
        that exists on `day`, as the register says now, in code order.
        `each`, if given, gets the rows of each batch of standards as soon as
        they are read (in code order), so work on them can start meanwhile."""
        with self.cursor() as c:
            position = (self._rows(c, "SELECT position FROM projection_position WHERE name = ?",
                                   (POSITION_NAME,)) or [(0,)])[0][0]
            head = self._rows(c, "SELECT hash FROM event_chain WHERE position = ?", (position,))
            states = self._rows(
                c, "SELECT s.code, s.status, s.edition_year, s.level, s.title "
                f"FROM catalogue_states s{self._by(OPEN_IN_CODE_ORDER)} "
                "WHERE s.recorded_to = ? AND s.valid_from <= ? AND ? < s.valid_to ORDER BY s.code",
                (OPEN, day.isoformat(), day.isoformat()))
            rows: list[StandardRows] = []
            for i in range(0, len(states), 500):
                batch = states[i:i + 500]
                found = self._gather(c, [s[0] for s in batch], None)
                read = [on_day(found[s[0]], tuple(s[1:])) for s in batch]
                rows.extend(read)
                if each is not None:
                    each(read)
        return position, head[0][0] if head else GENESIS, rows

    def idempotency(self, key: str) -> StoredAnswer | None:
        rows = self._all("SELECT request_hash, code, version, status, etag, location, body "
                         "FROM idempotency WHERE key = ?", (key,))
        return StoredAnswer(*rows[0]) if rows else None

    def remember_answer(self, key: str, status: int, etag: str | None, location: str | None,
                        body: str) -> None:
        """Keep the first answer of an idempotent command for its retries."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.sql("UPDATE idempotency SET status = ?, etag = ?, location = ?, body = ? "
                               "WHERE key = ?"), (status, etag, location, body, key))

    def recorded_at_version(self, code: str, version: int) -> str | None:
        """When the register recorded this version of the standard."""
        rows = self._all("SELECT recorded_from FROM standard_log WHERE code = ? AND version = ?",
                         (code, version))
        return rows[0][0] if rows else None


    def edition_years(self, code: str) -> list[int] | None:
        rows = self._all("SELECT doc FROM standard_log WHERE code = ? AND recorded_to = ?", (code, OPEN))
        return list(json.loads(rows[0][0])["editions"]) if rows else None

    def exists(self, code: str) -> bool:
        return self.version(code) is not None

    def version(self, code: str) -> int | None:
        """The standard's version now (what its ETag says); None if there is no such standard."""
        rows = self._all("SELECT version FROM standard_log WHERE code = ? AND recorded_to = ?",
                         (code, OPEN))
        return rows[0][0] if rows else None

    def used_sub_items(self, category: str) -> list[str]:
        """Every sub-item ever drafted in the category, in order (numbers are never reused)."""
        prefix = f"JGSW{category}"
        rows = self._all("SELECT code FROM standard_log WHERE recorded_to = ? "
                         "AND code > ? AND code < ? ORDER BY code", (OPEN, prefix, prefix + "999z"))
        return [r[0][-3:] for r in rows]

    # ---------------------------------------------------------------- references
    def references_of(self, code: str, year: int, day: date,
                      known_at: str | None = None) -> list[tuple[Any, ...]]:
        """An edition's references on `day`: (reference, kind, dated, cited_code, cited_year)."""
        when, params = recorded("r", known_at)
        return self._all(
            "SELECT r.reference, r.kind, r.dated, r.cited_code, r.cited_year FROM edition_references r "
            f"WHERE r.code = ? AND r.year = ? AND {when} AND r.valid_from <= ? AND ? < r.valid_to "
            "ORDER BY r.seq", [code, year, *params, day.isoformat(), day.isoformat()])

    def in_force(self, codes: list[str], day: date,
                 known_at: str | None = None) -> dict[str, tuple[str, int | None]]:
        """code -> (status, edition year) on `day`, for those of `codes` that existed then."""
        if not codes:
            return {}
        marks = ",".join("?" * len(codes))
        when, params = recorded("s", known_at)
        rows = self._all("SELECT s.code, s.status, s.edition_year "
                         f"FROM catalogue_states s{self._by(BY_CODE)} WHERE s.code IN ({marks}) "
                         f"AND {when} AND s.valid_from <= ? AND ? < s.valid_to",
                         [*codes, *params, day.isoformat(), day.isoformat()])
        return {code: (status, year) for code, status, year in rows}

    def editions_of(self, codes: list[str],
                    known_at: str | None = None) -> dict[tuple[str, int], dict[str, Any]]:
        """(code, year) -> the edition's document, for every edition of `codes`."""
        if not codes:
            return {}
        marks = ",".join("?" * len(codes))
        when, params = recorded("e", known_at)
        rows = self._all(f"SELECT e.code, e.year, e.doc FROM edition_states e WHERE e.code IN ({marks}) "
                         f"AND {when}", [*codes, *params])
        return {(code, year): json.loads(doc) for code, year, doc in rows}

    def referenced_by(self, code: str, day: date, known_at: str | None = None) -> list[tuple[Any, ...]]:
        """The editions in force on `day` that cite `code`: (citing code, year, reference, dated)."""
        r_when, r_params = recorded("r", known_at)
        s_when, s_params = recorded("s", known_at)
        d = day.isoformat()
        return self._all(
            "SELECT r.code, r.year, r.reference, r.dated FROM edition_references r "
            f"JOIN catalogue_states s{self._by(BY_CODE)} ON s.code = r.code AND s.edition_year = r.year "
            f"WHERE r.cited_code = ? AND {r_when} AND r.valid_from <= ? AND ? < r.valid_to "
            f"AND {s_when} AND s.valid_from <= ? AND ? < s.valid_to AND s.status IN ('trial', 'current') "
            "ORDER BY r.code", [code, *r_params, d, d, *s_params, d, d])

    # ---------------------------------------------------------------- periodic review
    def review_clocks(self, day: date, until: date, known_at: str | None = None) -> list[tuple[Any, ...]]:
        """(code, edition year, due_on) of every edition in force on `day` due by `until`."""
        when, params = recorded("c", known_at)
        return self._all(
            "SELECT c.code, c.edition_year, c.due_on FROM review_clock c "
            f"WHERE {when} AND c.valid_from <= ? AND ? < c.valid_to AND c.due_on <= ?",
            [*params, day.isoformat(), day.isoformat(), until.isoformat()])

    def paperwork(self, day: date, until: date, known_at: str | None = None) -> list[tuple[Any, ...]]:
        """(code, year, due_on): emergency approvals whose paperwork is owed on `day`, due by `until`."""
        when, params = recorded("p", known_at)
        return self._all(
            "SELECT p.code, p.year, p.due_on FROM paperwork_due p "
            f"WHERE {when} AND p.valid_from <= ? AND ? < p.valid_to AND p.due_on <= ?",
            [*params, day.isoformat(), day.isoformat(), until.isoformat()])

    def reference_changes(self, day: date, until: date,
                          known_at: str | None = None) -> list[tuple[Any, ...]]:
        """(citing code, year, effective_on, cited code, change day, kind): every
        change by `until` of a standard cited by an edition in force on `day`,
        after that edition took effect."""
        r_when, r_params = recorded("r", known_at)
        s_when, s_params = recorded("s", known_at)
        c_when, c_params = recorded("ch", known_at)
        d = day.isoformat()
        return self._all(
            "SELECT r.code, r.year, r.effective_on, r.cited_code, ch.day, ch.kind FROM edition_references r "
            f"JOIN catalogue_states s{self._by(BY_CODE)} ON s.code = r.code AND s.edition_year = r.year "
            "JOIN standard_changes ch ON ch.code = r.cited_code "
            f"WHERE {r_when} AND r.cited_code IS NOT NULL AND r.valid_from <= ? AND ? < r.valid_to "
            f"AND {s_when} AND s.valid_from <= ? AND ? < s.valid_to AND s.status IN ('trial', 'current') "
            f"AND {c_when} AND ch.day > r.effective_on AND ch.day <= ?",
            [*r_params, d, d, *s_params, d, d, *c_params, until.isoformat()])

    def reviews_of(self, codes: list[str], known_at: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """code -> its recorded reviews (reviewed_on, outcome, by, reason)."""
        if not codes:
            return {}
        marks = ",".join("?" * len(codes))
        when, params = recorded("l", known_at)
        rows = self._all(f"SELECT l.code, l.doc FROM standard_log l WHERE l.code IN ({marks}) AND {when}",
                         [*codes, *params])
        return {code: json.loads(doc)["reviews"] for code, doc in rows}

    def category_counts(self, day: date, known_at: str | None = None) -> dict[str, dict[str, int]]:
        """category -> {"standards": n, status: n, ...} on `day`."""
        when, params = recorded("s", known_at)
        rows = self._all(
            f"SELECT s.category, s.status, COUNT(*) FROM catalogue_states s{self._by(OPEN_IN_CODE_ORDER)} "
            f"WHERE {when} AND s.valid_from <= ? AND ? < s.valid_to GROUP BY s.category, s.status",
            [*params, day.isoformat(), day.isoformat()])
        counts: dict[str, dict[str, int]] = {}
        for category, status, n in rows:
            entry = counts.setdefault(category, {"standards": 0})
            entry[status] = n
            entry["standards"] += n
        return counts

    # ---------------------------------------------------------------- users
    def user_by_token_hash(self, token_hash: str) -> UserRow | None:
        """The caller compares the stored hash again in constant time."""
        rows = self._kept(("user", token_hash), lambda: self._all(
            "SELECT name, roles, token_hash, version FROM users WHERE token_hash = ?", (token_hash,)))
        if not rows:
            return None
        name, roles, stored, version = rows[0]
        return UserRow(name, tuple(roles.split(",")), stored, version)

    def user_by_name(self, name: str) -> tuple[list[str], str | None] | None:
        """(roles, token hash or None when revoked) of a user, None if no such user."""
        rows = self._all("SELECT roles, token_hash FROM users WHERE name = ?", (name,))
        return (rows[0][0].split(","), rows[0][1]) if rows else None

    # ---------------------------------------------------------------- keys
    def service_key(self, name: str, candidate: str) -> str:
        """The key stored as `name`. When none is stored yet, `candidate`
        becomes it; hosts starting at once all read the one that won."""
        statement = "SELECT value FROM service_keys WHERE name = ?"
        found = self._all(statement, (name,))
        if found:
            return str(found[0][0])
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.sql("INSERT INTO service_keys (name, value) VALUES (?, ?) "
                               "ON CONFLICT (name) DO NOTHING"), (name, candidate))
            return str(self._rows(c, statement, (name,))[0][0])

    # ---------------------------------------------------------------- log
    def projection_version(self) -> int | None:
        rows = self._all("SELECT value FROM projection_meta WHERE name = 'version'")
        return int(rows[0][0]) if rows else None

    def position(self) -> int:
        rows = self._kept(("position",), lambda: self._all(
            "SELECT position FROM projection_position WHERE name = ?", (POSITION_NAME,)))
        return rows[0][0] if rows else 0

    def _lookup(self, table: str, key: str, value: str, keys: list[Any]) -> dict[Any, Any]:
        """{key: value} of the rows of `table` whose `key` is one of `keys`."""
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        return dict(self._all(f"SELECT {key}, {value} FROM {table} WHERE {key} IN ({marks})", keys))

    def originator_names(self, ids: list[str]) -> dict[str, str]:
        return self._lookup("originators", "originator_id", "name", ids)

    def chain_hashes(self, positions: list[int]) -> dict[int, str]:
        return self._lookup("event_chain", "position", "hash", positions)

    def chain_from(self, after: int = 0, batch: int = 5000) -> Iterator[tuple[int, str]]:
        """The recorded chain in position order (for verification)."""
        while True:
            rows = self._all("SELECT position, hash FROM event_chain WHERE position > ? "
                             "ORDER BY position LIMIT ?", (after, batch))
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every projection row in a stable order: what a rebuild must reproduce."""
        out = {}
        for table in TABLES:
            out[table] = self._all(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
        for table in TEXT_TABLES:
            out[table] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                          for row in self._all(f"SELECT * FROM {table} ORDER BY 1")]
        out["projection_position"] = self._all("SELECT * FROM projection_position ORDER BY name")
        return out

    # ---------------------------------------------------------------- files
    def texts(self, sha256s: list[str]) -> dict[str, tuple[str, str | None, int]]:
        """sha256 -> (status, detail, characters) of each content's text."""
        if not sha256s:
            return {}
        rows = self._all(f"SELECT sha256, status, detail, LENGTH(text) FROM content_text "
                         f"WHERE {self.writer.among('sha256')}", (self.writer.members(sha256s),))
        return {sha: (status, detail, n) for sha, status, detail, n in rows}

    def text_of(self, sha256: str) -> str | None:
        rows = self._all("SELECT text FROM content_text WHERE sha256 = ?", (sha256,))
        return rows[0][0] if rows else None
