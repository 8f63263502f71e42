"""Writes projection rows through a cursor of the transaction that records the
events, so the read models and the log never disagree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from projections.documents import Rows
from projections.schema import KEYS, POSITION_NAME, TABLES

_WIDTHS = {"catalogue": 8, "catalogue_status": 5, "editions": 14, "users": 4}


class Writer:
    """SQL for one store's parameter style ('?' for SQLite, '%s' for psycopg)."""

    def __init__(self, placeholder: str = "?") -> None:
        self.ph = placeholder

    def sql(self, statement: str) -> str:
        return statement.replace("?", self.ph) if self.ph != "?" else statement

    def replace_rows(self, cursor: Any, rows: Rows) -> None:
        for table, values in rows.tables.items():
            cursor.execute(self.sql(f"DELETE FROM {table} WHERE {KEYS[table]} = ?"), (rows.key,))
            self.insert(cursor, table, values)

    def insert(self, cursor: Any, table: str, values: Iterable[tuple[Any, ...]]) -> None:
        values = list(values)
        if values:
            marks = ",".join("?" * _WIDTHS[table])
            cursor.executemany(self.sql(f"INSERT INTO {table} VALUES ({marks})"), values)

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
        for table in TABLES:
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute(self.sql("DELETE FROM projection_position WHERE name = ?"), (POSITION_NAME,))
