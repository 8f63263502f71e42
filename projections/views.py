"""The shapes clients read (API.md "Names that clients read"), built from
projection rows and a calendar day. Status words come from lifecycle.status."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any

from lifecycle.domain import LEVEL_LABELS, Edition
from lifecycle.status import LABELS, edition_status
from projections.documents import StandardRows, edition_number

EDITION_FIELDS = tuple(f.name for f in fields(Edition))  # what an edition records, in its view
_DATES = ("approved_on", "issued_on", "effective_on", "withdrawn_on", "superseded_on")
BRIEF = ("number", "year", "title", "status", "status_label", "issued_on", "effective_on",
         "trial", "withdrawn_on", "replaces", "replaced_by")


def files_view(files: dict[str, dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A draft's or edition's files, by name: name, media_type, size, sha256."""
    return [{"name": name, "media_type": f["media_type"], "size": f["size"], "sha256": f["sha256"]}
            for name, f in sorted((files or {}).items())]


def load_edition(raw: dict[str, Any]) -> Edition:
    values = dict(raw)
    for name in _DATES:
        if values.get(name) is not None:
            values[name] = date.fromisoformat(values[name])
    return Edition(**values)


def edition_view(code: str, raw: dict[str, Any], day: date,
                 existing: set[int] | None = None) -> dict[str, Any]:
    """`existing`: the years of the editions that existed on `day`; a link to
    a later edition is not shown as of a day before that edition existed."""
    status = edition_status(load_edition(raw), day)
    later = raw["replaced_by"]
    if existing is not None and later is not None and later not in existing:
        raw = {**raw, "replaced_by": None, "superseded_on": None}
    return {
        "number": edition_number(code, raw["year"]),
        "status": status,
        "status_label": LABELS[status],
        **{name: raw.get(name) for name in EDITION_FIELDS},
        "files": files_view(raw.get("files")),
        "replaces": edition_number(code, raw["replaces"]),
        "replaced_by": edition_number(code, raw["replaced_by"]),
    }


def draft_view(code: str, d: dict[str, Any] | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "stage": d["stage"],
        "stage_label": LABELS[d["stage"]],
        "title": d["title"],
        "level": d["level"],
        "kind": d["kind"],
        "owner_department": d["owner_department"],
        "drafting_units": d["drafting_units"],
        "summary": d["summary"],
        "drafted_by": d["drafted_by"],
        "edited_by": d["edited_by"],
        "revision_of": edition_number(code, d["revision_of"]),
        "comments": d["comments"],
        "files": files_view(d.get("files")),
    }


def editions_on(rows: StandardRows, day: date) -> list[dict[str, Any]]:
    """The editions that existed on `day` (an edition exists from its approval)."""
    return [raw for _, raw in sorted(rows.editions.items()) if raw["approved_on"] <= day.isoformat()]


def standard_view(rows: StandardRows, day: date, *, with_editions: bool = True) -> dict[str, Any]:
    """`rows.state` must be set: the standard existed on `day`."""
    assert rows.state is not None
    status, edition_year, level, title = rows.state
    code = rows.code
    existing = {raw["year"] for raw in editions_on(rows, day)}
    shown = (edition_view(code, rows.editions[edition_year], day, existing)
             if edition_year is not None else None)
    view = {
        "code": code,
        "category": rows.doc["category"],
        "sub_item": rows.doc["sub_item"],
        "level": level,
        "level_label": LEVEL_LABELS.get(level),
        "title": title,
        "status": status,
        "status_label": LABELS[status],
        "edition": shown,
        "draft": draft_view(code, rows.doc["draft"]),
        "version": rows.version,
        "stage": rows.stage,
    }
    if rows.found is not None:
        view.update(rows.found)
    if with_editions:
        view["editions"] = [
            {k: v for k, v in edition_view(code, raw, day, existing).items() if k in BRIEF}
            for raw in editions_on(rows, day)
        ]
        view["reviews"] = rows.doc["reviews"]
    return view
