"""The words of the domain that commands, events and the API share: the
stages of a standard's paperwork, the roles of people, the outcomes of a
periodic review. Enumerations only, so every other module may import them."""

from __future__ import annotations

from enum import Enum, StrEnum


class Stage(StrEnum):
    """Where a standard's paperwork is. Derived from the aggregate (see
    Standard.stage), never stored, so it cannot drift."""

    DRAFT = "draft"                              # first edition being drafted (草案)
    UNDER_REVIEW = "under_review"                # first edition submitted (送审)
    APPROVED = "approved"                        # first edition approved, not issued (已批准)
    ISSUED = "issued"                            # an edition issued, no revision open
    REVISION_DRAFT = "revision_draft"            # revising an issued standard (修订)
    REVISION_UNDER_REVIEW = "revision_under_review"
    REVISION_APPROVED = "revision_approved"
    WITHDRAWN = "withdrawn"                      # terminal (废止)

    @property
    def words(self) -> str:
        return self.value.replace("_", " ")


class Role(Enum):
    DRAFTER = "drafter"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    PUBLISHER = "publisher"
    AUDITOR = "auditor"
    ADMIN = "admin"


class ReviewOutcome(Enum):
    """复审 outcomes, ISO's stages 90.93 / 90.92 / 90.99."""

    CONFIRM = "confirm"
    REVISE = "revise"
    WITHDRAW = "withdraw"
