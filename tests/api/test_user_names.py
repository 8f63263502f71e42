"""Issue 10, finding 15: user names that differ only by width (ｖｉｃｔｉｍ
beside victim) are one name. Names are NFKC-folded before they become ids;
the golden store's names are ASCII, so their ids do not change."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from uuid import UUID

from api.cli import main
from tests.api.helpers import PREFIX, assert_problem

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "store.jsonl"


def test_a_full_width_twin_of_a_user_name_is_the_same_user(api, runner):
    victim = runner.invoke(main, ["user", "add", "victim", "--role", "approver"])
    assert victim.exit_code == 0, victim.output
    before = api.position()
    twin = runner.invoke(main, ["user", "add", "ｖｉｃｔｉｍ", "--role", "drafter,approver"])
    assert twin.exit_code != 0
    assert twin.stdout.strip() == ""  # no token for a second "victim"
    assert "'victim' exists" in str(twin.exception or "") + twin.output
    assert api.position() == before


def test_a_full_width_name_is_stored_folded(api, runner):
    token = runner.invoke(main, ["user", "add", "ｗａｎｇ．ｌｉ", "--role", "drafter"]).stdout.strip()
    resp = api.client.post(f"{PREFIX}/standards", json={"category": "05", "title": "全角用户起草"},
                           headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["draft"]["drafted_by"] == "wang.li"


def test_commands_on_a_user_fold_the_name_too(api, runner):
    old = runner.invoke(main, ["user", "add", "victim", "--role", "auditor"]).stdout.strip()
    new = runner.invoke(main, ["user", "token", "ｖｉｃｔｉｍ"])
    assert new.exit_code == 0, new.output
    assert_problem(api.client.get(f"{PREFIX}/categories", headers={"Authorization": f"Bearer {old}"}), 401)
    fresh = {"Authorization": f"Bearer {new.stdout.strip()}"}
    assert api.client.get(f"{PREFIX}/categories", headers=fresh).status_code == 200
    assert runner.invoke(main, ["user", "revoke", "ｖｉｃｔｉｍ"]).exit_code == 0
    assert_problem(api.client.get(f"{PREFIX}/categories", headers=fresh), 401)


def test_the_golden_stores_user_ids_are_what_the_fold_gives():
    """The fold leaves the recorded (ASCII) names, and so their ids, alone."""
    from lifecycle.users import user_id

    added = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()
             if '"lifecycle.users:User.Added"' in line]
    assert added
    for event in added:
        name = json.loads(base64.b64decode(event["state"]))["name"]
        assert user_id(name) == UUID(event["originator_id"]), name
