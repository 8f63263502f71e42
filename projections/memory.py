"""The projections of a log up to a position, rebuilt into an in-memory
SQLite database with the same tables: a register as it stood then, read with
the same queries as the live one (how `snapshot verify` proves a snapshot)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from projections.queries import Reads
from projections.rebuild import Rows, notifications
from projections.schema import STATEMENTS
from projections.writer import Writer


class MemoryStore:
    """Just enough of a datastore for Reads: read transactions on one connection."""

    def __init__(self) -> None:
        self.connection = sqlite3.connect(":memory:")
        for statement in STATEMENTS:
            self.connection.execute(statement)

    def change_counter(self) -> None:
        """None: Reads keeps nothing (this store is read once, for a snapshot's proof)."""

    def cursor(self) -> AbstractContextManager[sqlite3.Cursor]:
        """One read statement (Writer.statement)."""
        return self.transaction(commit=False)

    @contextmanager
    def transaction(self, commit: bool) -> Iterator[sqlite3.Cursor]:
        cursor = self.connection.cursor()
        try:
            yield cursor
            if commit:
                self.connection.commit()
        finally:
            cursor.close()


def reads_at(app: Any, position: int, progress: Callable[[int], None] | None = None) -> Reads:
    """Reads of the projections as the log up to `position` makes them."""
    rows = Rows(app.settings.zone, app.settings.review_years)
    store, writer = MemoryStore(), Writer("?")
    with store.transaction(commit=True) as c:
        for batch in notifications(app, upto=position):
            for n in batch:
                rows.add(n.id, app.mapper.to_domain_event(n))
            writer.write(c, rows.take_closed())
            if progress is not None:
                progress(len(batch))
        writer.write(c, rows.finish())
    return Reads(store, writer)
