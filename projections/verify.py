"""Verification of a register against its own log: the recorded chain
against the stored events, every projection row against a replay, each
standard's latest aggregate snapshot against the same replay, and the log
against a head signed earlier (a snapshot's or an export's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lifecycle.domain import Standard
from projections import chain
from projections.rebuild import expected_rows, notifications
from projections.schema import COLUMNS, IDENTITY
from projections.signing import SignedHead


@dataclass(frozen=True)
class ChainCheck:
    head: str               # the chain hash of the last event checked
    last: int               # its position
    events: int             # how many events were checked (positions may have gaps)
    broken: chain.Break | None


def verify_log(app: Any, progress: Callable[[int], None] | None = None,
               upto: int | None = None) -> ChainCheck:
    """Walk the stored events and the recorded chain together."""
    count = 0

    def stream() -> Iterator[Any]:
        nonlocal count
        for batch in notifications(app, upto):
            count += len(batch)
            yield from batch
            if progress is not None:
                progress(len(batch))

    recorded = app.reads.chain_from(0)
    if upto is not None:
        recorded = (r for r in recorded if r[0] <= upto)
    head, last, broken = chain.check(stream(), iter(recorded))
    return ChainCheck(head, last, count, broken)


def head_at(app: Any, position: int, progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    """The chain hash at `position`, recomputed from the log itself (not the
    chain table), and the last position actually read."""
    head, last = chain.GENESIS, 0
    for batch in notifications(app, upto=position):
        for n in batch:
            head = chain.link_notification(head, n)
            last = n.id
        if progress is not None:
            progress(len(batch))
    return head, last


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((v is None, "" if v is None else str(v)) for v in row)


def _describe(table: str, row: tuple[Any, ...]) -> str:
    names = COLUMNS[table]
    return f"{table} row " + ", ".join(f"{n}={row[i]!r}" for i, n in enumerate(names)
                                         if n in IDENTITY[table])


def compare_rows(expected: dict[str, list[tuple[Any, ...]]],
                 actual: dict[str, list[tuple[Any, ...]]]) -> str | None:
    """The first difference between the rows a replay gives and the rows the
    tables hold, in words; None if they are the same."""
    for table in COLUMNS:
        want = sorted((tuple(r) for r in expected.get(table, [])), key=_sort_key)
        have = sorted((tuple(r) for r in actual.get(table, [])), key=_sort_key)
        keys = [i for i, n in enumerate(COLUMNS[table]) if n in IDENTITY[table]]
        by_key = {tuple(r[i] for i in keys): r for r in want}
        held = {tuple(r[i] for i in keys): r for r in have}
        for key, row in by_key.items():
            if key not in held:
                return f"{_describe(table, row)}: missing from the table, the log gives it"
            for name, a, b in zip(COLUMNS[table], held[key], row, strict=True):
                if a != b:
                    return f"{_describe(table, row)}: {name}: the table says {a!r}, the log gives {b!r}"
        for key, row in held.items():
            if key not in by_key:
                return f"{_describe(table, row)}: in the table, but the log gives no such row"
    return None


def verify_projections(app: Any, progress: Callable[[int], None] | None = None,
                       states: dict[Any, Any] | None = None) -> str | None:
    """Every projection row (users included) against a replay of the log;
    `states` gets each aggregate as the replay left it."""
    return compare_rows(expected_rows(app, progress, states), app.reads.dump())


def verify_snapshots(app: Any, states: dict[Any, Any]) -> tuple[int, str | None]:
    """Each standard's latest snapshot that the register would use, with the
    events after it, against the state a replay of the whole log gives
    (`states`). Returns how many were checked and the first difference."""
    checked = 0
    for aggregate_id, state in states.items():
        if not isinstance(state, Standard):
            continue
        found = list(app.snapshots.get(aggregate_id, desc=True, limit=1))
        if not found:
            continue
        snapshot = found[0]
        loaded = snapshot.mutate(None)
        for event in app.events.get(aggregate_id, gt=snapshot.originator_version):
            loaded = event.mutate(loaded)
        checked += 1
        want, got = vars(state), vars(loaded)
        differs = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
        if differs:
            return checked, (f"the snapshot of {state.code} at version {snapshot.originator_version} "
                             f"does not give what the log gives ({', '.join(differs)} differ): "
                             "delete the snapshots table's rows; they are a cache, retaken as commands go")
    return checked, None


def verify_since(app: Any, signed: SignedHead, keys: list[Any]) -> str | None:
    """Does the log still extend a head signed earlier? None if it does."""
    if signed.verified_by(keys) is None:
        return (f"the head at position {signed.position} is signed by key {signed.key}, which is "
                "neither this register's key nor one given with --trusted-key")
    head, last = head_at(app, signed.position)
    if last != signed.position:
        return (f"the log has no event at position {signed.position}, where the signed head was "
                f"(the last one up to it is {last}): it was cut short or rewritten")
    if head != signed.chain_head:
        return (f"at position {signed.position} the log's chain hash is {head}, not the signed "
                f"{signed.chain_head}: the log was rewritten at or before that position")
    return None
