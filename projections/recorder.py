"""eventsourcing's SQLite recorder, extended to write the projection rows in
the same transaction as the events (the pattern of the library's
ftscontentmanagement example): a 2xx answer means both are durable, and a
read after it sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from projections.schema import STATEMENTS
from projections.writer import Writer


class ProjectingSQLiteRecorder(SQLiteApplicationRecorder):
    writer = Writer("?")

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *STATEMENTS]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        projection = kwargs.get("projection")
        if projection and ids:
            for rows in projection:
                self.writer.replace_rows(c, rows)
            self.writer.advance(c, max(ids))
        return ids
