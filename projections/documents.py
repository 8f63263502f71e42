"""An aggregate's projection as *slices*: {(table, identity): payload}. A
pure function of aggregate state (and the office's zone, which turns record
times into days), so replaying the log gives the same rows as the commands
wrote."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import partial
from typing import Any

import orjson

from lifecycle import references, reviews
from lifecycle.config import DEFAULT_REVIEW_YEARS
from lifecycle.domain import Edition, Standard
from lifecycle.status import LAST_DAY, Paperwork, status_timeline
from lifecycle.subscriptions import Subscription
from lifecycle.users import User
from lifecycle.vocabulary import Stage

Slices = dict[tuple[str, tuple[Any, ...]], tuple[Any, ...]]


@dataclass(frozen=True)
class StandardRows:
    """What the register said of one standard at one moment, and its state on one day."""

    code: str
    version: int
    stage: str
    doc: dict[str, Any]
    editions: dict[int, dict[str, Any]]
    state: tuple[Any, ...] | None  # status, edition_year, level, title
    found: dict[str, Any] | None = None  # for a search: matched_in (title, text), file, snippet


def _default(o: object) -> str:
    if isinstance(o, date):
        return o.isoformat()
    if hasattr(o, "value"):
        return o.value  # enums
    raise TypeError(type(o))


# The encoding of every document, as the tables hold it: json's, with these
# options (json.dumps with options builds a new encoder per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_default)


def dumps(obj: Any) -> str:
    """`_ENCODER.encode(obj)`, byte for byte. orjson gives the same text for
    what documents hold (str, int, bool, None, lists, dicts with str keys,
    dates, enums; tests/unit/test_documents_json.py checks it against json) in
    a tenth of the time, which a rebuild of a million events feels; anything
    it will not encode the same way (int keys, ints beyond 64 bits) it
    refuses, and json encodes it. Documents hold no floats (orjson writes
    1e16 where json writes 1e+16)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _ENCODER.encode(obj)


def iso_day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def record_time(ts: datetime) -> str:
    """A record time as fixed-width UTC text (2026-01-02T03:04:05.000000Z), so
    strings sort as times."""
    if ts.tzinfo is UTC:  # as the library makes and decodes them: the same text, sooner
        return ts.isoformat(timespec="microseconds")[:-6] + "Z"
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def edition_number(code: str, year: int | None) -> str | None:
    return f"{code}—{year}" if year is not None else None


class Doc(dict):
    """A JSON document in a slice: compared as a dict, written as JSON text
    (only rows that change are ever serialised)."""

    __slots__ = ()


def to_column(value: Any) -> Any:
    return dumps(value) if isinstance(value, Doc) else value


def _draft_dict(draft: Any) -> dict[str, Any] | None:
    if draft is None:
        return None
    return {**vars(draft), "drafting_units": list(draft.drafting_units),
            "edited_by": list(draft.edited_by), "comments": list(draft.comments),
            "files": dict(draft.files)}


class StandardSlices(dict):
    """A standard's slices, and the groups they are the union of: the log's
    slice (`log`, new at every event) and, by memo slot, the timeline's and
    each edition's (`groups`). A group that is the same object before and
    after an event holds the same rows, so `projector.diff` passes over it."""

    __slots__ = ("groups", "log")

    log: Slices
    groups: dict[tuple, Slices]


def standard_slices(std: Standard, zone: tzinfo, memo: dict | None = None,
                    review_years: int = DEFAULT_REVIEW_YEARS,
                    editions_as_in: Slices | None = None, timeline_kept: bool = False) -> Slices:
    """`memo` (kept by a Projector across events) skips recomputing the status
    timeline when what it depends on did not change. `review_years`: the
    interval of a standard that sets none (LIFECYCLE_REVIEW_YEARS).
    `editions_as_in`: the slices of this standard before an event that left
    every edition as it was (projector.EDITIONS_KEPT): their groups are taken as
    they are; `timeline_kept`: and the timeline's too (projector.keeps_timeline),
    so only the log's slice is new."""
    code = std.code
    # The stage as the register said it when it recorded the event: a
    # withdrawal scheduled for a later day has not yet ended the paperwork.
    # (Without a withdrawal the day does not matter.)
    stage = std.stage_on(std.modified_on.astimezone(zone).date() if std.withdrawn_on is not None
                         else date.max)
    log_doc = {
        "category": std.category,
        "sub_item": std.sub_item,
        "workflow_status": std.workflow_status,
        "withdrawn_on": std.withdrawn_on,
        "draft": None if stage is Stage.WITHDRAWN else _draft_dict(std.draft),
        "reviews": list(std.reviews),  # a copy: the slice must not change with the aggregate
        "editions": [e.year for e in std.editions],
    }
    log: Slices = {("standard_log", (code,)): (std.version, stage.value, Doc(log_doc))}
    if timeline_kept and isinstance(editions_as_in, StandardSlices):
        slices = StandardSlices(editions_as_in)
        slices.update(log)
        slices.log, slices.groups = log, editions_as_in.groups
        return slices
    reviewed = tuple(r["reviewed_on"] for r in std.reviews)
    # The paperwork's days are a function of these: no need to work them out
    # while they stay the same.
    paperwork_of = (std.workflow_status, std.created_on, std.first_submitted_at, zone)
    key = (_catalogue_key(std, paperwork_of), reviewed, review_years)
    groups: dict[tuple, Slices] = {("catalogue", code): _remembered(
        memo, ("catalogue", code), key,
        lambda: _timeline_slices(std, std.paperwork(zone), reviewed, review_years))}
    earlier = editions_as_in.groups if isinstance(editions_as_in, StandardSlices) else {}
    for e in std.editions:
        slot = ("edition", code, e.year)
        group = earlier.get(slot)
        if group is None:
            # Most events leave an edition as it was (a draft edited beside it):
            # a copy of its fields, compared at C speed, says so.
            group = _remembered(memo, slot, (e.as_dict(),), partial(_edition_slices, code, e, zone))
        groups[slot] = group
    slices = StandardSlices(log)
    for group in groups.values():
        slices.update(group)
    slices.log, slices.groups = log, groups
    return slices


def _edition_slices(code: str, e: Edition, zone: tzinfo) -> Slices:
    """What one edition puts in the tables: itself, its references, the
    paperwork an emergency approval owes, its files."""
    slices: Slices = {("edition_states", (code, e.year)): (Doc(_edition_doc(e, zone)),)}
    slices.update(_reference_slices(code, e))
    if e.emergency:
        owed_until = e.paperwork_completed_on or LAST_DAY
        slices[("paperwork_due", (code, e.year))] = (
            iso_day(e.approved_on), iso_day(owed_until), iso_day(e.paperwork_due))
    for name, f in e.files.items():
        slices[("edition_files", (code, e.year, name))] = (f["media_type"], f["size"], f["sha256"])
    return slices


def _edition_doc(edition: Edition, zone: tzinfo) -> dict[str, Any]:
    """The edition, whole; an amendment's record times as days in the office's calendar."""
    doc = edition.as_dict()
    for a in doc["amendments"]:
        for moment, day in (("opened_at", "opened_on"), ("dropped_at", "dropped_on")):
            at = a.pop(moment)
            a[day] = iso_day(at.astimezone(zone).date()) if at is not None else None
    return doc


def _remembered(memo: dict | None, slot: tuple, key: tuple, compute: Callable[[], Slices]) -> Slices:
    if memo is None:
        return compute()
    found = memo.get(slot)
    if found is not None and found[0] == key:
        return found[1]
    value = compute()
    memo[slot] = (key, value)
    return value


def _catalogue_key(std: Standard, paperwork: tuple) -> tuple:
    about = std.draft
    return (std.category, paperwork, std.withdrawn_on,
            (about.title, about.level) if about is not None else None,
            tuple((e.year, e.approved_on, e.issued_on, e.effective_on, e.trial, e.superseded_on,
                   e.withdrawn_on, e.title, e.level, e.review_years) for e in std.editions))


def _timeline_slices(std: Standard, paperwork: Paperwork, reviewed: tuple[date, ...],
                     review_years: int) -> Slices:
    """What follows from the editions' dates over valid time: the status
    intervals (lifecycle.status) with the title and level of the edition (or
    draft) each speaks of; the review clock (lifecycle.reviews); and the days
    the standard changed for those who cite it."""
    out: Slices = {}
    timeline = status_timeline(std.editions, paperwork)
    for interval in timeline:
        shown = std.edition(interval.edition_year) if interval.edition_year is not None else None
        about = shown or std.draft or std.editions[-1]
        out[("catalogue_states", (std.code, iso_day(interval.valid_from)))] = (
            iso_day(interval.valid_to), std.category, interval.status, interval.edition_year,
            about.level, about.title,
        )
    for seg in reviews.review_clock(timeline, std.editions, reviewed, review_years):
        out[("review_clock", (std.code, iso_day(seg.valid_from)))] = (
            iso_day(seg.valid_to), seg.year, iso_day(seg.clock_from), iso_day(seg.due_on))
    for change in reviews.changes(std.editions, std.withdrawn_on):
        out[("standard_changes", (std.code, iso_day(change.day)))] = (change.kind, change.year)
    return out


def _reference_slices(code: str, edition: Edition) -> Slices:
    """An edition's normative references, parsed (lifecycle.references), in
    valid time: its own list from its approval, then each list an approved
    amendment gives, from that amendment's effective day."""
    amended = sorted((a["effective_on"], a["references"]) for a in edition.amendments
                     if a["status"] == "approved" and a["references"] is not None)
    lists = [(edition.approved_on, edition.references), *amended]
    out: Slices = {}
    for (since, texts), until in zip(lists, [*(d for d, _ in lists[1:]), LAST_DAY], strict=True):
        if since >= until:
            continue  # replaced on the day it began
        for seq, text in enumerate(texts):
            ref = references.parse(text)
            out[("edition_references", (code, edition.year, seq, iso_day(since)))] = (
                iso_day(until), ref.text, ref.kind, int(ref.dated), ref.code, ref.year,
                iso_day(edition.effective_on))
    return out


def user_row(user: User) -> tuple[Any, ...]:
    return (user.name, ",".join(r.value for r in user.roles), user.token_hash, user.version)


def subscription_row(sub: Subscription) -> tuple[Any, ...]:
    """The subscriptions row: a pure function of the aggregate (times from its
    events), so a rebuild writes the same bytes."""
    def listed(values: list[str] | None) -> str | None:
        return dumps(values) if values is not None else None

    return (str(sub.id), sub.url, listed(sub.types), listed(sub.categories), sub.description, sub.state,
            sub.state_reason, sub.state_by, record_time(sub.created_on), sub.created_by,
            record_time(sub.modified_on), sub.version)


def rows_of(std: Standard, zone: tzinfo, day: date, memo: dict | None = None,
            review_years: int = DEFAULT_REVIEW_YEARS) -> StandardRows:
    """The StandardRows the tables would give for this aggregate now, on `day`
    (None if it did not exist yet): how a replay is compared with the tables."""
    slices = standard_slices(std, zone, memo, review_years)
    version, stage, doc = slices[("standard_log", (std.code,))]
    doc = json.loads(dumps(doc))
    editions = {identity[1]: json.loads(dumps(payload[0])) for (table, identity), payload in slices.items()
                if table == "edition_states"}
    state = None
    for (table, identity), payload in slices.items():
        if table == "catalogue_states" and identity[1] <= day.isoformat() < payload[0]:
            state = payload[2:]
    return StandardRows(std.code, version, stage, doc, editions,
                        tuple(state) if state is not None else None)
