"""The Standard aggregate: one standard number (JGSW05001) across its editions.

Every change is an event carrying who did it (`actor`) and, where given, why
(`reason`). Commands check the transition table (workflow.py, read from the
command registry) and the domain's rules, then trigger their events; `apply`
only changes state, so replaying the log rebuilds exactly what was decided.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from lifecycle import files, numbering, workflow
from lifecycle import references as refs
from lifecycle.errors import Conflict, Forbidden, InvalidInput, NotFound
from lifecycle.status import IN_FORCE, Paperwork, StandardStatus, edition_status, standard_status
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
    references: list[str] = field(default_factory=list)  # normative references (lifecycle/references.py)
    review_years: int | None = None  # periodic review interval; None: LIFECYCLE_REVIEW_YEARS

    def __deepcopy__(self, memo: dict[int, Any]) -> Content:
        return _copied(self)

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
    drafted_by: str = ""  # who drafted the standard, or who opened the revision
    edited_by: list[str] = field(default_factory=list)
    revision_of: int | None = None  # the year of the edition being revised
    comments: list[str] = field(default_factory=list)
    retitled_by_opener: bool = False  # the revision was opened with a new title
    files: dict[str, FileRef] = field(default_factory=dict)

    def edited(self, actor: str) -> None:
        """Whoever changes a draft (its fields or its files) writes its content."""
        if actor not in self.contributors:
            self.edited_by.append(actor)

    @property
    def contributors(self) -> set[str]:
        """Who wrote this draft's content, and so may not approve it: the
        drafter of a new standard, whoever edited it or its files, and the
        opener of a revision who gave it a new title. Opening a revision alone
        (by the command or by a review's outcome) writes nothing."""
        writers = set(self.edited_by)
        if self.revision_of is None or self.retitled_by_opener:
            writers.add(self.drafted_by)
        return writers


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
    # amendment sheets (修改单): dicts, see Standard.AmendmentOpened
    amendments: list[dict[str, Any]] = field(default_factory=list)
    # emergency approval (JGSW01003 §8.5.3): approved first, the paperwork after
    emergency: bool = False
    paperwork_due: date | None = None
    paperwork_completed_on: date | None = None
    paperwork_completed_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A plain copy that never changes with the edition (dataclasses.asdict
        deep-copies everything, which rebuilds feel)."""
        return {name: _copy(value) for name, value in vars(self).items()}

    def amendment(self, n: int) -> dict[str, Any]:
        for a in self.amendments:
            if a["n"] == n:
                return a
        raise NotFound(f"edition {self.year} has no amendment {n}", amendment=n)

    def amendment_number(self, code: str, a: dict[str, Any]) -> str:
        """JGSW05001—2018/XG1—2026: the edition, XG and its sequence, and its approval year."""
        approved_on = a["approved_on"]
        return f"{numbering.parse_code(code).edition(self.year)}/XG{a['n']}{numbering.DASH}{approved_on.year}"


class Standard(Aggregate):
    def __deepcopy__(self, memo: dict[int, Any]) -> Standard:
        # The repository hands out a deep copy of a cached standard to each
        # command: a copy knowing its own shapes takes a fifth of the time.
        return _copied(self)

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
                setattr(draft, name, list(value) if isinstance(value, (list, tuple)) else value)
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

    class ApprovedInEmergency(Approved):
        """紧急批准 (JGSW01003 §8.5.3): approved before any review; the
        paperwork is to be completed by `paperwork_due`."""

        paperwork_due: date

        def apply(self, standard: Standard) -> None:
            super().apply(standard)
            edition = standard.editions[-1]
            edition.emergency = True
            edition.paperwork_due = self.paperwork_due

    class PaperworkCompleted(Event):
        """补办手续: the paperwork of an emergency approval, completed."""

        year: int
        completed_on: date

        def apply(self, standard: Standard) -> None:
            edition = standard.edition(self.year)
            edition.paperwork_completed_on = self.completed_on
            edition.paperwork_completed_by = self.actor

    class AmendmentOpened(Event):
        """修改单 `n` of edition `year`, in draft: the amended clauses, and
        optionally the edition's new reference list."""

        year: int
        n: int
        summary: str
        changes: str
        references: list[str] | None

        def apply(self, standard: Standard) -> None:
            standard.edition(self.year).amendments.append({
                "n": self.n, "summary": self.summary, "changes": self.changes,
                "references": list(self.references) if self.references is not None else None,
                "status": "draft", "drafted_by": self.actor, "opened_at": self.timestamp,
                "approved_on": None, "effective_on": None, "approved_by": None,
                "dropped_at": None, "dropped_by": None, "dropped_reason": None,
            })

    class AmendmentApproved(Event):
        year: int
        n: int
        approved_on: date
        effective_on: date

        def apply(self, standard: Standard) -> None:
            a = standard.edition(self.year).amendment(self.n)
            a.update(status="approved", approved_on=self.approved_on, effective_on=self.effective_on,
                     approved_by=self.actor)

    class AmendmentDropped(Event):
        year: int
        n: int

        def apply(self, standard: Standard) -> None:
            a = standard.edition(self.year).amendment(self.n)
            a.update(status="dropped", dropped_at=self.timestamp, dropped_by=self.actor,
                     dropped_reason=self.reason)

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
            standard.mark_withdrawal()  # a withdrawal already scheduled covers it too

    class RevisionOpened(Event):
        title: str | None

        def apply(self, standard: Standard) -> None:
            base = standard.last_issued()
            assert base is not None
            # The revision starts with the files of the edition it revises (the
            # same hashes: no bytes are copied).
            standard.draft = Draft(**{**base.content(), "title": self.title or base.title},
                                   drafted_by=self.actor, revision_of=base.year,
                                   retitled_by_opener=self.title is not None, files=dict(base.files))

    class Withdrawn(Event):
        """Withdrawn from `withdrawn_on`, or (a later one) the withdrawal
        corrected before its day. An open revision stays until that day."""

        withdrawn_on: date

        def apply(self, standard: Standard) -> None:
            standard.withdrawn_on = self.withdrawn_on
            standard.withdrawal_reason = self.reason
            standard.mark_withdrawal()

    class WithdrawalCancelled(Event):
        """A scheduled withdrawal called off before its day."""

        def apply(self, standard: Standard) -> None:
            standard.withdrawn_on = None
            standard.withdrawal_reason = None
            standard.mark_withdrawal()

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
        self.withdrawal_reason: str | None = None
        self.reviews: list[dict[str, Any]] = []
        self.first_submitted_at: datetime | None = None

    @classmethod
    def create(cls, code: numbering.StandardCode, fields: dict[str, Any], actor: str,
               reason: str | None = None) -> Standard:
        fields = dict(fields)
        fields.setdefault("level", None)
        if fields["level"] is None:
            fields["level"] = default_level(code)
        fields = _check_fields(fields, str(code))
        return cls._create(
            cls.Drafted, id=standard_id(code), code=str(code), category=code.category,
            sub_item=code.sub_item, fields=fields, actor=actor, reason=reason,
        )

    def mark_withdrawal(self) -> None:
        """Each issued edition is withdrawn with the standard unless a successor
        took effect before the withdrawal's day (then it was superseded)."""
        for e in self.editions:
            withdrawn = (self.withdrawn_on is not None and e.issued_on is not None
                         and (e.superseded_on is None or e.superseded_on > self.withdrawn_on))
            e.withdrawn_on = self.withdrawn_on if withdrawn else None
            e.withdrawal_reason = self.withdrawal_reason if withdrawn else None

    # ------------------------------------------------------------- queries
    @property
    def stage(self) -> Stage:
        """The stage once every recorded date has come (a scheduled withdrawal
        counts as done): what the stage will be if nothing else happens."""
        return self.stage_on(date.max)

    def withdrawal_scheduled(self, today: date) -> bool:
        return self.withdrawn_on is not None and self.withdrawn_on > today

    def stage_on(self, today: date) -> Stage:
        """The stage on `today`: a withdrawal counts from its day."""
        if self.withdrawn_on is not None and self.withdrawn_on <= today:
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
    # `today` is the office's calendar day (the service layer gives it). Left
    # out, every recorded date counts as come (a scheduled withdrawal as done).
    def _allow(self, command: str, today: date | None) -> None:
        workflow.check(command, self.stage_on(today or date.max), self.code)

    def edit_draft(self, changes: dict[str, Any], actor: str, reason: str | None = None,
                   today: date | None = None) -> None:
        self._allow("edit_draft", today)
        assert self.draft is not None
        unknown = set(changes) - set(CONTENT_FIELDS)
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "not a field of a draft")
        checked = _check_fields({**self.draft.content(), **changes}, self.code)
        changes = {name: checked[name] for name in changes}  # references in canonical form
        self.trigger_event(self.DraftEdited, changes=changes, actor=actor, reason=reason)

    def attach_file(self, name: str, media_type: str, size: int, sha256: str, actor: str,
                    reason: str | None = None, today: date | None = None) -> None:
        """Put a file on the open draft (an edit: its sender may not approve the draft)."""
        self._allow("attach_file", today)
        files.check_name(name)
        files.check_media_type(media_type)
        if size < 1:
            raise InvalidInput("body", "a file must not be empty")
        self.trigger_event(self.FileAttached, name=name, media_type=media_type, size=size,
                           sha256=sha256, actor=actor, reason=reason)

    def remove_file(self, name: str, actor: str, reason: str | None = None,
                    today: date | None = None) -> None:
        self._allow("remove_file", today)
        assert self.draft is not None
        if name not in self.draft.files:
            raise NotFound(f"the draft of {self.code} has no file {name!r}", code=self.code,
                           files=sorted(self.draft.files))
        self.trigger_event(self.FileRemoved, name=name, actor=actor, reason=reason)

    def submit(self, actor: str, reason: str | None = None, today: date | None = None) -> None:
        self._allow("submit", today)
        self.trigger_event(self.Submitted, actor=actor, reason=reason)

    def request_changes(self, actor: str, reason: str, today: date | None = None) -> None:
        self._allow("request_changes", today)
        _require_reason(reason)
        self.trigger_event(self.ChangesRequested, actor=actor, reason=reason)

    def approve(self, approved_on: date, today: date, actor: str,
                reason: str | None = None) -> None:
        self._allow("approve", today)
        self._check_approval(approved_on, today, actor)
        assert self.draft is not None
        self.trigger_event(self.Approved, approved_on=approved_on, year=approved_on.year,
                           files=dict(self.draft.files), actor=actor, reason=reason)

    def approve_in_emergency(self, approved_on: date, paperwork_due: date | None, today: date,
                             actor: str, reason: str | None) -> None:
        """紧急批准: a draft never reviewed, approved first; its paperwork is due
        by `paperwork_due` (default 30 days after approval, at most 90)."""
        self._allow("approve_in_emergency", today)
        _require_reason(reason)
        self._check_approval(approved_on, today, actor)
        due = paperwork_due or approved_on + PAPERWORK_DAYS
        _check_day("paperwork_due", due, earliest=(approved_on, "the approval"))
        if due > approved_on + MAX_PAPERWORK_DAYS:
            raise InvalidInput("paperwork_due", f"{due} is more than {MAX_PAPERWORK_DAYS.days} days after "
                                                f"the approval on {approved_on}")
        assert self.draft is not None
        self.trigger_event(self.ApprovedInEmergency, approved_on=approved_on, year=approved_on.year,
                           files=dict(self.draft.files), paperwork_due=due, actor=actor, reason=reason)

    def _check_approval(self, approved_on: date, today: date, actor: str) -> None:
        assert self.draft is not None
        _check_day("approved_on", approved_on, latest=today)
        if actor in self.draft.contributors:
            raise Forbidden(
                f"{actor} drafted or edited this draft of {self.code} and may not approve it",
                rule="no-self-approval",
            )
        if self.editions and approved_on.year <= self.editions[-1].year:
            last = self.editions[-1]
            taken = numbering.parse_code(self.code).edition(last.year)
            raise Conflict(
                f"{self.code} already has edition {taken} approved on {last.approved_on}; "
                f"the year code is the approval year, so a new edition must be approved "
                f"in {last.year + 1} or later",
                number=str(taken),
            )

    def complete_paperwork(self, year: int, completed_on: date, today: date, actor: str,
                           reason: str | None) -> None:
        """补办手续: someone other than the emergency approver completes it."""
        self._allow("complete_paperwork", today)
        edition = self._edition(year)
        number = self._number(edition)
        if not edition.emergency or edition.paperwork_completed_on is not None:
            done = f"completed on {edition.paperwork_completed_on}" if edition.emergency else "not needed"
            raise Conflict(f"{number} has no paperwork due: it was {done}")
        if actor == edition.approved_by:
            raise Forbidden(f"{actor} approved {number} in an emergency: someone else completes its "
                            "paperwork", rule="no-self-completion")
        _require_reason(reason)
        _check_day("completed_on", completed_on, latest=today,
                   earliest=(edition.approved_on, "the emergency approval"))
        self.trigger_event(self.PaperworkCompleted, year=year, completed_on=completed_on, actor=actor,
                           reason=reason)

    # ------------------------------------------------------------- amendment sheets (修改单)
    def open_amendment(self, year: int, summary: str, changes: str, references: list[str] | None,
                       today: date, actor: str, reason: str | None = None) -> None:
        """Open the next amendment sheet of an edition issued or in force."""
        self._allow("open_amendment", today)
        edition = self._amendable(year, today)
        if any(a["status"] == "draft" for a in edition.amendments):
            open_one = next(a["n"] for a in edition.amendments if a["status"] == "draft")
            raise Conflict(f"{self._number(edition)} already has amendment {open_one} in draft: approve or "
                           "drop it first", amendment=open_one)
        for name, text in (("summary", summary), ("changes", changes)):
            if not text or not text.strip():
                raise InvalidInput(name, f"an amendment needs its {name}")
        if references is not None:
            references = [r.text for r in refs.parse_list(references, self.code)]
        self.trigger_event(self.AmendmentOpened, year=year, n=len(edition.amendments) + 1, summary=summary,
                           changes=changes, references=references, actor=actor, reason=reason)

    def approve_amendment(self, year: int, n: int, approved_on: date, effective_on: date, today: date,
                          actor: str, reason: str | None = None) -> None:
        self._allow("approve_amendment", today)
        edition = self._amendable(year, today)
        a = self._draft_amendment(edition, n)
        if actor == a["drafted_by"]:
            raise Forbidden(f"{actor} drafted amendment {n} of {self._number(edition)} and may not "
                            "approve it", rule="no-self-approval")
        _check_day("approved_on", approved_on, latest=today,
                   earliest=(edition.issued_on or edition.approved_on, "the edition's issue"))
        _check_day("effective_on", effective_on, earliest=(approved_on, "its approval"))
        self.trigger_event(self.AmendmentApproved, year=year, n=n, approved_on=approved_on,
                           effective_on=effective_on, actor=actor, reason=reason)

    def drop_amendment(self, year: int, n: int, today: date, actor: str, reason: str | None) -> None:
        self._allow("drop_amendment", today)
        edition = self._edition(year)
        a = self._draft_amendment(edition, n)
        if actor != a["drafted_by"]:
            raise Forbidden(f"only its drafter ({a['drafted_by']}) drops amendment {n} of "
                            f"{self._number(edition)}", rule="drafter-only")
        _require_reason(reason)
        self.trigger_event(self.AmendmentDropped, year=year, n=n, actor=actor, reason=reason)

    def _edition(self, year: int) -> Edition:
        try:
            return self.edition(year)
        except KeyError:
            raise NotFound(f"{self.code} has no edition {year}",
                           editions=[self._number(e) for e in self.editions]) from None

    def _amendable(self, year: int, today: date) -> Edition:
        """Only an edition issued or in force takes amendments."""
        edition = self._edition(year)
        status = edition_status(edition, today)
        if status not in ("issued", *IN_FORCE):
            raise Conflict(f"{self._number(edition)} is {status} on {today}: only an edition issued or in "
                           "force takes amendment sheets", edition_status=status)
        return edition

    def _draft_amendment(self, edition: Edition, n: int) -> dict[str, Any]:
        a = edition.amendment(n)
        if a["status"] != "draft":
            raise Conflict(f"amendment {n} of {self._number(edition)} is {a['status']}, not in draft",
                           amendment_status=a["status"])
        return a

    def publish(self, issued_on: date, effective_on: date, trial: bool, actor: str,
                reason: str | None = None, today: date | None = None) -> None:
        self._allow("publish", today)
        edition = self.editions[-1]
        _check_day("issued_on", issued_on, earliest=(edition.approved_on, "the approval"))
        _check_day("effective_on", effective_on, earliest=(issued_on, "the issue date"))
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

    def open_revision(self, actor: str, reason: str, title: str | None = None,
                      today: date | None = None) -> None:
        self._check_revision(reason, title, today)
        self.trigger_event(self.RevisionOpened, title=title, actor=actor, reason=reason)

    def _check_revision(self, reason: str | None, title: str | None, today: date | None) -> None:
        self._allow("open_revision", today)
        _require_reason(reason)
        if title is not None:
            _check_fields({"title": title}, self.code)

    def withdraw(self, withdrawn_on: date, actor: str, reason: str, today: date | None = None) -> None:
        """废止 from `withdrawn_on`; a day still to come schedules it (and a
        second withdrawal before that day corrects it)."""
        self._check_withdrawal("withdrawn_on", withdrawn_on, reason, today)
        self.trigger_event(self.Withdrawn, withdrawn_on=withdrawn_on, actor=actor, reason=reason)

    def _check_withdrawal(self, field: str, day: date, reason: str | None, today: date | None) -> None:
        self._allow("withdraw", today)
        _require_reason(reason)
        last = self.last_issued()
        assert last is not None and last.issued_on is not None
        _check_day(field, day, earliest=(last.issued_on, f"the issue of {self._number(last)}"))

    def cancel_withdrawal(self, actor: str, reason: str, today: date) -> None:
        """Call off a withdrawal whose day has not come."""
        self._allow("cancel_withdrawal", today)
        _require_reason(reason)
        if not self.withdrawal_scheduled(today):
            raise Conflict(f"{self.code} has no withdrawal scheduled after today ({today}) to cancel")
        self.trigger_event(self.WithdrawalCancelled, actor=actor, reason=reason)

    def review(self, reviewed_on: date, outcome: ReviewOutcome, today: date, actor: str,
               reason: str | None = None) -> None:
        """复审: confirm the edition, or start its revision, or withdraw it."""
        self._allow("review", today)
        last = self.last_issued()
        assert last is not None and last.issued_on is not None
        _check_day("reviewed_on", reviewed_on, latest=today,
                   earliest=(last.issued_on, f"the issue of {self._number(last)}"))
        # Check the consequence first, so a refused review records nothing.
        if outcome is ReviewOutcome.REVISE:
            self._check_revision(reason, None, today)
        elif outcome is ReviewOutcome.WITHDRAW:
            self._check_withdrawal("reviewed_on", reviewed_on, reason, today)
        self.trigger_event(self.Reviewed, reviewed_on=reviewed_on, outcome=outcome,
                           actor=actor, reason=reason)
        if outcome is ReviewOutcome.REVISE:
            self.open_revision(actor=actor, reason=reason or "", today=today)
        elif outcome is ReviewOutcome.WITHDRAW:
            self.withdraw(withdrawn_on=reviewed_on, actor=actor, reason=reason or "", today=today)

    def _number(self, edition: Edition) -> str:
        return str(numbering.parse_code(self.code).edition(edition.year))


# What a standard's state holds that never changes in place: shared, not copied.
_IMMUTABLE = frozenset({str, int, bool, float, type(None), date, datetime, UUID, ReviewOutcome})


def _deep(value: Any) -> Any:
    """A deep copy of a value of a standard's state: lists and dicts rebuilt,
    immutable values shared, anything else left to copy.deepcopy."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is list:
        return [_deep(x) for x in value]
    if kind is dict:
        return {k: _deep(x) for k, x in value.items()}
    if isinstance(value, Content):
        return _copied(value)
    return copy.deepcopy(value)


def _copied(obj: Any) -> Any:
    new = object.__new__(type(obj))
    new.__dict__.update({k: _deep(v) for k, v in vars(obj).items()})
    return new


def _copy(value: Any) -> Any:
    """Lists and dicts, and the dicts in them, copied: a copy never changes with the original."""
    if isinstance(value, list):
        return [dict(x) if isinstance(x, dict) else x for x in value]
    if isinstance(value, dict):
        return {k: dict(x) if isinstance(x, dict) else x for k, x in value.items()}
    return value


def _draft_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in fields.items() if k in CONTENT_FIELDS}
    for name in ("drafting_units", "references"):
        out[name] = list(out.get(name) or [])
    return out


PAPERWORK_DAYS = timedelta(days=30)      # an emergency approval's paperwork is due by default
MAX_PAPERWORK_DAYS = timedelta(days=90)  # and at the latest
REVIEW_YEARS = range(1, 6)  # China's Standardization Law: reviewed at most every five years


def _check_fields(fields: dict[str, Any], code: str) -> dict[str, Any]:
    """The content rules; returns the fields with references in canonical form."""
    title = fields.get("title")
    if title is not None and not str(title).strip():
        raise InvalidInput("title", "a title must not be empty")
    level = fields.get("level")
    if level is not None and level not in LEVELS:
        raise InvalidInput("level", f"unknown level {level!r}: one of {', '.join(LEVELS)}")
    years = fields.get("review_years")
    if years is not None and (isinstance(years, bool) or years not in REVIEW_YEARS):
        raise InvalidInput("review_years", f"{years!r}: a standard is reviewed every 1 to 5 years")
    if fields.get("references"):
        fields = {**fields, "references": [r.text for r in refs.parse_list(fields["references"], code)]}
    return fields


def _check_day(field: str, day: date, *, latest: date | None = None,
               earliest: tuple[date, str] | None = None) -> None:
    """A date a command takes: within the years the numbering rules accept,
    not in the future where `latest` is today, and not before `earliest`
    (the lifecycle's order: issued not before approved, and so on)."""
    if not numbering.FIRST_DAY <= day <= numbering.LAST_DAY:
        raise InvalidInput(field, f"{day} is outside {numbering.FIRST_DAY} … {numbering.LAST_DAY}, "
                                  "the years a standard number can carry (JGSW01001 §4.4)")
    if latest is not None and day > latest:
        raise InvalidInput(field, f"{day} is in the future (today is {latest})")
    if earliest is not None and day < earliest[0]:
        raise InvalidInput(field, f"{day} is before {earliest[1]} on {earliest[0]}")


def _require_reason(reason: str | None) -> None:
    if reason is None or not reason.strip():
        raise InvalidInput("reason", "a reason is required")
