"""Aggregates as plain JSON documents and table rows: what the recorder
writes beside the events, and what a rebuild writes again. Pure functions of
aggregate state, so a rebuild gives the same bytes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from lifecycle.domain import Edition, Standard
from lifecycle.status import status_timeline
from lifecycle.users import User


def _default(o: object) -> str:
    if isinstance(o, date):
        return o.isoformat()
    if hasattr(o, "value"):
        return o.value  # enums
    raise TypeError(type(o))


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_default)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def edition_number(code: str, year: int | None) -> str | None:
    return f"{code}—{year}" if year is not None else None


@dataclass
class Rows:
    """Rows of one aggregate, per table; the writer replaces the old ones."""

    key: str
    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def standard_doc(std: Standard) -> dict[str, Any]:
    return {
        "code": std.code,
        "category": std.category,
        "sub_item": std.sub_item,
        "version": std.version,
        "stage": std.stage.value,
        "workflow_status": std.workflow_status,
        "withdrawn_on": std.withdrawn_on,
        "editions": [e.as_dict() for e in std.editions],
        "draft": asdict(std.draft) if std.draft is not None else None,
        "reviews": std.reviews,
        "created_on": std.created_on.isoformat(),
        "modified_on": std.modified_on.isoformat(),
    }


def load_edition(d: dict[str, Any]) -> Edition:
    """An Edition back from its JSON form (dates parsed)."""
    values = dict(d)
    for name in ("approved_on", "issued_on", "effective_on", "withdrawn_on", "superseded_on"):
        if values.get(name) is not None:
            values[name] = date.fromisoformat(values[name])
    return Edition(**values)


def standard_rows(std: Standard) -> Rows:
    doc = standard_doc(std)
    latest = std.draft or (std.editions[-1] if std.editions else None)
    assert latest is not None
    titles = "\n".join(dict.fromkeys([*(e.title for e in std.editions),
                                      *([std.draft.title] if std.draft else [])]))
    catalogue = (std.code, std.category, std.sub_item, latest.level, titles,
                 std.stage.value, std.version, dumps(doc))
    timeline = [
        (std.code, _iso(i.valid_from), _iso(i.valid_to), i.status, i.edition_year)
        for i in status_timeline(std.editions, std.workflow_status)
    ]
    editions = [
        (std.code, e.year, edition_number(std.code, e.year), e.title, _iso(e.approved_on),
         e.approved_by, _iso(e.issued_on), _iso(e.effective_on), int(e.trial),
         _iso(e.superseded_on), _iso(e.withdrawn_on), edition_number(std.code, e.replaces),
         edition_number(std.code, e.replaced_by), dumps(e.as_dict()))
        for e in std.editions
    ]
    return Rows(std.code, {"catalogue": [catalogue], "catalogue_status": timeline,
                           "editions": editions})


def user_rows(user: User) -> Rows:
    roles = ",".join(r.value for r in user.roles)
    return Rows(user.name, {"users": [(user.name, roles, user.token_hash, user.version)]})


def rows_for(aggregate: object) -> Rows:
    if isinstance(aggregate, Standard):
        return standard_rows(aggregate)
    if isinstance(aggregate, User):
        return user_rows(aggregate)
    raise TypeError(f"no projection for {type(aggregate).__name__}")
