"""The deliverer's own rows: each subscription's position in the log (the
last event it has passed), its retries and its lease, and the signing
secrets. Not projections: a subscription's command writes them in its own
transaction (through the recorder, `apply`), the deliverer moves them
(projections/deliverer.py), and rebuild and export never touch them.

Times are seconds since 1970 on the database's clock (`now`), so several
hosts agree on leases whatever their own clocks say."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from lifecycle.subscriptions import ACTIVE, DeliveryChange
from projections.writer import Writer, values

# The database's clock in seconds, for each placeholder style (store).
NOW = {
    "?": "((julianday('now') - 2440587.5) * 86400.0)",
    "%s": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)",
}


def apply(cursor: Any, writer: Writer, change: DeliveryChange, position: int) -> None:
    """In the transaction of a subscription's events, which end at `position`."""
    sql, sid = writer.sql, change.subscription_id
    if change.secret is not None:  # created: deliver what comes after its own creation
        writer.insert(cursor, "subscription_secrets", [(sid, change.secret)])
        writer.insert(cursor, "deliveries",
                      [(sid, position, 0, 0, None, None, None, None, None, None, None)])
    if change.rewind_to is not None:
        cursor.execute(sql("UPDATE deliveries SET position = ? WHERE subscription_id = ?"),
                       (change.rewind_to, sid))
    if change.retry_now:
        cursor.execute(sql("UPDATE deliveries SET attempts = 0, failing_since = NULL, next_attempt = NULL "
                           "WHERE subscription_id = ?"), (sid,))
    if change.forget:
        for table in ("subscription_secrets", "deliveries"):
            cursor.execute(sql(f"DELETE FROM {table} WHERE subscription_id = ?"), (sid,))


# Rows of subscriptions that are active and have their secret (an imported
# log brings subscriptions without one: they are never delivered).
HELD_ACTIVE = (f"subscription_id IN (SELECT id FROM subscriptions WHERE state = '{ACTIVE}') "
               "AND subscription_id IN (SELECT subscription_id FROM subscription_secrets)")


@dataclass(frozen=True)
class Turn:
    """A held subscription's delivery row, as its worker starts a turn."""

    position: int
    attempts: int
    failing_for: float | None   # seconds since the first failure of this event
    wait: float                 # seconds until the next attempt is due
    lease_left: float           # seconds this host still holds it


@dataclass(frozen=True)
class Filters:
    """What a subscription wants, read after the events it will filter."""

    url: str
    types: frozenset[str] | None
    categories: frozenset[str] | None
    active: bool


class Store:
    """SQL in one store's dialect, where `{now}` is the database's clock."""

    def __init__(self, datastore: Any, writer: Writer) -> None:
        self.datastore = datastore
        self.sql = writer.sql
        self.now = NOW[writer.ph]
        # SQLite lets one writer in at a time and makes the others sleep and
        # retry; this process's own writers take turns here instead.
        self.one_writer: AbstractContextManager[Any] = threading.Lock() if self.sqlite else nullcontext()

    @property
    def sqlite(self) -> bool:
        return self.now == NOW["?"]

    def _write(self, statement: str, params: tuple[Any, ...], wait_for_disk: bool = True) -> int:
        with self.one_writer, \
                (self.datastore.transaction(commit=True) if wait_for_disk else self._without_flush()) as c:
            c.execute(self.sql(statement.replace("{now}", self.now)), params)
            # rows changed (the library wraps SQLite's cursor; psycopg's is its own)
            return int(getattr(c, "sqlite_cursor", c).rowcount)

    @contextmanager
    def _without_flush(self) -> Iterator[Any]:
        """A write transaction whose commit does not wait for the disk: atomic,
        and safe from a crash of this process (the database has it), though a
        power cut may lose the last moments of such commits. Positions are
        written so: what a power cut loses is sent again, as at least once allows."""
        if self.sqlite:  # in WAL mode: no fsync for this connection's commit
            with self.datastore.get_connection(commit=True) as conn:
                conn.cursor().execute("PRAGMA synchronous = NORMAL")
                try:
                    with conn.transaction(commit=True) as c:
                        yield c
                finally:
                    conn.cursor().execute("PRAGMA synchronous = FULL")
        else:
            with self.datastore.transaction(commit=True) as c:
                c.execute("SET LOCAL synchronous_commit TO OFF")
                yield c

    def _read(self, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql(statement.replace("{now}", self.now)), params)
            return [values(r) for r in c.fetchall()]


class Deliveries(Store):
    """The deliverer's SQL. `host` names one deliverer process; it holds a
    subscription while its lease lasts, and every write is fenced by it."""

    # ------------------------------------------------------------- leases
    def claim(self, host: str, lease: float) -> list[tuple[str, int, float]]:
        """Renew this host's leases and take every active subscription that
        nobody holds (or whose holder let its lease run out); returns those
        held: (id, position, seconds until its next attempt is due)."""
        mine_or_free = HELD_ACTIVE + " AND (holder = ? OR holder IS NULL OR lease_until < {now})"
        if not self._read("SELECT 1 FROM deliveries WHERE " + mine_or_free, (host,)):
            return []  # nothing to hold: an idle deliverer never takes the write lock
        self._write("UPDATE deliveries SET holder = ?, lease_until = {now} + ? WHERE " + mine_or_free,
                    (host, lease, host))
        rows = self._read("SELECT subscription_id, position, COALESCE(next_attempt - {now}, 0) AS wait "
                          "FROM deliveries WHERE holder = ? AND " + HELD_ACTIVE + " ORDER BY subscription_id",
                          (host,))
        return [(sid, int(position), max(0.0, float(wait))) for sid, position, wait in rows]

    def renew(self, sid: str, host: str, lease: float) -> bool:
        return self._write("UPDATE deliveries SET lease_until = {now} + ? "
                           "WHERE subscription_id = ? AND holder = ?", (lease, sid, host)) == 1

    def release(self, host: str) -> None:
        """Hand every subscription this host holds to the next host at once."""
        self._write("UPDATE deliveries SET holder = NULL, lease_until = NULL WHERE holder = ?", (host,))

    # ------------------------------------------------------------- a turn
    def turn(self, sid: str, host: str) -> Turn | None:
        """The subscription's row if this host holds it."""
        # Named columns: psycopg gives rows as dicts, where unnamed ones would collide.
        rows = self._read("SELECT position, attempts, {now} - failing_since AS failing_for, "
                          "COALESCE(next_attempt - {now}, 0) AS wait, lease_until - {now} AS lease_left "
                          "FROM deliveries WHERE subscription_id = ? AND holder = ?", (sid, host))
        if not rows:
            return None
        position, attempts, failing_for, wait, lease_left = rows[0]
        return Turn(int(position), int(attempts), failing_for, max(0.0, float(wait)), float(lease_left))

    def filters(self, sid: str) -> Filters | None:
        rows = self._read("SELECT url, types, categories, state FROM subscriptions WHERE id = ?", (sid,))
        if not rows:
            return None
        url, types, categories, state = rows[0]
        return Filters(url, frozenset(json.loads(types)) if types else None,
                       frozenset(json.loads(categories)) if categories else None, state == ACTIVE)

    def secret(self, sid: str) -> str | None:
        """The signing secret: read here, by the deliverer, and nowhere else."""
        rows = self._read("SELECT secret FROM subscription_secrets WHERE subscription_id = ?", (sid,))
        return rows[0][0] if rows else None

    def advance(self, sid: str, host: str, old: int, new: int, lease: float,
                status: int | None = None) -> bool:
        """Move the position from `old` to `new` after a 2xx (`status`), or past
        events the filters skip (None). False if the position moved meanwhile
        (a replay) or the host lost its lease: the turn ends."""
        if status is None:
            return self._write("UPDATE deliveries SET position = ?, lease_until = {now} + ? "
                               "WHERE subscription_id = ? AND holder = ? AND position = ?",
                               (new, lease, sid, host, old), wait_for_disk=False) == 1
        return self._write(
            "UPDATE deliveries SET position = ?, delivered = delivered + 1, attempts = 0, "
            "failing_since = NULL, next_attempt = NULL, last_attempt = {now}, last_status = ?, "
            "last_error = NULL, lease_until = {now} + ? "
            "WHERE subscription_id = ? AND holder = ? AND position = ?",
            (new, status, lease, sid, host, old), wait_for_disk=False) == 1

    def failed(self, sid: str, host: str, position: int, delay: float, error: str,
               status: int | None) -> Turn | None:
        """Record a failed attempt at the event after `position`; the next one
        in `delay` seconds. The row as it now is, or None if the turn is lost."""
        changed = self._write(
            "UPDATE deliveries SET attempts = attempts + 1, failing_since = COALESCE(failing_since, {now}), "
            "next_attempt = {now} + ?, last_attempt = {now}, last_status = ?, last_error = ? "
            "WHERE subscription_id = ? AND holder = ? AND position = ?",
            (delay, status, error[:500], sid, host, position))
        return self.turn(sid, host) if changed == 1 else None
