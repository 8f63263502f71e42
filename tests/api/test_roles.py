"""Who may do what: every (command endpoint, role) pair against PERMISSIONS."""

from __future__ import annotations

import pytest

from lifecycle.users import PERMISSIONS, Role
from tests.api.helpers import PREFIX, assert_problem

ROLES = ["drafter", "reviewer", "approver", "publisher", "auditor", "admin"]

# command -> (method, path action or None for POST /standards, stage needed, body)
ENDPOINTS = {
    "draft": ("POST", None, None, lambda api: {"category": "05", "title": "新标准"}),
    "edit_draft": ("PATCH", "draft", "draft", lambda api: {"title": "改后"}),
    "submit": ("POST", "submit", "draft", lambda api: {}),
    "request_changes": ("POST", "request-changes", "under_review", lambda api: {"reason": "请修改"}),
    "approve": ("POST", "approve", "under_review", lambda api: {}),
    "publish": ("POST", "publish", "approved",
                lambda api: {"issued_on": api.today.isoformat(), "effective_on": api.today.isoformat()}),
    "open_revision": ("POST", "revisions", "issued", lambda api: {"reason": "修订"}),
    "withdraw": ("POST", "withdraw", "issued",
                 lambda api: {"withdrawn_on": api.today.isoformat(), "reason": "废止"}),
    "review": ("POST", "reviews", "issued",
               lambda api: {"reviewed_on": api.today.isoformat(), "outcome": "confirm"}),
}

# API.md "Who may do what", written out independently of the code's table
CONTRACT = {
    "draft": {"drafter"}, "edit_draft": {"drafter"}, "submit": {"drafter"},
    "open_revision": {"drafter"}, "request_changes": {"reviewer", "approver"},
    "approve": {"approver"}, "publish": {"publisher"}, "withdraw": {"approver"},
    "review": {"approver"},
}


def test_permissions_table_matches_the_contract():
    for command, roles in CONTRACT.items():
        assert {r.value for r in PERMISSIONS[command]} == roles, command
    assert Role.AUDITOR not in set().union(*(PERMISSIONS[c] for c in CONTRACT))
    assert Role.ADMIN not in set().union(*(PERMISSIONS[c] for c in CONTRACT))


def _prepare(api, stage):
    if stage is None:
        return None
    if stage == "draft":
        return api.draft()
    if stage == "under_review":
        return api.submitted()
    if stage == "approved":
        return api.approved()
    return api.issued()[0]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("command", list(ENDPOINTS))
def test_role_matrix(api, command, role):
    method, action, stage, body = ENDPOINTS[command]
    code = _prepare(api, stage)
    headers = api.auth(role)
    if code is None:
        path = PREFIX + "/standards"
    else:
        path = PREFIX + f"/standards/{code}/{action}"
        headers["If-Match"] = api.etag(code)
    before = api.position()
    resp = api.client.open(path, method=method, json=body(api), headers=headers)
    allowed = {r.value for r in PERMISSIONS[command]}
    if role in allowed:
        assert resp.status_code in (200, 201), resp.get_data(as_text=True)
        assert api.position() > before
    else:
        problem = assert_problem(resp, 403)
        assert role in problem["detail"] or "may not" in problem["detail"]
        assert api.position() == before


@pytest.mark.parametrize("command,role", [
    (c, r) for c in ENDPOINTS if c != "draft" for r in ROLES if Role(r) not in PERMISSIONS[c]])
def test_forbidden_before_precondition_and_validation(api, command, role):
    """A role without the permission is refused 403 even without If-Match or with a bad body."""
    method, action, stage, _ = ENDPOINTS[command]
    code = _prepare(api, stage)
    before = api.position()
    resp = api.client.open(PREFIX + f"/standards/{code}/{action}", method=method,
                           json={"nonsense": 1}, headers=api.auth(role))
    assert_problem(resp, 403)
    assert api.position() == before


@pytest.mark.parametrize("role", ROLES + ["drafter2"])
@pytest.mark.parametrize("path", ["/standards", "/standards/JGSW05001", "/standards/JGSW05001/editions",
                                  "/standards/JGSW05001/editions/2018", "/categories",
                                  "/numbers/JGSW05001"])
def test_every_role_reads(api, seeded, role, path):
    resp = api.get(path, role=role)
    assert resp.status_code == 200, resp.get_data(as_text=True)
