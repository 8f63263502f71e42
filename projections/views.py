"""The shapes clients read (API.md "Names that clients read"), built from
projection rows and a calendar day. Status words come from lifecycle.status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from datetime import date
from typing import Any

from lifecycle.domain import LEVEL_LABELS, Edition
from lifecycle.status import LABELS, edition_status, replacement_day
from projections.documents import StandardRows, edition_number

EDITION_FIELDS = tuple(f.name for f in fields(Edition))  # what an edition records, in its view
_DATES = ("approved_on", "issued_on", "effective_on", "withdrawn_on", "superseded_on")
BRIEF = ("number", "year", "title", "status", "status_label", "issued_on", "effective_on",
         "trial", "withdrawn_on", "replaces", "replaced_by", "will_replace", "will_be_replaced_by")


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


class EditionDays:
    """The days of an edition's row that its status depends on (lifecycle.status.EditionDates),
    read without building the whole Edition: a page shows fifty of them."""

    __slots__ = ("approved_on", "effective_on", "issued_on", "superseded_on", "trial", "withdrawn_on", "year")
    year: int
    trial: bool
    approved_on: date
    issued_on: date | None
    effective_on: date | None
    superseded_on: date | None
    withdrawn_on: date | None

    def __init__(self, raw: dict[str, Any]) -> None:
        self.year = raw["year"]
        self.trial = raw.get("trial", False)
        self.approved_on = date.fromisoformat(raw["approved_on"])
        self.issued_on = _day(raw.get("issued_on"))
        self.effective_on = _day(raw.get("effective_on"))
        self.superseded_on = _day(raw.get("superseded_on"))
        self.withdrawn_on = _day(raw.get("withdrawn_on"))


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text is not None else None


_DEFAULTS = {f.name: f.default for f in fields(Edition) if f.default is not MISSING}
_FACTORIES = {f.name: f.default_factory for f in fields(Edition) if f.default_factory is not MISSING}


def edition_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """What an edition records, as its row holds it (days as ISO text); a row
    written before a field existed reads with that field's default."""
    out = {}
    for name in EDITION_FIELDS:
        if name in raw:
            out[name] = raw[name]
        elif name in _DEFAULTS:
            out[name] = _DEFAULTS[name]
        else:
            out[name] = _FACTORIES[name]()  # KeyError for a field with no default: a broken row
    return out


def edition_view(code: str, raw: dict[str, Any], day: date,
                 editions: Mapping[int, dict[str, Any]]) -> dict[str, Any]:
    """One edition as of `day`; `editions`: all of the standard's, by year.
    An edition is replaced by its successor (and the successor replaces it)
    from the day the successor takes effect; before that day, once the
    successor is issued, the link shows as pending (`will_be_replaced_by`,
    `will_replace`)."""
    edition = EditionDays(raw)
    status = edition_status(edition, day)
    view = {
        "number": edition_number(code, raw["year"]),
        "status": status,
        "status_label": LABELS[status],
        **edition_fields(raw),
        "files": files_view(raw.get("files")),
        "amendments": amendments_on(code, raw, day),
        "replaces": None, "replaced_by": None, "superseded_on": None,
        "will_replace": None, "will_be_replaced_by": None,
    }
    for mine, theirs, other_year in (("replaced_by", "will_be_replaced_by", raw["replaced_by"]),
                                     ("replaces", "will_replace", raw["replaces"])):
        if other_year is None or other_year not in editions:
            continue
        other = EditionDays(editions[other_year])
        earlier, later = (edition, other) if mine == "replaced_by" else (other, edition)
        on = replacement_day(earlier, later)
        if on is not None and on <= day:
            view[mine] = edition_number(code, other_year)
            if mine == "replaced_by":
                view["superseded_on"] = on.isoformat()
        elif on is not None and later.issued_on is not None and later.issued_on <= day:
            view[theirs] = edition_number(code, other_year)
    return view


AMENDMENT_LABELS = {"draft": "草案", "approved": "已批准", "in_force": "已实施", "dropped": "已撤销"}


def amendment_status(a: dict[str, Any], day: date) -> str | None:
    """What an amendment sheet is on `day`: in force from its effective day;
    approved from its approval; in draft from the day it was opened; dropped
    from the day it was dropped; None before it existed."""
    d = day.isoformat()
    if a.get("dropped_on") and a["dropped_on"] <= d:
        return "dropped"
    if a["effective_on"] and a["effective_on"] <= d:
        return "in_force"
    if a["approved_on"] and a["approved_on"] <= d:
        return "approved"
    if a.get("opened_on") and a["opened_on"] <= d:
        return "draft"
    return None


def amendments_on(code: str, raw: dict[str, Any], day: date) -> list[dict[str, Any]]:
    """An edition's amendment sheets as of `day` (修改单, JGSW05001—2018/XG1—2026)."""
    out = []
    for a in raw.get("amendments", []):
        status = amendment_status(a, day)
        if status is None:
            continue
        approved = a["approved_on"]
        out.append({
            "n": a["n"],
            "number": f"{edition_number(code, raw['year'])}/XG{a['n']}—{approved[:4]}" if approved else None,
            "summary": a["summary"], "changes": a["changes"], "references": a["references"],
            "approved_on": approved, "effective_on": a["effective_on"],
            "status": status, "status_label": AMENDMENT_LABELS[status],
            "drafted_by": a["drafted_by"], "approved_by": a["approved_by"],
        })
    return out


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
        "references": d.get("references", []),
        "review_years": d.get("review_years"),
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
    shown = (edition_view(code, rows.editions[edition_year], day, rows.editions)
             if edition_year is not None else None)
    withdrawn_on = rows.doc["withdrawn_on"]
    withdrawn = withdrawn_on is not None and withdrawn_on <= day.isoformat()
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
        "amendments_in_force": sum(a["status"] == "in_force" for a in shown["amendments"]) if shown else 0,
        # A withdrawal scheduled for a day now come ends the paperwork too.
        "draft": None if withdrawn else draft_view(code, rows.doc["draft"]),
        "version": rows.version,
        "stage": "withdrawn" if withdrawn else rows.stage,
        "withdrawal_scheduled_on": withdrawn_on if withdrawn_on is not None and not withdrawn else None,
    }
    if rows.found is not None:
        view.update(rows.found)
    if with_editions:
        view["editions"] = [
            {k: v for k, v in edition_view(code, raw, day, rows.editions).items() if k in BRIEF}
            for raw in editions_on(rows, day)
        ]
        view["reviews"] = rows.doc["reviews"]
    return view
