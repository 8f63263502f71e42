"""Answers reads from the projection tables: no replay per request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from projections.schema import POSITION_NAME
from projections.writer import Writer


@dataclass(frozen=True)
class CatalogueFilter:
    category: str | None = None
    status: str | None = None
    level: str | None = None
    q: str | None = None
    after: str | None = None  # keyset cursor: the last code of the previous page
    limit: int = 50


class Reads:
    def __init__(self, datastore: Any, writer: Writer) -> None:
        self.datastore = datastore
        self.sql = writer.sql

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=False) as c:
            yield c

    def _all(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._cursor() as c:
            c.execute(self.sql(statement), params)
            return list(c.fetchall())

    # -- catalogue
    def catalogue(self, f: CatalogueFilter, day: date) -> tuple[list[tuple[dict, str]], bool]:
        """One page of (document, status on `day`) in code order, and whether more follow."""
        where = ["s.valid_from <= ?", "? < s.valid_to"]
        params: list[Any] = [day.isoformat(), day.isoformat()]
        for column, value in (("c.category", f.category), ("s.status", f.status), ("c.level", f.level)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if f.q:
            where.append("c.titles LIKE ?")
            params.append("%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
            where[-1] += " ESCAPE '\\'"
        if f.after is not None:
            where.append("c.code > ?")
            params.append(f.after)
        statement = (
            "SELECT c.doc, s.status FROM catalogue c JOIN catalogue_status s ON s.code = c.code "
            f"WHERE {' AND '.join(where)} ORDER BY c.code LIMIT ?"
        )
        rows = self._all(statement, (*params, f.limit + 1))
        items = [(json.loads(r[0]), r[1]) for r in rows[: f.limit]]
        return items, len(rows) > f.limit

    def standard(self, code: str) -> dict[str, Any] | None:
        rows = self._all("SELECT doc FROM catalogue WHERE code = ?", (code,))
        return json.loads(rows[0][0]) if rows else None

    def used_sub_items(self, category: str) -> list[str]:
        return [r[0] for r in self._all("SELECT sub_item FROM catalogue WHERE category = ?", (category,))]

    def category_counts(self, day: date) -> dict[str, dict[str, int]]:
        """category -> {"standards": n, status: n, ...} on `day`."""
        rows = self._all(
            "SELECT c.category, s.status, COUNT(*) FROM catalogue c JOIN catalogue_status s "
            "ON s.code = c.code WHERE s.valid_from <= ? AND ? < s.valid_to "
            "GROUP BY c.category, s.status",
            (day.isoformat(), day.isoformat()),
        )
        counts: dict[str, dict[str, int]] = {}
        for category, status, n in rows:
            entry = counts.setdefault(category, {"standards": 0})
            entry[status] = n
            entry["standards"] += n
        return counts

    # -- users
    def user_by_token_hash(self, token_hash: str) -> tuple[str, list[str]] | None:
        rows = self._all("SELECT name, roles FROM users WHERE token_hash = ?", (token_hash,))
        return (rows[0][0], rows[0][1].split(",")) if rows else None

    # -- positions
    def position(self) -> int:
        rows = self._all("SELECT position FROM projection_position WHERE name = ?", (POSITION_NAME,))
        return rows[0][0] if rows else 0

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every projection row, in key order: what a rebuild must reproduce."""
        from projections.schema import KEYS, TABLES

        out = {}
        for table in TABLES:
            out[table] = [tuple(r) for r in self._all(f"SELECT * FROM {table} ORDER BY {KEYS[table]}, 2, 3")]
        out["projection_position"] = [tuple(r) for r in self._all("SELECT * FROM projection_position ORDER BY name")]
        return out
