"""Issue 10, findings 6 and 7: what the service serves is proved against the
log, on both stores. `lifecycle verify` compares every projection row with a
replay; heads are signed (Ed25519, key outside the database) into snapshots
and exports; `verify --since` proves the log still extends a signed head;
authentication does not trust a users row the log does not support; import
checks every event and the signed head before anything is committed."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from api import create_app
from api.cli import main
from lifecycle.seed import seed
from lifecycle.users import Role
from projections import chain
from projections.signing import HeadSigner, SignedHead
from tests.people import add_user
from tests.tampering import Forger


@pytest.fixture
def seeded(service):
    seed(service)
    return service


@pytest.fixture
def forger(seeded, settings):
    f = Forger(settings, seeded.recorder.events_table_name)
    yield f
    f.close()


def verify(runner, *args: str):
    return runner.invoke(main, ["verify", *args])


def snapshot(runner, tmp_path: Path) -> Path:
    result = runner.invoke(main, ["snapshot", "--dir", str(tmp_path / "snap"), "--as-of", "2020-01-01"])
    assert result.exit_code == 0, result.output
    return tmp_path / "snap" / "catalogue-2020-01-01.json"


# ------------------------------------------------------------------ finding 6
def test_verify_prints_the_head_and_the_signing_key(seeded, runner, signing_key):
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [seeded.reads.chain_hashes([30])[30]]
    assert HeadSigner(signing_key).fingerprint in result.stderr
    assert "30 events, every projection row and 0 aggregate snapshots verified" in result.stderr


def test_an_edited_users_row_is_caught_and_grants_nothing(seeded, forger, runner, settings):
    token = add_user(seeded, "clerk", [Role.DRAFTER])
    forger.run("UPDATE users SET roles = 'drafter,approver,auditor' WHERE name = 'clerk'")
    result = verify(runner)
    assert result.exit_code == 2
    assert "users row name='clerk': roles: the table says 'drafter,approver,auditor'" in result.stderr
    fresh = create_app(settings)  # a worker that has not seen the token yet
    resp = fresh.test_client().get("/api/v1/events", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401


def test_an_edited_catalogue_row_is_caught(seeded, forger, runner):
    forger.run("UPDATE catalogue_states SET title = '伪造的标题' WHERE code = 'JGSW05004'")
    result = verify(runner)
    assert result.exit_code == 2
    assert "catalogue_states row code='JGSW05004'" in result.stderr and "伪造的标题" in result.stderr


def test_an_edited_event_with_a_rewritten_chain_is_caught(seeded, forger, runner, tmp_path):
    kept = snapshot(runner, tmp_path)
    forger.replace_text(3, "2018-12-31", "2017-12-31")
    forger.rehash_chain()
    result = verify(runner)  # the chain agrees with itself, but the rows were made from the old event
    assert result.exit_code == 2 and "the projections differ from the log" in result.stderr
    assert runner.invoke(main, ["rebuild"]).exit_code == 0  # a forger who also rebuilds
    assert verify(runner).exit_code == 0
    result = verify(runner, "--since", str(kept))  # is caught by anyone holding an old snapshot
    assert result.exit_code == 2
    assert "the log was rewritten at or before that position" in result.stderr


def test_a_log_cut_short_with_its_chain_is_caught_since_a_snapshot(seeded, forger, runner, tmp_path):
    kept = snapshot(runner, tmp_path)
    forger.delete_from(28)
    assert runner.invoke(main, ["rebuild"]).exit_code == 0
    assert verify(runner).exit_code == 0
    result = verify(runner, "--since", str(kept))
    assert result.exit_code == 2 and "cut short or rewritten" in result.stderr


def test_verify_since_an_export_and_with_another_register_s_key(seeded, runner, tmp_path, signing_key):
    path = tmp_path / "log.jsonl"
    assert runner.invoke(main, ["export", str(path)]).exit_code == 0
    assert verify(runner, "--since", str(path)).exit_code == 0
    other = tmp_path / "other.pem"
    signed = HeadSigner(other).sign(30, seeded.reads.chain_hashes([30])[30])
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"signed_head": signed.as_dict()}))
    result = verify(runner, "--since", str(foreign))
    assert result.exit_code == 2 and "neither this register's key" in result.stderr
    (tmp_path / "other.pub").write_bytes(HeadSigner(other).public_pem())
    assert verify(runner, "--since", str(foreign), "--trusted-key", str(tmp_path / "other.pub")).exit_code == 0


def test_snapshots_and_exports_record_a_signed_head(seeded, runner, tmp_path, signing_key):
    doc = json.loads(snapshot(runner, tmp_path).read_text(encoding="utf-8"))
    signer = HeadSigner(signing_key)
    head = SignedHead.from_dict(doc["signed_head"])
    assert (head.position, head.chain_head) == (doc["position"], doc["chain_head"])
    assert head.verified_by([signer.public]) is not None
    path = tmp_path / "log.jsonl"
    assert runner.invoke(main, ["export", str(path)]).exit_code == 0
    header = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    signed = SignedHead.from_dict(header["signed_head"])
    assert (signed.position, signed.chain_head) == (header["last_position"], header["chain_head"])
    assert signed.verified_by([signer.public]) is not None


# ------------------------------------------------------------------ finding 7
@pytest.fixture
def exported(tmp_path, signing_key):
    """A signed export of a seeded SQLite store, as lines (header first)."""
    from click.testing import CliRunner

    env = {"LIFECYCLE_DATABASE_URL": f"sqlite:///{tmp_path / 'source.db'}"}
    runner = CliRunner()
    for args in (["seed"], ["user", "add", "keeper", "--role", "admin"],
                 ["export", str(tmp_path / "source.jsonl")]):
        assert runner.invoke(main, args, env=env).exit_code == 0
    return (tmp_path / "source.jsonl").read_text(encoding="utf-8").splitlines()


def rewrite(lines: list[str], change, sign_with: HeadSigner | None = None) -> list[str]:
    """A forger's file: events changed by `change(events)`, every chain hash
    and the header recomputed, the head re-signed only if given a key."""
    header = json.loads(lines[0])
    events = [json.loads(line) for line in lines[1:]]
    change(events)
    previous = chain.GENESIS
    for e in events:
        previous = chain.link(previous, e["position"], e["originator_id"], e["originator_version"],
                              e["topic"], base64.b64decode(e["state"]))
        e["chain_hash"] = previous
    header.update(last_position=events[-1]["position"], chain_head=previous, events=len(events))
    header.pop("signed_head")
    if sign_with is not None:
        header["signed_head"] = sign_with.sign(header["last_position"], previous).as_dict()
    return [json.dumps(header), *(json.dumps(e) for e in events)]


def load(runner, service, tmp_path, lines, *args):
    path = tmp_path / "import.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return runner.invoke(main, ["import", str(path), *args])


def empty(service) -> bool:
    return not service.recorder.max_notification_id() and not any(service.reads.dump().values())


def test_a_signed_export_imports(service, runner, tmp_path, exported):
    result = load(runner, service, tmp_path, exported)
    assert result.exit_code == 0, result.output
    assert "signed by SHA256:" in result.stderr
    assert verify(runner).exit_code == 0


def test_an_unsigned_file_loads_only_with_trust_unsigned(service, runner, tmp_path, exported):
    header = json.loads(exported[0])
    del header["signed_head"]
    lines = [json.dumps(header), *exported[1:]]
    result = load(runner, service, tmp_path, lines)
    assert result.exit_code != 0 and "--trust-unsigned" in result.output and empty(service)
    result = load(runner, service, tmp_path, lines, "--trust-unsigned")
    assert result.exit_code == 0 and "unsigned, loaded because --trust-unsigned was given" in result.stderr


def _forge_user(events: list[dict]) -> None:
    """Give the last user (keeper, an admin) the hash of a token the forger knows."""
    added = events[-1]
    state = json.loads(base64.b64decode(added["state"]))
    state["token_hash"] = "0" * 64
    added["state"] = base64.b64encode(json.dumps(state).encode()).decode()


def test_a_forged_event_with_a_recomputed_chain_is_refused(service, runner, tmp_path, exported):
    result = load(runner, service, tmp_path, rewrite(exported, _forge_user))
    assert result.exit_code != 0 and "not signed" in result.output and empty(service)
    forger_key = HeadSigner(tmp_path / "forger.pem")
    result = load(runner, service, tmp_path, rewrite(exported, _forge_user, forger_key))
    assert result.exit_code != 0 and "neither this register's key" in result.output and empty(service)


def _bad_state(events: list[dict]) -> None:
    events[4]["state"] = base64.b64encode(b"\x00not json").decode()


def _foreign_topic(events: list[dict]) -> None:
    events[4]["topic"] = "os:system"


def _skipped_version(events: list[dict]) -> None:
    events[4]["originator_version"] += 1


@pytest.mark.parametrize(("change", "says"), [
    (_bad_state, "the event does not decode or apply"),
    (_foreign_topic, "'os:system' is not an event type of this register"),
    (_skipped_version, "versions must follow on without gaps"),
])
def test_events_that_are_wrong_under_a_right_chain_load_nothing(service, runner, tmp_path, exported,
                                                                  change, says):
    result = load(runner, service, tmp_path, rewrite(exported, change), "--trust-unsigned")
    assert result.exit_code != 0 and says in result.output, result.output
    assert "line 6: position 5" in result.output
    assert empty(service)


def test_verify_counts_events_not_positions(seeded, runner):
    """Issue 10, finding 14: on PostgreSQL a refused insert leaves a gap in the
    positions, so the last position is not the number of events."""
    from lifecycle.commands import DraftStandard
    from lifecycle.errors import Conflict

    with pytest.raises(Conflict):  # JGSW05001 exists: its insert fails, on PostgreSQL after taking a position
        seeded.handle(DraftStandard(category="05", sub_item="001", fields={"title": "重复"}, actor="d"))
    seeded.handle(DraftStandard(category="06", fields={"title": "其他管理标准 新标准"}, actor="d"))
    result = verify(runner)
    assert result.exit_code == 0, result.output
    count = len(seeded.recorder.select_notifications(start=1, limit=1000))
    assert count == 31 and f"{count} events, every projection row and 0 aggregate snapshots verified" in result.stderr
