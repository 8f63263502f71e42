"""Every command of the register, declared once.

A command is plain data (a frozen dataclass) sent by one person. Its
declaration says everything else the system needs to know about it: the
stages of a standard it may start from, the roles that may send it, its name
in English and in Chinese, the event it records and what signing it means,
and (its `run` method) the domain method it calls. The transition table
(workflow.TRANSITIONS), the permission table (users.PERMISSIONS), the API's
role checks and the audit log's words are all read from REGISTRY.

To add a command: declare it here with @declare, give its aggregate the
method `run` calls, and give it a route (api/) if people send it over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

from lifecycle.files import Staged
from lifecycle.numbering import StandardCode
from lifecycle.vocabulary import ReviewOutcome, Role, Stage

if TYPE_CHECKING:
    from lifecycle.domain import Standard
    from lifecycle.subscriptions import Subscription

S = Stage
DRAFTS = frozenset({S.DRAFT, S.REVISION_DRAFT})
UNDER_REVIEW = frozenset({S.UNDER_REVIEW, S.REVISION_UNDER_REVIEW})
APPROVED = frozenset({S.APPROVED, S.REVISION_APPROVED})
REVISING = frozenset({S.REVISION_DRAFT, S.REVISION_UNDER_REVIEW, S.REVISION_APPROVED})
HAS_ISSUED = frozenset({S.ISSUED, *REVISING})          # an edition has been issued
HAS_EDITION = frozenset({*APPROVED, *HAS_ISSUED})      # an edition has been approved


@dataclass(frozen=True)
class Spec:
    """What the system knows about one command."""

    name: str                   # stable identifier: "approve"
    word: str                   # in English messages: "cannot approve JGSW05001 …"
    label: str                  # 批准: in the audit log and on pages
    roles: frozenset[Role]      # who may send it
    stages: frozenset[Stage]    # where it may start from; empty: it creates its aggregate
    records: str                # the event type it records, as the audit log names it
    signature: str | None       # what signing it means (21 CFR Part 11 §11.50), if it is a signature
    command: type[Command]


REGISTRY: dict[str, Spec] = {}

C = TypeVar("C", bound="type[Command]")


def declare(*, name: str, word: str, label: str, roles: Iterable[Role], records: str,
            stages: Iterable[Stage] = (), signature: str | None = None) -> Callable[[C], C]:
    """Class decorator: put a command in the registry."""
    def register(cls: C) -> C:
        if name in REGISTRY:
            raise ValueError(f"command {name!r} declared twice")
        spec = Spec(name, word, label, frozenset(roles), frozenset(stages), records, signature, cls)
        REGISTRY[name] = spec
        cls.spec = spec
        return cls
    return register


@dataclass(frozen=True)
class Context:
    """What the service layer knows that a command does not say."""

    today: date  # in the office's calendar (LIFECYCLE_TIMEZONE)
    log_position: int = 0  # the last position of the log, for commands that name one


@dataclass(frozen=True, kw_only=True)
class Command:
    spec: ClassVar[Spec]
    actor: str                  # who sends it (from their token, never from the body)
    reason: str | None = None   # why: kept on the event

    def cited(self) -> list[str] | None:
        """The normative references this command writes, if any: the service
        layer checks that the standards and editions they name exist."""
        return None


@dataclass(frozen=True, kw_only=True)
class StandardCommand(Command):
    """A command on an existing standard, at the version its sender last read."""

    code: StandardCode
    expected_version: int | None  # from If-Match; None for `If-Match: *`

    def run(self, standard: Standard, ctx: Context) -> None:
        raise NotImplementedError

    def contents(self) -> Sequence[Staged]:
        """Bytes to store with the command's events, in the same transaction."""
        return ()


@dataclass(frozen=True, kw_only=True)
class UserCommand(Command):
    name: str


# ---------------------------------------------------------------- standards
@declare(name="draft", word="draft", label="起草", roles={Role.DRAFTER}, records="standard.drafted")
@dataclass(frozen=True, kw_only=True)
class DraftStandard(Command):
    """Draft a new standard; without `sub_item`, the next free one (顺延编号)."""

    category: str
    fields: dict[str, Any] = field(default_factory=dict)  # title, level, kind, …
    sub_item: str | None = None

    def cited(self) -> list[str] | None:
        return self.fields.get("references")


@declare(name="edit_draft", word="edit the draft", label="修改草案", roles={Role.DRAFTER},
         stages=DRAFTS, records="standard.draft_edited")
@dataclass(frozen=True, kw_only=True)
class EditDraft(StandardCommand):
    """Edit the open draft."""

    changes: dict[str, Any]

    def cited(self) -> list[str] | None:
        return self.changes.get("references")

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.edit_draft(self.changes, self.actor, self.reason, today=ctx.today)


@declare(name="attach_file", word="attach a file to", label="附加文件", roles={Role.DRAFTER},
         stages=DRAFTS, records="standard.file_attached")
@dataclass(frozen=True, kw_only=True)
class AttachFile(StandardCommand):
    """Attach a file to the open draft, or replace its file of that name."""

    name: str
    content: Staged  # the bytes, hashed and counted (media type, size, SHA-256)

    def run(self, standard: Standard, ctx: Context) -> None:
        c = self.content
        standard.attach_file(self.name, c.media_type, c.size, c.sha256, self.actor, self.reason,
                             today=ctx.today)

    def contents(self) -> Sequence[Staged]:
        return (self.content,)


@declare(name="remove_file", word="remove a file from", label="删除文件", roles={Role.DRAFTER},
         stages=DRAFTS, records="standard.file_removed")
@dataclass(frozen=True, kw_only=True)
class RemoveFile(StandardCommand):
    """Remove a file from the open draft."""

    name: str

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.remove_file(self.name, self.actor, self.reason, today=ctx.today)


@declare(name="submit", word="submit", label="送审", roles={Role.DRAFTER}, stages=DRAFTS,
         records="standard.submitted")
@dataclass(frozen=True, kw_only=True)
class Submit(StandardCommand):
    """Submit the open draft for review (送审)."""

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.submit(self.actor, self.reason, today=ctx.today)


@declare(name="request_changes", word="request changes", label="退回修改",
         roles={Role.REVIEWER, Role.APPROVER}, stages=UNDER_REVIEW,
         records="standard.changes_requested", signature="review: changes requested")
@dataclass(frozen=True, kw_only=True)
class RequestChanges(StandardCommand):
    """Send the draft back to the drafter with a comment (退回修改)."""

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.request_changes(self.actor, self.reason or "", today=ctx.today)


@declare(name="approve", word="approve", label="批准", roles={Role.APPROVER}, stages=UNDER_REVIEW,
         records="standard.approved", signature="approval")
@dataclass(frozen=True, kw_only=True)
class Approve(StandardCommand):
    """Approve (批准): the approval date's year becomes the year code."""

    approved_on: date | None = None  # default today

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.approve(self.approved_on or ctx.today, ctx.today, self.actor, self.reason)


@declare(name="approve_in_emergency", word="approve in an emergency", label="紧急批准",
         roles={Role.APPROVER}, stages={*DRAFTS, *UNDER_REVIEW}, records="standard.approved_in_emergency",
         signature="emergency approval")
@dataclass(frozen=True, kw_only=True)
class EmergencyApprove(StandardCommand):
    """紧急批准 (JGSW01003 §8.5.3): approve a draft never submitted for review,
    with a reason; the paperwork is due by `paperwork_due`."""

    approved_on: date | None = None   # default today
    paperwork_due: date | None = None  # default 30 days after approval; at most 90

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.approve_in_emergency(self.approved_on or ctx.today, self.paperwork_due, ctx.today,
                                      self.actor, self.reason)


@declare(name="complete_paperwork", word="complete the paperwork of", label="补办手续",
         roles={Role.REVIEWER, Role.APPROVER}, stages=HAS_EDITION, records="standard.paperwork_completed",
         signature="paperwork completed")
@dataclass(frozen=True, kw_only=True)
class CompletePaperwork(StandardCommand):
    """Complete the paperwork of an emergency approval (补办手续): someone other
    than the emergency approver, with a reason."""

    year: int
    completed_on: date

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.complete_paperwork(self.year, self.completed_on, ctx.today, self.actor, self.reason)


@declare(name="publish", word="issue", label="发布", roles={Role.PUBLISHER}, stages=APPROVED,
         records="standard.issued", signature="issue")
@dataclass(frozen=True, kw_only=True)
class Publish(StandardCommand):
    """Issue (发布) the approved edition: issue date, effective date, trial or formal."""

    issued_on: date
    effective_on: date
    trial: bool = False

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.publish(self.issued_on, self.effective_on, self.trial, self.actor, self.reason,
                         today=ctx.today)


@declare(name="open_revision", word="open a revision", label="修订", roles={Role.DRAFTER},
         stages={S.ISSUED}, records="standard.revision_opened")
@dataclass(frozen=True, kw_only=True)
class OpenRevision(StandardCommand):
    """Open a revision draft (修订); the edition in force stays in force."""

    title: str | None = None

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.open_revision(self.actor, self.reason or "", self.title, today=ctx.today)


@declare(name="withdraw", word="withdraw", label="废止", roles={Role.APPROVER},
         stages={S.ISSUED, *REVISING}, records="standard.withdrawn", signature="withdrawal")
@dataclass(frozen=True, kw_only=True)
class Withdraw(StandardCommand):
    """Withdraw (废止) the standard from a date, with a reason.

    A date after today schedules the withdrawal: until that day the standard
    stays in force and takes revisions and reviews, and withdrawing it again
    corrects the date and reason."""

    withdrawn_on: date

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.withdraw(self.withdrawn_on, self.actor, self.reason or "", today=ctx.today)


@declare(name="cancel_withdrawal", word="cancel the withdrawal of", label="撤销废止", roles={Role.APPROVER},
         stages={S.ISSUED, *REVISING}, records="standard.withdrawal_cancelled",
         signature="withdrawal cancelled")
@dataclass(frozen=True, kw_only=True)
class CancelWithdrawal(StandardCommand):
    """Cancel a scheduled withdrawal (撤销废止) before its day, with a reason."""

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.cancel_withdrawal(self.actor, self.reason or "", ctx.today)


@declare(name="review", word="record a periodic review", label="复审", roles={Role.APPROVER},
         stages={S.ISSUED}, records="standard.reviewed", signature="periodic review")
@dataclass(frozen=True, kw_only=True)
class Review(StandardCommand):
    """Record a periodic review (复审): confirm, revise or withdraw."""

    reviewed_on: date
    outcome: ReviewOutcome

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.review(self.reviewed_on, self.outcome, ctx.today, self.actor, self.reason)


# ---------------------------------------------------------------- amendment sheets (修改单)
@declare(name="open_amendment", word="open an amendment sheet of", label="起草修改单", roles={Role.DRAFTER},
         stages=HAS_ISSUED, records="standard.amendment_opened")
@dataclass(frozen=True, kw_only=True)
class OpenAmendment(StandardCommand):
    """Open the next amendment sheet (修改单) of an edition issued or in force.

    `summary` and `changes` (the amended clauses) are required; `references`,
    if given, is the edition's new reference list from the amendment's
    effective day. One amendment per edition is in draft at a time."""

    year: int
    summary: str
    changes: str
    references: list[str] | None = None

    def cited(self) -> list[str] | None:
        return self.references

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.open_amendment(self.year, self.summary, self.changes, self.references, ctx.today,
                                self.actor, self.reason)


@declare(name="approve_amendment", word="approve an amendment sheet of", label="批准修改单",
         roles={Role.APPROVER}, stages=HAS_ISSUED, records="standard.amendment_approved",
         signature="amendment approval")
@dataclass(frozen=True, kw_only=True)
class ApproveAmendment(StandardCommand):
    """Approve an amendment sheet (never its drafter): its number becomes
    JGSW05001—2018/XG1—2026, the year of approval; in force from `effective_on`."""

    year: int
    n: int
    approved_on: date | None = None  # default today
    effective_on: date | None = None  # default the approval day

    def run(self, standard: Standard, ctx: Context) -> None:
        approved_on = self.approved_on or ctx.today
        standard.approve_amendment(self.year, self.n, approved_on, self.effective_on or approved_on,
                                   ctx.today, self.actor, self.reason)


@declare(name="drop_amendment", word="drop an amendment sheet of", label="撤销修改单", roles={Role.DRAFTER},
         stages=HAS_ISSUED, records="standard.amendment_dropped")
@dataclass(frozen=True, kw_only=True)
class DropAmendment(StandardCommand):
    """Drop an amendment sheet in draft (its drafter, with a reason): it stays
    on record as dropped and its number is not reused."""

    year: int
    n: int

    def run(self, standard: Standard, ctx: Context) -> None:
        standard.drop_amendment(self.year, self.n, ctx.today, self.actor, self.reason)


# ---------------------------------------------------------------- users
@declare(name="add_user", word="add a user", label="添加用户", roles={Role.ADMIN},
         records="user.added")
@dataclass(frozen=True, kw_only=True)
class AddUser(UserCommand):
    """Add a user with roles and a token."""

    roles: tuple[Role, ...]
    token_hash: str  # only the SHA-256 of the token is ever stored


@declare(name="revoke_token", word="revoke a token", label="吊销令牌", roles={Role.ADMIN},
         records="user.token_revoked")
@dataclass(frozen=True, kw_only=True)
class RevokeToken(UserCommand):
    """Revoke a user's token at once."""


@declare(name="issue_token", word="issue a new token", label="更换令牌", roles={Role.ADMIN},
         records="user.token_issued")
@dataclass(frozen=True, kw_only=True)
class IssueToken(UserCommand):
    """Give a user a new token; the old one stops working."""

    token_hash: str


# ---------------------------------------------------------------- subscriptions
@dataclass(frozen=True, kw_only=True)
class SubscriptionCommand(Command):
    """A command on an existing subscription (webhooks, lifecycle/subscriptions.py)."""

    subscription_id: UUID

    def run(self, subscription: Subscription, ctx: Context) -> None:
        raise NotImplementedError


@declare(name="subscribe", word="subscribe", label="创建订阅", roles={Role.ADMIN},
         records="subscription.created")
@dataclass(frozen=True, kw_only=True)
class Subscribe(Command):
    """Subscribe a URL to the standards' events; the answer shows the signing secret once."""

    url: str
    types: list[str] | None = None        # CloudEvents types; None: all
    categories: list[str] | None = None   # 01 … 06; None: all
    description: str | None = None
    secret: str = field(repr=False)       # made by the caller, shown once, never in an event


@declare(name="change_subscription", word="change a subscription", label="修改订阅",
         roles={Role.ADMIN}, records="subscription.changed")
@dataclass(frozen=True, kw_only=True)
class ChangeSubscription(SubscriptionCommand):
    """Change a subscription's URL, filters or description."""

    changes: dict[str, Any]

    def run(self, subscription: Subscription, ctx: Context) -> None:
        subscription.change(self.changes, self.actor, self.reason)


@declare(name="pause_subscription", word="pause a subscription", label="暂停订阅",
         roles={Role.ADMIN}, records="subscription.paused")
@dataclass(frozen=True, kw_only=True)
class PauseSubscription(SubscriptionCommand):
    """Pause deliveries; the position is kept."""

    def run(self, subscription: Subscription, ctx: Context) -> None:
        subscription.pause(self.actor, self.reason)


@declare(name="resume_subscription", word="resume a subscription", label="恢复订阅",
         roles={Role.ADMIN}, records="subscription.resumed")
@dataclass(frozen=True, kw_only=True)
class ResumeSubscription(SubscriptionCommand):
    """Resume deliveries from the position kept, at once."""

    def run(self, subscription: Subscription, ctx: Context) -> None:
        subscription.resume(self.actor, self.reason)


@declare(name="replay_subscription", word="replay a subscription", label="重放订阅",
         roles={Role.ADMIN}, records="subscription.replayed")
@dataclass(frozen=True, kw_only=True)
class ReplaySubscription(SubscriptionCommand):
    """Deliver again every matching event from a log position on."""

    from_position: int

    def run(self, subscription: Subscription, ctx: Context) -> None:
        subscription.replay(self.from_position, ctx.log_position, self.actor, self.reason)


@declare(name="delete_subscription", word="delete a subscription", label="删除订阅",
         roles={Role.ADMIN}, records="subscription.deleted")
@dataclass(frozen=True, kw_only=True)
class DeleteSubscription(SubscriptionCommand):
    """Delete a subscription and its signing secret."""

    def run(self, subscription: Subscription, ctx: Context) -> None:
        subscription.delete(self.actor, self.reason)


def spec_of_event(event_type: str) -> Spec | None:
    """The command that records this event type ("standard.approved")."""
    return _BY_EVENT.get(event_type)


_BY_EVENT = {spec.records: spec for spec in REGISTRY.values()}
