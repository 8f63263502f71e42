"""Editing a stored log behind the application's back, on either store, the
way a forger with database access would."""

from __future__ import annotations

from typing import Any

import psycopg

from lifecycle.config import Settings


class Forger:
    def __init__(self, settings: Settings, events_table: str) -> None:
        self.kind = settings.store_kind
        self.events = events_table
        if self.kind == "sqlite":
            import sqlite3

            self.db: Any = sqlite3.connect(settings.sqlite_path)
            self.ph, self.pos = "?", "rowid"
        else:
            self.db = psycopg.connect(settings.database_url, autocommit=False)
            self.ph, self.pos = "%s", "notification_id"

    def run(self, statement: str, params: tuple = ()) -> list[tuple]:
        sql = statement.replace("?", self.ph).replace("POS", self.pos).replace("stored_events", self.events)
        cur = self.db.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
        self.db.commit()
        return rows

    def replace_text(self, position: int, old: str, new: str) -> None:
        """Edit an event's stored state, keeping it bytes."""
        if self.kind == "sqlite":
            self.run("UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT), ?, ?) AS BLOB) "
                     "WHERE POS = ?", (old, new, position))
        else:
            self.run("UPDATE stored_events SET state = convert_to(replace(convert_from(state, 'UTF8'), "
                     "?, ?), 'UTF8') WHERE POS = ?", (old, new, position))
        assert self.holds(position, new), f"position {position} does not hold {old!r}"

    def holds(self, position: int, text: str) -> bool:
        if self.kind == "sqlite":
            rows = self.run("SELECT instr(CAST(state AS TEXT), ?) FROM stored_events WHERE POS = ?",
                            (text, position))
        else:
            rows = self.run("SELECT strpos(convert_from(state, 'UTF8'), ?) FROM stored_events "
                            "WHERE POS = ?", (text, position))
        return bool(rows and rows[0][0])

    def edit_topic(self, position: int) -> None:
        self.run("UPDATE stored_events SET topic = topic || 'x' WHERE POS = ?", (position,))

    def delete(self, position: int) -> None:
        self.run("DELETE FROM stored_events WHERE POS = ?", (position,))

    def swap(self, a: int, b: int) -> None:
        """Exchange the log positions of two events."""
        self.run("UPDATE stored_events SET POS = 100000 WHERE POS = ?", (a,))
        self.run("UPDATE stored_events SET POS = ? WHERE POS = ?", (a, b))
        self.run("UPDATE stored_events SET POS = ? WHERE POS = 100000", (b,))

    def append_copy(self, position: int) -> int:
        """Insert a copy of an event (new version) at the end of the log."""
        last = self.run("SELECT MAX(POS) FROM stored_events")[0][0]
        self.run("INSERT INTO stored_events (POS, originator_id, originator_version, topic, state) "
                 "SELECT ?, originator_id, originator_version + 100, topic, state "
                 "FROM stored_events WHERE POS = ?", (last + 1, position))
        return last + 1

    def rehash_chain(self) -> None:
        """Recompute every chain link from the stored events, as a forger who
        knows the chain's encoding would after editing them."""
        from projections import chain

        rows = self.run("SELECT POS, originator_id, originator_version, topic, state FROM stored_events "
                        "ORDER BY POS")
        previous = chain.GENESIS
        self.run("DELETE FROM event_chain")
        for position, originator, version, topic, state in rows:
            originator = originator if self.kind == "postgresql" else _uuid(originator)
            previous = chain.link(previous, position, originator, version, topic, bytes(state))
            self.run("INSERT INTO event_chain (position, hash) VALUES (?, ?)", (position, previous))

    def delete_from(self, position: int) -> None:
        """Cut the log short: events and their chain links from `position` on."""
        self.run("DELETE FROM stored_events WHERE POS >= ?", (position,))
        self.run("DELETE FROM event_chain WHERE position >= ?", (position,))

    def close(self) -> None:
        self.db.close()


def _uuid(value: Any) -> Any:
    """SQLite stores originator ids as hex text; the chain hashes the UUID."""
    from uuid import UUID

    return UUID(value) if isinstance(value, str) else value
