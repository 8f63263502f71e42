"""The allowed transitions: one table, consulted by every command.

A standard's *stage* says where its paperwork is. It is derived from the
aggregate (see Standard.stage), never stored, so it cannot drift.
"""

from __future__ import annotations

from enum import Enum

from lifecycle.errors import InvalidTransition


class Stage(str, Enum):
    DRAFT = "draft"                              # first edition being drafted (草案)
    UNDER_REVIEW = "under_review"                # first edition submitted (送审)
    APPROVED = "approved"                        # first edition approved, not issued (已批准)
    ISSUED = "issued"                            # an edition issued, no revision open
    REVISION_DRAFT = "revision_draft"            # revising an issued standard (修订)
    REVISION_UNDER_REVIEW = "revision_under_review"
    REVISION_APPROVED = "revision_approved"
    WITHDRAWN = "withdrawn"                      # terminal (废止)


S = Stage

# command -> the stages it may start from. Anything else is refused (409).
TRANSITIONS: dict[str, frozenset[Stage]] = {
    "edit_draft": frozenset({S.DRAFT, S.REVISION_DRAFT}),
    "submit": frozenset({S.DRAFT, S.REVISION_DRAFT}),
    "request_changes": frozenset({S.UNDER_REVIEW, S.REVISION_UNDER_REVIEW}),
    "approve": frozenset({S.UNDER_REVIEW, S.REVISION_UNDER_REVIEW}),
    "publish": frozenset({S.APPROVED, S.REVISION_APPROVED}),
    "open_revision": frozenset({S.ISSUED}),
    "review": frozenset({S.ISSUED}),
    "withdraw": frozenset(
        {S.ISSUED, S.REVISION_DRAFT, S.REVISION_UNDER_REVIEW, S.REVISION_APPROVED}
    ),
}

_WORDS = {
    "edit_draft": "edit the draft",
    "submit": "submit",
    "request_changes": "request changes",
    "approve": "approve",
    "publish": "issue",
    "open_revision": "open a revision",
    "review": "record a periodic review",
    "withdraw": "withdraw",
}


def check(command: str, stage: Stage, code: str) -> None:
    """Refuse `command` unless the table allows it from `stage`."""
    allowed = TRANSITIONS[command]
    if stage not in allowed:
        raise InvalidTransition(
            f"cannot {_WORDS[command]} {code}: it is {stage.value.replace('_', ' ')}; "
            f"allowed only when {' or '.join(sorted(s.value.replace('_', ' ') for s in allowed))}",
            stage=stage.value,
            command=command,
        )
