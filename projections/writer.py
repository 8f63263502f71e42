"""Writes projection changes through a cursor of the transaction that
records the events, so the read models and the log never disagree."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from projections.documents import to_column
from projections.projector import Change
from projections.schema import BITEMPORAL, OPEN, POSITION_NAME, TABLES, TEXT_TABLES


def values(row: Any) -> tuple[Any, ...]:
    """A row as a tuple, whether the driver gives sqlite3.Row or a dict (psycopg)."""
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _where(identity: tuple[str, ...]) -> str:
    return " AND ".join(f"{c} = ?" for c in identity)


class Writer:
    """SQL for one store's parameter style ('?' for SQLite, '%s' for psycopg)."""

    def __init__(self, placeholder: str = "?") -> None:
        self.ph = placeholder

    def sql(self, statement: str) -> str:
        return statement.replace("?", self.ph) if self.ph != "?" else statement

    # Where the two stores' SQL differs (SQLite here, PostgreSQL below).
    def position(self, text: str) -> str:
        """SQL: the character position of the parameter in `text` (0 if absent)."""
        return f"instr({text}, ?)"

    def among(self, column: str, filter_only: bool = False) -> str:
        """SQL: `column` is one of a list given as one parameter (`members`).
        `filter_only`: never let SQLite drive an index search from the list (a
        long list would be walked once per row of the outer table)."""
        return f"{'+' if filter_only else ''}{column} IN (SELECT value FROM json_each(?))"

    def members(self, values: Iterable[Any]) -> Any:
        return json.dumps(list(values))

    def each(self, alias: str) -> str:
        """SQL: a table `alias` of one column, `value`, from a list given as one parameter (`members`)."""
        return f"json_each(?) {alias}"

    def statement(self, datastore: Any) -> AbstractContextManager[Any]:
        """A cursor for one read statement, outside any transaction block: on
        both stores a statement is then a read transaction of its own
        (RecoveringSQLiteDatastore.cursor, the library's PostgresDatastore.cursor).
        A BEGIN … ROLLBACK around it would give the same view in more time: on
        PostgreSQL four round trips instead of one, after which psycopg also
        deallocates the connection's prepared statements."""
        return datastore.cursor()

    hints = True  # SQLite plans a query before it sees its parameters: the reads choose the index
    # What a read transaction runs first so that all its queries see one
    # committed state. SQLite's read transaction is one already (WAL: its
    # snapshot is taken at the first read and held to the end).
    snapshot: str | None = None

    def session_ended(self, error: BaseException) -> bool:
        """Did `error` end the connection's session (so a read may be sent on another)? SQLite has none."""
        return False

    def indexed_by(self, index: str | None) -> str:
        """SQL after a table's name: read it through `index` (None: the planner's choice)."""
        return f" INDEXED BY {index}" if index else ""

    def apply(self, cursor: Any, change: Change) -> None:
        for table, identity in change.close:
            self.close(cursor, table, identity, change.at)
        rows: dict[str, list[tuple[Any, ...]]] = {}
        for table, identity, payload in change.open:
            rows.setdefault(table, []).append((*identity, change.at, OPEN, *map(to_column, payload)))
        for table, values in rows.items():
            self.insert(cursor, table, values)
        self.insert(cursor, "originators", change.originators)
        for user in change.users:
            cursor.execute(self.sql("DELETE FROM users WHERE name = ?"), (user[0],))
            self.insert(cursor, "users", [user])
        for subscription in change.subscriptions:
            cursor.execute(self.sql("DELETE FROM subscriptions WHERE id = ?"), (subscription[0],))
            self.insert(cursor, "subscriptions", [subscription])

    def close(self, cursor: Any, table: str, identity: tuple[Any, ...], at: str) -> None:
        """Close the open row of `identity` at `at`. A row opened at this same
        instant held for no time at all: it is dropped instead."""
        where = _where(BITEMPORAL[table][0])
        cursor.execute(self.sql(f"DELETE FROM {table} WHERE {where} AND recorded_to = ? "
                                "AND recorded_from = ?"), (*identity, OPEN, at))
        cursor.execute(self.sql(f"UPDATE {table} SET recorded_to = ? WHERE {where} "
                                "AND recorded_to = ?"), (at, *identity, OPEN))

    def insert(self, cursor: Any, table: str, values: Iterable[tuple[Any, ...]]) -> None:
        values = list(values)
        if values:
            marks = ",".join("?" * len(values[0]))
            cursor.executemany(self.sql(f"INSERT INTO {table} VALUES ({marks})"), values)

    def write(self, cursor: Any, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        """Whole rows by table (a rebuild's or an import's); the position advances."""
        for table, values in rows.items():
            if table == "projection_position":
                for _, position in values:
                    self.advance(cursor, position)
            elif table == "projection_meta":
                for name, value in values:
                    cursor.execute(self.sql("INSERT INTO projection_meta (name, value) VALUES (?, ?) "
                                            "ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
                                   (name, value))
            else:
                self.insert(cursor, table, values)

    def advance(self, cursor: Any, position: int) -> None:
        """The projections now include the log up to `position`."""
        cursor.execute(
            self.sql(
                "INSERT INTO projection_position (name, position) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position "
                "WHERE projection_position.position < excluded.position"
            ),
            (POSITION_NAME, position),
        )

    def clear(self, cursor: Any) -> None:
        with self.fast_delete(cursor):
            for table in (*TABLES, *TEXT_TABLES, "projection_meta"):
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute(self.sql("DELETE FROM projection_position WHERE name = ?"), (POSITION_NAME,))

    # A rebuild's page cache: its rows land all over the keys and indexes of
    # tables of a million rows, which SQLite's default cache (2 MiB) reads
    # from the file again and again (a fifth less time writing at 1M events).
    BULK_CACHE_KIB = 64 * 1024

    @contextmanager
    def bulk(self, cursor: Any) -> Iterator[None]:
        """Around a rebuild's writes: this connection's page cache enlarged,
        then set back as it was (the pool keeps the connection)."""
        with _pragma(cursor, "cache_size", -self.BULK_CACHE_KIB, default=-2000):
            yield

    @contextmanager
    def fast_delete(self, cursor: Any) -> Iterator[None]:
        """SQLite builds may zero every byte deleted (`secure_delete`, on in
        Debian's): a rebuild deletes every projection row, all of them made
        from the log kept in the same file, so for that this connection lets
        their bytes stay in the freed pages (until new rows reuse them), then
        zeroes again as it did."""
        with _pragma(cursor, "secure_delete", 0, default=0):
            yield


@contextmanager
def _pragma(cursor: Any, name: str, value: int, default: int) -> Iterator[None]:
    """SQLite's PRAGMA `name` set to `value` on this connection for the block,
    then set back to what it was (`default` if it says nothing)."""
    cursor.execute(f"PRAGMA {name}")
    row = cursor.fetchone()
    was = int(values(row)[0]) if row is not None else default
    cursor.execute(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA {name} = {was}")


class PostgresWriter(Writer):
    def __init__(self) -> None:
        super().__init__("%s")

    def position(self, text: str) -> str:
        return f"strpos({text}, ?)"

    def among(self, column: str, filter_only: bool = False) -> str:
        return f"{column} = ANY(?)"

    def members(self, values: Iterable[Any]) -> Any:
        return list(values)

    def each(self, alias: str) -> str:
        return f"unnest(?::text[]) AS {alias}(value)"

    hints = False  # PostgreSQL plans with the parameters' values and its statistics
    # PostgreSQL's default, READ COMMITTED, gives each statement the latest
    # commit: two queries of one read could straddle a command's commit.
    snapshot = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"

    def session_ended(self, error: BaseException) -> bool:
        """A connection error (SQLSTATE class 08), the server ending the session
        (57P01-57P03), or a connection lost without a word (no SQLSTATE)."""
        import psycopg

        cause = error.__cause__ or error  # the library's datastore wraps psycopg's errors in its own
        if not isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
            return False
        state = cause.sqlstate
        return state is None or state.startswith(("08", "57P"))

    def indexed_by(self, index: str | None) -> str:
        return ""

    @contextmanager
    def bulk(self, cursor: Any) -> Iterator[None]:
        yield

    @contextmanager
    def fast_delete(self, cursor: Any) -> Iterator[None]:
        yield

    def close(self, cursor: Any, table: str, identity: tuple[Any, ...], at: str) -> None:
        """Writer.close in one statement: the DELETE (a row opened at `at`)
        and the UPDATE (one opened before) take disjoint rows, so one
        statement's snapshot serves both."""
        where = _where(BITEMPORAL[table][0])
        cursor.execute(self.sql(f"WITH dropped AS (DELETE FROM {table} WHERE {where} AND recorded_to = ? "
                                "AND recorded_from = ?) "
                                f"UPDATE {table} SET recorded_to = ? WHERE {where} AND recorded_to = ? "
                                "AND recorded_from <> ?"), (*identity, OPEN, at, at, *identity, OPEN, at))
