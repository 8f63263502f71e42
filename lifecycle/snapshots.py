"""Aggregate snapshots (eventsourcing's snapshotting): a standard's state
every INTERVAL events, so a process that has not seen a standard yet reads
its latest snapshot and the few events after it, not its whole history.

A snapshot is a cache of the log, never its truth:
- it is taken from the aggregate a command has just recorded (no second
  replay), after the command's transaction; failing to store one is logged
  and never fails the command, which is already durable;
- it carries the fingerprint of the code that made its state (SHAPE: the
  domain's `apply` methods and how their state is transcoded). A snapshot
  another version of that code took is not used: the aggregate is replayed
  from its events, so a corrected `apply` is never masked by an old state;
- `lifecycle verify` compares each standard's latest snapshot with the
  replay of its events to the same version."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore

log = logging.getLogger(__name__)

INTERVAL = 20  # events between two snapshots of a standard

_HERE = Path(__file__).resolve().parent
# The code that decides what a snapshot's state holds and how it is stored.
SHAPE = hashlib.sha256(b"".join((_HERE / name).read_bytes() for name in
                                ("domain.py", "transcodings.py", "snapshots.py"))).hexdigest()[:16]


class StandardSnapshot(Snapshot):
    """The library's snapshot, stamped with SHAPE."""

    @classmethod
    def take(cls, aggregate: Any) -> Any:
        snapshot = super().take(aggregate)
        snapshot.state["shape"] = SHAPE
        return snapshot

    def mutate(self, _: None) -> Any:
        aggregate = super().mutate(_)
        aggregate.__dict__.pop("shape", None)
        return aggregate


def due(versions: Sequence[int]) -> bool:
    """Whether a command that recorded these versions passed a multiple of INTERVAL."""
    return any(v % INTERVAL == 0 for v in versions)


class CheckedSnapshots(EventStore[Any]):
    """The snapshot store, giving only snapshots this code could have taken."""

    def get(self, *args: Any, **kwargs: Any) -> Any:
        try:
            found = list(super().get(*args, **kwargs))
        except Exception:
            log.warning("a snapshot could not be read; replaying the events instead", exc_info=True)
            return iter(())
        return iter([s for s in found if isinstance(s, StandardSnapshot) and s.state.get("shape") == SHAPE])
