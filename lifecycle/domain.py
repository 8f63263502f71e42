"""The Standard aggregate: one standard number (JGSW05001) across its editions.

Every change is an event carrying who did it (`actor`) and, where given, why
(`reason`). Commands check the transition table (workflow.py, read from the
command registry) and the domain's rules, then trigger their events; `apply`
only changes state, so replaying the log rebuilds exactly what was decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, tzinfo
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from lifecycle import files, numbering, workflow
from lifecycle.errors import Conflict, Forbidden, InvalidInput, NotFound
from lifecycle.status import Paperwork, StandardStatus, standard_status
from lifecycle.vocabulary import ReviewOutcome, Stage

__all__ = ["CONTENT_FIELDS", "LEVELS", "LEVEL_LABELS", "NAMESPACE", "Draft", "Edition", "FileRef",
           "ReviewOutcome", "Standard", "standard_id"]

NAMESPACE = uuid5(NAMESPACE_URL, "urn:jgsw:standards")

LEVELS = ("basic", "category", "item", "other")
LEVEL_LABELS = {"basic": "基础通用", "category": "分类", "item": "分项", "other": "其他"}


def standard_id(code: numbering.StandardCode | str) -> UUID:
    """A standard's aggregate id is a function of its number, so a number can
    be drafted once only: a second draft collides in the event store."""
    return uuid5(NAMESPACE, str(code))


def default_level(code: numbering.StandardCode) -> str:
    """JGSW01002 §2.2: category 01 is the basic layer, sub-item 000 the
    category standard, the rest sub-item standards."""
    if code.category == "01":
        return "basic"
    return "category" if code.sub_item == "000" else "item"


@dataclass(kw_only=True)
class Content:
    """What a draft says and its approved edition keeps: the fields a drafter writes."""

    title: str
    level: str
    kind: str | None = None
    owner_department: str | None = None
    drafting_units: list[str] = field(default_factory=list)
    summary: str | None = None

    def content(self) -> dict[str, Any]:
        """A copy of the content fields (lists copied, so the copy never changes with this)."""
        return {name: list(v) if isinstance(v := getattr(self, name), list) else v
                for name in CONTENT_FIELDS}


CONTENT_FIELDS = tuple(f.name for f in fields(Content))

# A file of a draft or edition: {"media_type": …, "size": …, "sha256": …}, by
# name. Replaced whole, never changed in place, so a shallow copy of the
# mapping is a copy that never changes with the aggregate.
FileRef = dict[str, Any]


@dataclass(kw_only=True)
class Draft(Content):
    """The open draft: a new standard's first edition, or a revision."""

    stage: str = "draft"  # draft | under_review
    drafted_by: str = ""
    edited_by: list[str] = field(default_factory=list)
    revision_of: int | None = None  # the year of the edition being revised
    comments: list[str] = field(default_factory=list)
    files: dict[str, FileRef] = field(default_factory=dict)

    def edited(self, actor: str) -> None:
        """Whoever changes a draft (its fields or its files) may not approve it."""
        if actor != self.drafted_by and actor not in self.edited_by:
            self.edited_by.append(actor)

    @property
    def contributors(self) -> set[str]:
        return {self.drafted_by, *self.edited_by}


@dataclass(kw_only=True)
class Edition(Content):
    """An approved edition: it has its year code from the approval date."""

    year: int
    approved_on: date
    approved_by: str
    drafted_by: str
    issued_on: date | None = None
    effective_on: date | None = None
    trial: bool = False
    issued_by: str | None = None
    withdrawn_on: date | None = None
    withdrawal_reason: str | None = None
    superseded_on: date | None = None
    replaces: int | None = None
    replaced_by: int | None = None
    files: dict[str, FileRef] = field(default_factory=dict)  # bound by the approval, never changed

    def as_dict(self) -> dict[str, Any]:
        """A plain copy (dataclasses.asdict deep-copies, which rebuilds feel)."""
        return {**vars(self), "drafting_units": list(self.drafting_units), "files": dict(self.files)}


class Standard(Aggregate):
    # ------------------------------------------------------------- events
    class Event(Aggregate.Event):
        """Every event of a standard says who (`actor`) and, where given, why."""

        actor: str
        reason: str | None

    class Drafted(Event, Aggregate.Created):
        code: str
        category: str
        sub_item: str
        fields: dict[str, Any]

    class DraftEdited(Event):
        changes: dict[str, Any]

        def apply(self, standard: Standard) -> None:
            draft = standard.draft
            assert draft is not None
            for name, value in self.changes.items():
                setattr(draft, name, list(value) if name == "drafting_units" else value)
            draft.edited(self.actor)

    class FileAttached(Event):
        """A file put on the open draft, or replacing the draft's file of that name."""

        name: str
        media_type: str
        size: int
        sha256: str

        def apply(self, standard: Standard) -> None:
            draft = standard.draft
            assert draft is not None
            draft.files = {**draft.files, self.name: {"media_type": self.media_type, "size": self.size,
                                                      "sha256": self.sha256}}
            draft.edited(self.actor)

    class FileRemoved(Event):
        name: str

        def apply(self, standard: Standard) -> None:
            draft = standard.draft
            assert draft is not None
            draft.files = {n: f for n, f in draft.files.items() if n != self.name}
            draft.edited(self.actor)

    class Submitted(Event):
        def apply(self, standard: Standard) -> None:
            assert standard.draft is not None
            standard.draft.stage = "under_review"
            if not standard.editions:
                standard.first_submitted_at = self.timestamp

    class ChangesRequested(Event):
        def apply(self, standard: Standard) -> None:
            assert standard.draft is not None
            standard.draft.stage = "draft"
            if self.reason:
                standard.draft.comments.append(self.reason)

    class Approved(Event):
        """The approval binds the draft's files: their hashes are in the event,
        so the chain and the approver's signature cover the bytes."""

        class_version = 2
        approved_on: date
        year: int
        files: dict[str, FileRef]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["files"] = {}  # drafts had no files before version 2

        def apply(self, standard: Standard) -> None:
            d = standard.draft
            assert d is not None
            standard.editions.append(Edition(**d.content(), year=self.year, approved_on=self.approved_on,
                                             approved_by=self.actor, drafted_by=d.drafted_by,
                                             files=dict(self.files)))
            standard.draft = None

    class Issued(Event):
        year: int
        issued_on: date
        effective_on: date
        trial: bool

        def apply(self, standard: Standard) -> None:
            edition = standard.edition(self.year)
            edition.issued_on = self.issued_on
            edition.effective_on = self.effective_on
            edition.trial = self.trial
            edition.issued_by = self.actor
            previous = standard.last_issued(before=self.year)
            if previous is not None:
                edition.replaces = previous.year
                previous.replaced_by = edition.year
                previous.superseded_on = self.effective_on

    class RevisionOpened(Event):
        title: str | None

        def apply(self, standard: Standard) -> None:
            base = standard.last_issued()
            assert base is not None
            # The revision starts with the files of the edition it revises (the
            # same hashes: no bytes are copied).
            standard.draft = Draft(**{**base.content(), "title": self.title or base.title},
                                   drafted_by=self.actor, revision_of=base.year, files=dict(base.files))

    class Withdrawn(Event):
        withdrawn_on: date

        def apply(self, standard: Standard) -> None:
            standard.withdrawn_on = self.withdrawn_on
            standard.draft = None  # an open revision is abandoned with the standard
            for e in standard.editions:
                if e.issued_on is None:
                    continue
                if e.superseded_on is None or e.superseded_on > self.withdrawn_on:
                    e.withdrawn_on = self.withdrawn_on
                    e.withdrawal_reason = self.reason

    class Reviewed(Event):
        reviewed_on: date
        outcome: ReviewOutcome

        def apply(self, standard: Standard) -> None:
            standard.reviews.append(
                {"reviewed_on": self.reviewed_on, "outcome": self.outcome.value,
                 "by": self.actor, "reason": self.reason}
            )

    # ------------------------------------------------------------- state
    def __init__(self, code: str, category: str, sub_item: str, fields: dict[str, Any],
                 actor: str, reason: str | None) -> None:
        self.code = code
        self.category = category
        self.sub_item = sub_item
        self.editions: list[Edition] = []
        self.draft: Draft | None = Draft(**_draft_fields(fields), drafted_by=actor)
        self.withdrawn_on: date | None = None
        self.reviews: list[dict[str, Any]] = []
        self.first_submitted_at: datetime | None = None

    @classmethod
    def create(cls, code: numbering.StandardCode, fields: dict[str, Any], actor: str,
               reason: str | None = None) -> Standard:
        fields = dict(fields)
        fields.setdefault("level", None)
        if fields["level"] is None:
            fields["level"] = default_level(code)
        _check_fields(fields)
        return cls._create(
            cls.Drafted, id=standard_id(code), code=str(code), category=code.category,
            sub_item=code.sub_item, fields=fields, actor=actor, reason=reason,
        )

    # ------------------------------------------------------------- queries
    @property
    def stage(self) -> Stage:
        if self.withdrawn_on is not None:
            return Stage.WITHDRAWN
        issued = self.last_issued() is not None
        pending = self.editions and self.editions[-1].issued_on is None
        if self.draft is not None:
            if self.draft.stage == "under_review":
                return Stage.REVISION_UNDER_REVIEW if issued else Stage.UNDER_REVIEW
            return Stage.REVISION_DRAFT if issued else Stage.DRAFT
        if pending:
            return Stage.REVISION_APPROVED if issued else Stage.APPROVED
        return Stage.ISSUED

    @property
    def workflow_status(self) -> str:
        """Where the paperwork of the first edition stands, before any issue."""
        if self.editions:
            return "approved"
        assert self.draft is not None
        return self.draft.stage

    def paperwork(self, zone: tzinfo) -> Paperwork:
        """The first edition's drafting and submission, as days in `zone`."""
        return Paperwork(
            workflow_status=self.workflow_status,
            drafted_on=self.created_on.astimezone(zone).date(),
            submitted_on=(self.first_submitted_at.astimezone(zone).date()
                          if self.first_submitted_at is not None else None),
        )

    def status(self, day: date, zone: tzinfo | None = None) -> StandardStatus | None:
        paperwork = self.paperwork(zone) if zone is not None else self.workflow_status
        return standard_status(self.editions, paperwork, day)

    def edition(self, year: int) -> Edition:
        for e in self.editions:
            if e.year == year:
                return e
        raise KeyError(year)

    def last_issued(self, before: int | None = None) -> Edition | None:
        issued = [e for e in self.editions
                  if e.issued_on is not None and (before is None or e.year < before)]
        return issued[-1] if issued else None

    # ------------------------------------------------------------- commands
    def edit_draft(self, changes: dict[str, Any], actor: str, reason: str | None = None) -> None:
        workflow.check("edit_draft", self.stage, self.code)
        assert self.draft is not None
        unknown = set(changes) - set(CONTENT_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "not a field of a draft")
        _check_fields({**self.draft.content(), **changes})
        self.trigger_event(self.DraftEdited, changes=dict(changes), actor=actor, reason=reason)

    def attach_file(self, name: str, media_type: str, size: int, sha256: str, actor: str,
                    reason: str | None = None) -> None:
        """Put a file on the open draft (an edit: its sender may not approve the draft)."""
        workflow.check("attach_file", self.stage, self.code)
        files.check_name(name)
        files.check_media_type(media_type)
        if size < 1:
            raise InvalidInput("body", "a file must not be empty")
        self.trigger_event(self.FileAttached, name=name, media_type=media_type, size=size,
                           sha256=sha256, actor=actor, reason=reason)

    def remove_file(self, name: str, actor: str, reason: str | None = None) -> None:
        workflow.check("remove_file", self.stage, self.code)
        assert self.draft is not None
        if name not in self.draft.files:
            raise NotFound(f"the draft of {self.code} has no file {name!r}", code=self.code,
                           files=sorted(self.draft.files))
        self.trigger_event(self.FileRemoved, name=name, actor=actor, reason=reason)

    def submit(self, actor: str, reason: str | None = None) -> None:
        workflow.check("submit", self.stage, self.code)
        self.trigger_event(self.Submitted, actor=actor, reason=reason)

    def request_changes(self, actor: str, reason: str) -> None:
        workflow.check("request_changes", self.stage, self.code)
        _require_reason(reason)
        self.trigger_event(self.ChangesRequested, actor=actor, reason=reason)

    def approve(self, approved_on: date, today: date, actor: str,
                reason: str | None = None) -> None:
        workflow.check("approve", self.stage, self.code)
        assert self.draft is not None
        if approved_on > today:
            raise InvalidInput("approved_on", f"{approved_on} is in the future (today is {today})")
        if actor in self.draft.contributors:
            raise Forbidden(
                f"{actor} drafted or edited this draft of {self.code} and may not approve it",
                rule="no-self-approval",
            )
        year = approved_on.year
        if self.editions and year <= self.editions[-1].year:
            last = self.editions[-1]
            taken = numbering.parse_code(self.code).edition(last.year)
            raise Conflict(
                f"{self.code} already has edition {taken} approved on {last.approved_on}; "
                f"the year code is the approval year, so a new edition must be approved "
                f"in {last.year + 1} or later",
                number=str(taken),
            )
        self.trigger_event(self.Approved, approved_on=approved_on, year=year,
                           files=dict(self.draft.files), actor=actor, reason=reason)

    def publish(self, issued_on: date, effective_on: date, trial: bool, actor: str,
                reason: str | None = None) -> None:
        workflow.check("publish", self.stage, self.code)
        edition = self.editions[-1]
        if issued_on < edition.approved_on:
            raise InvalidInput("issued_on", f"{issued_on} is before the approval on {edition.approved_on}")
        if effective_on < issued_on:
            raise InvalidInput("effective_on", f"{effective_on} is before the issue date {issued_on}")
        previous = self.last_issued()
        if previous is not None and previous.effective_on is not None \
                and effective_on <= previous.effective_on:
            raise InvalidInput(
                "effective_on",
                f"{effective_on} is not after {previous.effective_on}, when the edition "
                f"it replaces took effect",
            )
        self.trigger_event(self.Issued, year=edition.year, issued_on=issued_on,
                           effective_on=effective_on, trial=bool(trial), actor=actor, reason=reason)

    def open_revision(self, actor: str, reason: str, title: str | None = None) -> None:
        self._check_revision(reason, title)
        self.trigger_event(self.RevisionOpened, title=title, actor=actor, reason=reason)

    def _check_revision(self, reason: str | None, title: str | None) -> None:
        workflow.check("open_revision", self.stage, self.code)
        _require_reason(reason)
        if title is not None:
            _check_fields({"title": title})

    def withdraw(self, withdrawn_on: date, actor: str, reason: str) -> None:
        self._check_withdrawal(withdrawn_on, reason)
        self.trigger_event(self.Withdrawn, withdrawn_on=withdrawn_on, actor=actor, reason=reason)

    def _check_withdrawal(self, withdrawn_on: date, reason: str | None) -> None:
        workflow.check("withdraw", self.stage, self.code)
        _require_reason(reason)
        last = self.last_issued()
        assert last is not None and last.issued_on is not None
        if withdrawn_on < last.issued_on:
            raise InvalidInput("withdrawn_on", f"{withdrawn_on} is before the issue date {last.issued_on}")

    def review(self, reviewed_on: date, outcome: ReviewOutcome, today: date, actor: str,
               reason: str | None = None) -> None:
        """复审: confirm the edition, or start its revision, or withdraw it."""
        workflow.check("review", self.stage, self.code)
        if reviewed_on > today:
            raise InvalidInput("reviewed_on", f"{reviewed_on} is in the future (today is {today})")
        # Check the consequence first, so a refused review records nothing.
        if outcome is ReviewOutcome.REVISE:
            self._check_revision(reason, None)
        elif outcome is ReviewOutcome.WITHDRAW:
            self._check_withdrawal(reviewed_on, reason)
        self.trigger_event(self.Reviewed, reviewed_on=reviewed_on, outcome=outcome,
                           actor=actor, reason=reason)
        if outcome is ReviewOutcome.REVISE:
            self.open_revision(actor=actor, reason=reason or "")
        elif outcome is ReviewOutcome.WITHDRAW:
            self.withdraw(withdrawn_on=reviewed_on, actor=actor, reason=reason or "")


def _draft_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in fields.items() if k in CONTENT_FIELDS}
    out["drafting_units"] = list(out.get("drafting_units") or [])
    return out


def _check_fields(fields: dict[str, Any]) -> None:
    title = fields.get("title")
    if title is not None and not str(title).strip():
        raise InvalidInput("title", "a title must not be empty")
    level = fields.get("level")
    if level is not None and level not in LEVELS:
        raise InvalidInput("level", f"unknown level {level!r}: one of {', '.join(LEVELS)}")


def _require_reason(reason: str | None) -> None:
    if reason is None or not reason.strip():
        raise InvalidInput("reason", "a reason is required")
