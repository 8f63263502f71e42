"""`lifecycle verify`, for files: every stored content re-hashed, in the
order the log first names it, so the first that differs is named with the
event, the standard and the file that hold it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import get_topic

from lifecycle.domain import Standard
from projections.rebuild import notifications

FILE_ATTACHED = get_topic(Standard.FileAttached)


@dataclass(frozen=True)
class ContentBreak:
    """The first file whose stored bytes are not what its event says."""

    position: int  # of the event that first names the content
    code: str | None
    name: str
    sha256: str
    problem: str


def first_bad_content(app: Any, progress: Callable[[int], None] | None = None
                      ) -> tuple[int, ContentBreak | None]:
    """Re-hash every stored content, in the order the log first names them
    (FileAttached events); returns (contents checked, the first that differs)."""
    seen: set[str] = set()
    for batch in notifications(app):
        for n in batch:
            if n.topic != FILE_ATTACHED:
                continue
            event = app.mapper.to_domain_event(n)
            if event.sha256 in seen:
                continue
            seen.add(event.sha256)
            problem = app.contents.hash_problem(event.sha256, event.size)
            if problem is not None:
                names = app.reads.originator_names([str(event.originator_id)])
                return len(seen), ContentBreak(n.id, names.get(str(event.originator_id)), event.name,
                                               event.sha256, problem)
        if progress is not None:
            progress(len(batch))
    return len(seen), None
