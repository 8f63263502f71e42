"""Builders: a real Standard in each workflow stage, reached only through the
domain's own commands (no state is poked in by hand).

The story every builder follows (dates are the world's dates):

    alice drafts JGSW05001 and submits it
    carol approves it on 2018-06-01              -> edition 2018
    pete issues it on 2018-12-31, on trial from 2019-01-01
    alice opens a revision and submits it
    carol approves the revision on 2021-03-01    -> edition 2021
    pete issues it on 2021-06-01, effective 2021-07-01 (formally)
    carol withdraws the standard on 2023-05-01
"""

from __future__ import annotations

from datetime import date

from lifecycle.domain import Standard
from lifecycle.numbering import parse_code

CODE = parse_code("JGSW05001")
TODAY = date(2026, 1, 1)

DRAFTER = "alice"
EDITOR = "bob"
APPROVER = "carol"
PUBLISHER = "pete"

FIRST_APPROVED = date(2018, 6, 1)
FIRST_ISSUED = date(2018, 12, 31)
FIRST_EFFECTIVE = date(2019, 1, 1)

REVISION_APPROVED = date(2021, 3, 1)
REVISION_ISSUED = date(2021, 6, 1)
REVISION_EFFECTIVE = date(2021, 7, 1)

WITHDRAWN = date(2023, 5, 1)

FIELDS = {
    "title": "后勤服务管理标准 公务接待工作指南",
    "kind": "工作指南",
    "owner_department": "政策法规处",
    "drafting_units": ["接待处"],
    "summary": "公务接待的工作要求",
}


def drafted() -> Standard:
    return Standard.create(CODE, FIELDS, actor=DRAFTER, reason="first draft")


def under_review() -> Standard:
    s = drafted()
    s.submit(actor=DRAFTER, reason="ready")
    return s


def approved() -> Standard:
    s = under_review()
    s.approve(FIRST_APPROVED, TODAY, actor=APPROVER, reason="fine")
    return s


def issued() -> Standard:
    s = approved()
    s.publish(FIRST_ISSUED, FIRST_EFFECTIVE, trial=True, actor=PUBLISHER, reason="issue")
    return s


def revision_draft() -> Standard:
    s = issued()
    s.open_revision(actor=DRAFTER, reason="outdated")
    return s


def revision_under_review() -> Standard:
    s = revision_draft()
    s.submit(actor=DRAFTER, reason="revised")
    return s


def revision_approved() -> Standard:
    s = revision_under_review()
    s.approve(REVISION_APPROVED, TODAY, actor=APPROVER, reason="fine")
    return s


def revised() -> Standard:
    """Both editions issued; the 2021 one replaces the 2018 one."""
    s = revision_approved()
    s.publish(REVISION_ISSUED, REVISION_EFFECTIVE, trial=False, actor=PUBLISHER, reason="issue")
    return s


def withdrawn() -> Standard:
    s = issued()
    s.withdraw(WITHDRAWN, actor=APPROVER, reason="no longer needed")
    return s


def replay(standard: Standard) -> Standard:
    """Rebuild the aggregate from its own events, in order."""
    rebuilt = None
    for event in standard.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert rebuilt is not None
    return rebuilt
