"""Subscriptions as the API shows them: the projected row (what its events
say) beside the deliverer's row (where delivery stands). Never the secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from lifecycle.subscriptions import DELETED
from projections.deliveries import Store

COLUMNS = ("id", "url", "types", "categories", "description", "state", "state_reason", "state_by",
           "created_at", "created_by", "changed_at", "version")
NO_SECRET = ("this store holds no signing secret for it (its log was imported, and secrets are "
             "never exported): delete it and subscribe again")


def _time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SubscriptionReads(Store):
    def views(self, head: int, sid: str | None = None) -> list[dict[str, Any]]:
        """Every subscription not deleted (or the one `sid`), oldest first;
        `head` is the log's last position, for the lag."""
        where, params = (" AND s.id = ?", (DELETED, sid)) if sid is not None else ("", (DELETED,))
        rows = self._read(
            f"SELECT {', '.join('s.' + c for c in COLUMNS)}, d.position, d.delivered, d.attempts, "
            "d.next_attempt, d.last_attempt, d.last_status, d.last_error "
            f"FROM subscriptions s LEFT JOIN deliveries d ON d.subscription_id = s.id "
            f"WHERE s.state <> ?{where} ORDER BY s.created_at, s.id", params)
        return [self._view(row, head) for row in rows]

    @staticmethod
    def _view(row: tuple[Any, ...], head: int) -> dict[str, Any]:
        view = dict(zip(COLUMNS, row[:len(COLUMNS)], strict=True))
        position, delivered, attempts, next_at, last_at, last_status, last_error = row[len(COLUMNS):]
        for name in ("types", "categories"):
            view[name] = json.loads(view[name]) if view[name] is not None else None
        view.update(
            position=position,
            lag=max(0, head - position) if position is not None else None,
            delivered=delivered or 0,
            attempts=attempts or 0,
            next_attempt=_time(next_at),
            last_attempt=_time(last_at),
            last_status=last_status,
            last_error=last_error if position is not None else NO_SECRET,
        )
        return view
