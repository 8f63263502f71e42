"""The audit log: stored events as auditors read them (who, what, when
recorded, why), with their log position and chain hash. Read a page at a time
from the log itself; nothing here replays it."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import date
from enum import Enum
from typing import Any

from projections.documents import record_time

# What a signature means, in the sense of 21 CFR Part 11 §11.50.
SIGNATURES = {
    "standard.approved": ("approval", "批准"),
    "standard.issued": ("issue", "发布"),
    "standard.withdrawn": ("withdrawal", "废止"),
    "standard.reviewed": ("periodic review", "复审"),
    "standard.changes_requested": ("review: changes requested", "退回修改"),
}
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
    out = {
        "position": position,
        "code": name if kind.startswith("standard.") else None,
        "user": name if kind.startswith("user.") else None,
        "type": kind,
        "actor": getattr(event, "actor", None),
        "recorded_at": recorded_at,
        "reason": getattr(event, "reason", None),
        "version": event.originator_version,
        "data": data,
        "chain_hash": chain_hash,
    }
    if kind in SIGNATURES:
        meaning, label = SIGNATURES[kind]
        out["signature"] = {"signer": out["actor"], "signed_at": recorded_at,
                            "meaning": meaning, "meaning_label": label}
    return out
