"""Re-read the whole log and check it against its recorded chain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from projections import chain
from projections.rebuild import notifications


def verify_log(app: Any, progress: Callable[[int], None] | None = None,
               upto: int | None = None) -> tuple[str, int, chain.Break | None]:
    """(head hash, last position checked, first break or None)."""

    def stream() -> Iterator[Any]:
        for batch in notifications(app, upto):
            yield from batch
            if progress is not None:
                progress(len(batch))

    recorded = app.reads.chain_from(0)
    if upto is not None:
        recorded = (r for r in recorded if r[0] <= upto)
    return chain.check(stream(), iter(recorded))
