"""Users, roles and tokens (lifecycle/users.py)."""

from __future__ import annotations

import re

import pytest

from lifecycle import users
from lifecycle.errors import InvalidInput
from lifecycle.users import (
    PERMISSIONS,
    Role,
    User,
    hash_token,
    new_token,
    parse_roles,
    user_id,
)

R = Role

# API.md "Who may do what", written out literally:
#   drafter drafts, edits, submits and opens revisions;
#   reviewer and approver request changes; approver approves;
#   publisher issues; approver withdraws and records reviews;
#   auditor reads everything and changes nothing; admin manages users.
COMMAND_ROLES = {
    "draft": {R.DRAFTER},
    "edit_draft": {R.DRAFTER},
    "submit": {R.DRAFTER},
    "open_revision": {R.DRAFTER},
    "request_changes": {R.REVIEWER, R.APPROVER},
    "approve": {R.APPROVER},
    "publish": {R.PUBLISHER},
    "withdraw": {R.APPROVER},
    "cancel_withdrawal": {R.APPROVER},
    "approve_in_emergency": {R.APPROVER},
    "complete_paperwork": {R.REVIEWER, R.APPROVER},
    "open_amendment": {R.DRAFTER},
    "approve_amendment": {R.APPROVER},
    "drop_amendment": {R.DRAFTER},
    "review": {R.APPROVER},
    "attach_file": {R.DRAFTER},
    "remove_file": {R.DRAFTER},
    "add_user": {R.ADMIN},
    "revoke_token": {R.ADMIN},
    "issue_token": {R.ADMIN},
    # webhooks (API.md "Subscriptions"): admins only
    "subscribe": {R.ADMIN},
    "change_subscription": {R.ADMIN},
    "pause_subscription": {R.ADMIN},
    "resume_subscription": {R.ADMIN},
    "replay_subscription": {R.ADMIN},
    "delete_subscription": {R.ADMIN},
}
USER_COMMANDS = ("add_user", "revoke_token", "issue_token")
SUBSCRIPTION_COMMANDS = tuple(c for c in COMMAND_ROLES if "subscri" in c)


def test_roles_are_the_six_of_api_md() -> None:
    assert [r.value for r in Role] == [
        "drafter", "reviewer", "approver", "publisher", "auditor", "admin"]


def test_permission_table_names_every_command_and_nothing_else() -> None:
    assert set(PERMISSIONS) == set(COMMAND_ROLES) | {"read_audit", "read_subscriptions"}


@pytest.mark.parametrize("command", sorted(COMMAND_ROLES))
def test_permissions_match_api_md(command: str) -> None:
    assert PERMISSIONS[command] == frozenset(COMMAND_ROLES[command])


def test_auditor_reads_the_audit_log() -> None:
    assert R.AUDITOR in PERMISSIONS["read_audit"]
    assert PERMISSIONS["read_audit"] <= {R.AUDITOR, R.ADMIN}


@pytest.mark.parametrize("role", [R.AUDITOR, R.ADMIN])
def test_auditor_and_admin_change_no_standard(role: Role) -> None:
    changing = [c for c in COMMAND_ROLES if c not in USER_COMMANDS + SUBSCRIPTION_COMMANDS]
    assert [c for c in changing if role in PERMISSIONS[c]] == []


@pytest.mark.parametrize(("roles", "command", "may"), [
    ([R.DRAFTER], "submit", True),
    ([R.DRAFTER], "approve", False),
    ([R.REVIEWER], "request_changes", True),
    ([R.REVIEWER], "approve", False),
    ([R.APPROVER, R.PUBLISHER], "publish", True),
    ([R.AUDITOR], "read_audit", True),
    ([R.AUDITOR], "draft", False),
    ([R.ADMIN], "add_user", True),
    ([R.DRAFTER, R.REVIEWER, R.APPROVER, R.PUBLISHER, R.AUDITOR], "add_user", False),
])
def test_user_may(roles: list[Role], command: str, may: bool) -> None:
    assert users.may(roles, command) is may


# --- adding users ---------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "alice", "li.wei@jgsw", "a-b_c", "张三", "x", "a" * 64,
])
def test_add_accepts_plain_names(name: str) -> None:
    user = User.add(name, [R.DRAFTER], hash_token("t"), actor="op")
    assert user.name == name
    assert user.roles == [R.DRAFTER]
    assert user.id == user_id(name)


@pytest.mark.parametrize("name", [
    "", " ", "a b", " alice", "a/b", "bob;drop", "a" * 65, "tab\there",
    "alice\n",
])
def test_add_refuses_bad_names(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        User.add(name, [R.DRAFTER], hash_token("t"), actor="op")
    assert info.value.field == "name"


def test_add_needs_a_role() -> None:
    with pytest.raises(InvalidInput) as info:
        User.add("alice", [], hash_token("t"), actor="op")
    assert info.value.field == "role"


def test_parse_roles_dedups_in_table_order_and_names_the_unknown_one() -> None:
    assert parse_roles(["publisher", "drafter", "publisher"]) == [R.DRAFTER, R.PUBLISHER]
    with pytest.raises(InvalidInput) as info:
        parse_roles(["drafter", "root"])
    assert info.value.field == "role"
    assert "'root'" in info.value.message


def test_user_id_is_a_function_of_the_name() -> None:
    assert user_id("alice") == user_id("alice")
    assert user_id("alice") != user_id("bob")


# --- tokens ---------------------------------------------------------------------


def test_hash_token_is_sha256_hex() -> None:
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(new_token()))


def test_tokens_are_long_random_url_safe_strings() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) >= 40
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


def test_only_the_hash_is_kept() -> None:
    token = new_token()
    user = User.add("alice", [R.DRAFTER], hash_token(token), actor="op")
    assert user.token_hash == hash_token(token)
    assert token not in repr(vars(user))


def test_revoke_clears_the_token_hash_and_reissue_sets_a_new_one() -> None:
    user = User.add("alice", [R.DRAFTER], hash_token("old"), actor="op")
    v = user.version
    user.revoke(actor="admin1")
    assert user.token_hash is None
    assert user.version == v + 1
    user.issue_token(hash_token("new"), actor="admin1")
    assert user.token_hash == hash_token("new")
    events = user.collect_events()
    assert [(type(e).__name__, e.actor) for e in events] == [
        ("Added", "op"), ("TokenRevoked", "admin1"), ("TokenIssued", "admin1")]

    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert (rebuilt.name, rebuilt.roles, rebuilt.token_hash) == (
        "alice", [R.DRAFTER], hash_token("new"))
