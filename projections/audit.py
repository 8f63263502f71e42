"""The audit log: stored events as auditors read them (who, what, when
recorded, why), with their log position and chain hash. Read a page at a time
from the log itself; nothing here replays it. The words (批准, 发布 …) and what
each signature means come from the command registry."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import date
from enum import Enum
from typing import Any

from lifecycle.commands import spec_of_event
from projections.documents import record_time

_BASE = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "reason"}
_WITHHELD = {"token_hash"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def event_type(event: Any) -> str:
    owner = type(event).__qualname__.split(".")[0]
    return f"{_snake(owner)}.{_snake(type(event).__name__)}"


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def entry(position: int, event: Any, name: str | None, chain_hash: str | None) -> dict[str, Any]:
    kind = event_type(event)
    data = {f.name: _plain(getattr(event, f.name)) for f in fields(event)
            if f.name not in _BASE and f.name not in _WITHHELD}
    recorded_at = record_time(event.timestamp)
    spec = spec_of_event(kind)
    out = {
        "position": position,
        "code": name if kind.startswith("standard.") else None,
        "user": name if kind.startswith("user.") else None,
        **({"subscription": name} if kind.startswith("subscription.") else {}),
        "type": kind,
        "label": spec.label if spec is not None else None,
        "actor": getattr(event, "actor", None),
        "recorded_at": recorded_at,
        "reason": getattr(event, "reason", None),
        "version": event.originator_version,
        "data": data,
        "chain_hash": chain_hash,
    }
    if spec is not None and spec.signature is not None:
        out["signature"] = {"signer": out["actor"], "signed_at": recorded_at,
                            "meaning": spec.signature, "meaning_label": spec.label}
    return out


class AuditLog:
    """Pages of the log as audit entries."""

    def __init__(self, register: Any) -> None:
        self.register = register

    def entries(self, notifications: list[Any]) -> list[dict[str, Any]]:
        reg = self.register
        events = [reg.mapper.to_domain_event(n) for n in notifications]
        names = reg.reads.originator_names(sorted({str(e.originator_id) for e in events}))
        hashes = reg.reads.chain_hashes([n.id for n in notifications])
        return [entry(n.id, e, names.get(str(e.originator_id)), hashes.get(n.id))
                for n, e in zip(notifications, events, strict=True)]

    def page(self, after: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` entries after position `after`, and whether more follow."""
        batch = self.register.recorder.select_notifications(start=after + 1, limit=limit + 1)
        return self.entries(list(batch[:limit])), len(batch) > limit

    def of_aggregate(self, originator_id: Any) -> list[dict[str, Any]]:
        """Every entry of one aggregate, in order."""
        return self.entries(self.register.recorder.select_standard_events(originator_id))
