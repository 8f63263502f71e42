"""The shapes clients read (API.md "Names that clients read"), built from a
projected document and a calendar day. Status words come from
lifecycle.status alone."""

from __future__ import annotations

from datetime import date
from typing import Any

from lifecycle.domain import LEVEL_LABELS
from lifecycle.status import LABELS, edition_status, standard_status
from projections.documents import edition_number, load_edition


def edition_view(code: str, raw: dict[str, Any], day: date) -> dict[str, Any]:
    e = load_edition(raw)
    status = edition_status(e, day)
    return {
        "number": edition_number(code, e.year),
        "year": e.year,
        "title": e.title,
        "status": status,
        "status_label": LABELS[status],
        "level": e.level,
        "kind": e.kind,
        "owner_department": e.owner_department,
        "drafting_units": e.drafting_units,
        "summary": e.summary,
        "approved_on": raw["approved_on"],
        "approved_by": e.approved_by,
        "drafted_by": e.drafted_by,
        "issued_on": raw["issued_on"],
        "issued_by": e.issued_by,
        "effective_on": raw["effective_on"],
        "trial": e.trial,
        "superseded_on": raw["superseded_on"],
        "withdrawn_on": raw["withdrawn_on"],
        "withdrawal_reason": e.withdrawal_reason,
        "replaces": edition_number(code, e.replaces),
        "replaced_by": edition_number(code, e.replaced_by),
    }


def draft_view(doc: dict[str, Any]) -> dict[str, Any] | None:
    d = doc["draft"]
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
        "revision_of": edition_number(doc["code"], d["revision_of"]),
        "comments": d["comments"],
    }


def standard_view(doc: dict[str, Any], day: date, *, with_editions: bool = True) -> dict[str, Any]:
    code = doc["code"]
    editions = [load_edition(raw) for raw in doc["editions"]]
    status = standard_status(editions, doc["workflow_status"], day)
    shown = None
    if status.edition is not None:
        raw = next(r for r in doc["editions"] if r["year"] == status.edition.year)
        shown = edition_view(code, raw, day)
    draft = draft_view(doc)
    latest = shown or draft or (edition_view(code, doc["editions"][-1], day) if editions else None)
    assert latest is not None
    view = {
        "code": code,
        "category": doc["category"],
        "sub_item": doc["sub_item"],
        "level": latest["level"],
        "level_label": LEVEL_LABELS.get(latest["level"]),
        "title": latest["title"],
        "status": status.status,
        "status_label": LABELS[status.status],
        "edition": shown,
        "draft": draft,
        "version": doc["version"],
        "stage": doc["stage"],
    }
    if with_editions:
        view["editions"] = [
            {k: v for k, v in edition_view(code, raw, day).items()
             if k in ("number", "year", "title", "status", "status_label", "issued_on",
                      "effective_on", "trial", "withdrawn_on", "replaces", "replaced_by")}
            for raw in doc["editions"]
        ]
        view["reviews"] = doc["reviews"]
    return view
