"""Recreate every projection from the event log: replay the log in recorded
order, then replace all rows and the position in one transaction. Rows are
pure functions of aggregate state (documents.py), so the result equals what
the commands wrote."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.documents import rows_for

BATCH = 5000


def replay(app: Any, progress: Callable[[int], None] | None = None,
           upto: int | None = None) -> tuple[dict[Any, Any], int]:
    """All aggregates as of log position `upto` (default: the end)."""
    recorder, mapper = app.recorder, app.mapper
    aggregates: dict[Any, Any] = {}
    last = 0
    while True:
        batch = recorder.select_notifications(start=last + 1, limit=BATCH, stop=upto)
        if not batch:
            break
        for notification in batch:
            event = mapper.to_domain_event(notification)
            aggregates[event.originator_id] = event.mutate(aggregates.get(event.originator_id))
        last = batch[-1].id
        if progress is not None:
            progress(len(batch))
    return aggregates, last


def rebuild(app: Any, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild all projections; returns the log position they now cover."""
    aggregates, last = replay(app, progress)
    writer = app.recorder.writer
    with app.recorder.datastore.transaction(commit=True) as c:
        writer.clear(c)
        for aggregate in aggregates.values():
            for table, values in rows_for(aggregate).tables.items():
                writer.insert(c, table, values)
        if last:
            writer.advance(c, last)
    return last
