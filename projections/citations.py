"""What an edition cites, what cites a standard, and what is due for review,
on both clocks, from the projection rows (no replay): the shapes of
`…/editions/{year}/references`, `…/referenced-by` and `/reviews/due`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from lifecycle import reviews
from lifecycle.status import IN_FORCE, LABELS, edition_status
from projections.documents import edition_number
from projections.queries import Reads
from projections.views import amendments_on, load_edition


def _dated(number: str, doc: dict[str, Any] | None, day: date) -> dict[str, Any]:
    """A dated reference: that edition only, with a warning when it is not in force."""
    if doc is None or doc["approved_on"] > day.isoformat():
        return {"resolves_to": None, "status": None, "warning": f"{number} was not yet approved on {day}"}
    status = edition_status(load_edition(doc), day)
    warning = (None if status in IN_FORCE else
               f"{number} is {status} ({LABELS[status]}) on {day}; a dated reference means that edition only")
    return {"resolves_to": number, "status": status, "warning": warning}


def _undated(code: str, standing: tuple[str, int | None] | None, docs: dict[tuple[str, int], dict[str, Any]],
             day: date) -> dict[str, Any]:
    """An undated reference: the edition in force that day, with its amendment
    sheets in force that day (JGSW01003 §2: "including all amendment sheets")."""
    if standing is not None and standing[0] in IN_FORCE and standing[1] is not None:
        doc = docs[(code, standing[1])]
        sheets = [a["number"] for a in amendments_on(code, doc, day) if a["status"] == "in_force"]
        return {"resolves_to": edition_number(code, standing[1]), "status": standing[0], "warning": None,
                "amendments": sheets}
    status = standing[0] if standing is not None else None
    said = f"it is {status} ({LABELS[status]})" if status else "it did not exist yet"
    return {"resolves_to": None, "status": status,
            "warning": f"no edition of {code} is in force on {day}: {said}"}


def _resolved(reads: Reads, internal: list[tuple[str, int | None]], day: date,
              known_at: str | None) -> dict[tuple[str, int | None], dict[str, Any]]:
    """(code, year or None) -> resolves_to, status and warning on `day`."""
    codes = sorted({code for code, _ in internal})
    standing = reads.in_force(codes, day, known_at)
    docs = reads.editions_of(codes, known_at)
    return {(code, year): (_dated(edition_number(code, year) or code, docs.get((code, year)), day)
                           if year is not None else _undated(code, standing.get(code), docs, day))
            for code, year in internal}


def references(reads: Reads, code: str, year: int, day: date, known_at: str | None) -> list[dict[str, Any]]:
    """Each reference of edition `year` as of `day`, internal ones resolved:
    a dated one to that edition (with a warning if it is not in force), an
    undated one to the edition in force that day."""
    rows = reads.references_of(code, year, day, known_at)
    internal = [(cited, cited_year) for _, kind, _, cited, cited_year in rows if kind == "internal"]
    resolved = _resolved(reads, internal, day, known_at)
    items = []
    for text, kind, dated, cited, cited_year in rows:
        item = {"reference": text, "kind": kind, "internal": kind == "internal", "dated": bool(dated),
                "unresolved": kind == "planned", "resolves_to": None, "status": None,
                "status_label": None, "warning": None, "amendments": []}
        if kind == "internal":
            item.update(resolved[(cited, cited_year)])
            item["status_label"] = LABELS[item["status"]] if item["status"] else None
        items.append(item)
    return items


def referenced_by(reads: Reads, code: str, day: date, known_at: str | None) -> list[dict[str, Any]]:
    return [{"number": edition_number(citing, year), "code": citing, "reference": text, "dated": bool(dated)}
            for citing, year, text, dated in reads.referenced_by(code, day, known_at)]


def due(reads: Reads, day: date, within: int, known_at: str | None) -> list[dict[str, Any]]:
    """Every standard due for review on `day` or within `within` days, with
    why, earliest first (lifecycle/reviews.py has the rules)."""
    until = day + timedelta(days=within)
    found: dict[str, dict[str, Any]] = {}

    def add(code: str, year: int, reason: reviews.DueReason) -> None:
        entry = found.setdefault(code, {"code": code, "edition": edition_number(code, year), "details": []})
        entry["details"].append({"reason": reason.reason, "due_on": reason.due_on.isoformat(),
                                 "about": reason.detail})

    for code, year, due_on in reads.review_clocks(day, until, known_at):
        add(code, year, reviews.DueReason(reviews.INTERVAL, date.fromisoformat(due_on)))
    for code, year, due_on in reads.paperwork(day, until, known_at):
        add(code, year, reviews.DueReason(reviews.PAPERWORK, date.fromisoformat(due_on),
                                          "emergency approval: the paperwork is to be completed"))
    changes = reads.reference_changes(day, until, known_at)
    reviewed = reads.reviews_of(sorted({c[0] for c in changes}), known_at)
    for code, year, since, cited, changed_on, kind in changes:
        dates = [date.fromisoformat(r["reviewed_on"]) for r in reviewed.get(code, [])]
        change_day = date.fromisoformat(changed_on)
        if reviews.reference_due(change_day, date.fromisoformat(since), dates, day):
            what = "a new edition took effect" if kind == "new_edition" else "it was withdrawn"
            add(code, year, reviews.DueReason(reviews.REFERENCE_CHANGED, change_day, f"{cited}: {what}"))
    items = []
    for entry in found.values():
        details = sorted(entry["details"], key=lambda d: (d["due_on"], d["reason"], d["about"] or ""))
        due_on = date.fromisoformat(details[0]["due_on"])
        items.append({**entry, "details": details, "due_on": due_on.isoformat(),
                      "overdue_days": (day - due_on).days,
                      "reasons": sorted({d["reason"] for d in details})})
    return sorted(items, key=lambda i: (i["due_on"], i["code"]))
