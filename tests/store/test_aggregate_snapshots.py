"""Aggregate snapshots (lifecycle/snapshots.py), on both stores: a standard
loaded through its latest snapshot is the standard a replay of its events
gives, in every kind of state; a snapshot another version of the domain
took, or one that cannot be read, is not used; a snapshot that cannot be
stored never fails the command; `lifecycle verify` finds a forged one."""

from __future__ import annotations

from datetime import date

from api.cli import main
from lifecycle import commands as cmd
from lifecycle import numbering, snapshots
from lifecycle.domain import Standard, standard_id
from lifecycle.vocabulary import ReviewOutcome
from tests import files as f
from tests.store.test_files_store import attach, history_with_files


def long_history(app) -> numbering.StandardCode:
    """One standard through every kind of state: files in a draft, editions
    with files, an emergency approval and its paperwork, amendments approved
    and dropped, reviews, a withdrawal scheduled and cancelled, and enough
    edits to pass several snapshots."""
    code = history_with_files(app)  # a revision draft with files, after one edition
    on = {"code": code, "expected_version": None}
    for n in range(20):
        app.handle(cmd.EditDraft(**on, changes={"summary": f"第{n}稿", "references": ["GB/T 1.1—2020"]},
                                 actor="drafter2"))
    app.handle(cmd.Submit(**on, actor="drafter"))
    app.handle(cmd.RequestChanges(**on, actor="reviewer", reason="请补充附录"))
    attach(app, code, "附录.md", f.sample("sample-zh.md"), f.MARKDOWN)
    app.handle(cmd.Submit(**on, actor="drafter"))
    app.handle(cmd.EmergencyApprove(**on, approved_on=date(2021, 5, 1), paperwork_due=date(2021, 6, 1),
                                    actor="approver", reason="防汛紧急"))
    app.handle(cmd.Publish(**on, issued_on=date(2021, 5, 2), effective_on=date(2021, 5, 2), actor="pub"))
    app.handle(cmd.CompletePaperwork(**on, year=2021, completed_on=date(2021, 7, 1), actor="reviewer",
                                     reason="补办"))
    app.handle(cmd.OpenAmendment(**on, year=2021, summary="更正", changes="3.1 改为……",
                                 references=["JGSW06001"], actor="drafter"))
    app.handle(cmd.ApproveAmendment(**on, year=2021, n=1, approved_on=date(2022, 3, 1),
                                    effective_on=date(2022, 4, 1), actor="approver"))
    app.handle(cmd.OpenAmendment(**on, year=2021, summary="再次更正", changes="4.2", actor="drafter"))
    app.handle(cmd.DropAmendment(**on, year=2021, n=2, actor="drafter", reason="不需要"))
    app.handle(cmd.Review(**on, reviewed_on=date(2023, 5, 1), outcome=ReviewOutcome.CONFIRM, actor="approver"))
    app.handle(cmd.Withdraw(**on, withdrawn_on=date(2099, 1, 1), actor="approver", reason="拟废止"))
    app.handle(cmd.CancelWithdrawal(**on, actor="approver", reason="继续有效"))
    app.handle(cmd.OpenRevision(**on, actor="drafter", reason="再次修订", title="公务接待工作指南（修订）"))
    return code


def replayed(app, code, version: int | None = None) -> Standard:
    """The standard from its events alone, no snapshot, no cache."""
    state = None
    for event in app.events.get(standard_id(code), lte=version):
        state = event.mutate(state)
    assert isinstance(state, Standard)
    return state


def cold_load(app, code, version: int) -> Standard:
    """As a process that has not seen the standard loads it: the latest usable
    snapshot at or before `version`, then the events after it (a version
    given, the repository never answers from its cache)."""
    loaded = app.repository.get(standard_id(code), version=version)
    assert isinstance(loaded, Standard)
    return loaded


def without_snapshot(app, code) -> Standard:
    """The standard as the log has it, at a version no snapshot was taken at
    (one more edit of its open draft if the interval took one there)."""
    truth = replayed(app, code)
    if truth.version % snapshots.INTERVAL == 0:
        app.handle(cmd.EditDraft(code=code, expected_version=None, changes={"summary": "再改"}, actor="drafter"))
        truth = replayed(app, code)
    return truth


def snapshot_versions(app, code) -> list[int]:
    return [s.originator_version for s in app.snapshots.recorder.select_events(standard_id(code))]


def test_commands_take_a_snapshot_every_interval(service):
    code = long_history(service)
    version = replayed(service, code).version
    assert version > 2 * snapshots.INTERVAL
    assert snapshot_versions(service, code) == list(range(snapshots.INTERVAL, version + 1, snapshots.INTERVAL))


def test_a_snapshot_of_every_state_loads_as_the_replay_gives_it(service):
    """A snapshot is stored after each version (as if the interval were 1), and
    the standard loaded through it equals the replay of its events, version by
    version: every field of the Draft and the Edition round-trips."""
    code = long_history(service)
    last = replayed(service, code).version
    taken = set(snapshot_versions(service, code))  # those the commands took
    for version in range(1, last + 1):
        state = replayed(service, code, version)
        if version not in taken:
            service.snapshots.put([snapshots.StandardSnapshot.take(state)])
        assert vars(cold_load(service, code, version)) == vars(state), version


def test_a_snapshot_taken_by_other_domain_code_is_not_used(service, monkeypatch):
    code = long_history(service)
    truth = without_snapshot(service, code)
    stale = snapshots.StandardSnapshot.take(truth)
    stale.state["shape"] = "an older domain"
    stale.state["code"] = "JGSW06999"  # what its apply() may have made of the events
    service.snapshots.put([stale])
    assert vars(cold_load(service, code, truth.version)) == vars(truth)


def test_an_unreadable_snapshot_is_not_used(service, caplog):
    code = long_history(service)
    truth = without_snapshot(service, code)
    unreadable = snapshots.StandardSnapshot.take(truth)
    # A Draft with a field this version does not know cannot be decoded.
    unreadable.state["draft"].__dict__["field_of_a_later_version"] = 1
    service.snapshots.put([unreadable])
    assert vars(cold_load(service, code, truth.version)) == vars(truth)
    assert "replaying the events instead" in caplog.text


def test_a_snapshot_that_cannot_be_stored_does_not_fail_the_command(service, caplog):
    """The command is durable before the snapshot is taken: a snapshot store
    that refuses it (here: its table dropped) is logged, the command stands."""
    code = numbering.parse_code(service.handle(cmd.DraftStandard(
        category="05", fields={"title": "快照失败"}, actor="drafter")).code)
    with service.snapshots.recorder.datastore.transaction(commit=True) as c:
        c.execute(f"DROP TABLE {service.snapshots.recorder.events_table_name}")
    on = {"code": code, "expected_version": None}
    for n in range(snapshots.INTERVAL):
        service.handle(cmd.EditDraft(**on, changes={"summary": f"第{n}稿"}, actor="drafter"))
    assert replayed(service, code).version == snapshots.INTERVAL + 1
    assert service.reads.version(str(code)) == snapshots.INTERVAL + 1
    assert f"could not store a snapshot of {code}" in caplog.text


def test_verify_checks_each_standards_snapshot_and_finds_a_forged_one(service, runner):
    code = long_history(service)
    truth = without_snapshot(service, code)
    result = runner.invoke(main, ["verify"])
    assert result.exit_code == 0, result.output
    assert "every projection row and 1 aggregate snapshots verified" in result.stderr
    forged = snapshots.StandardSnapshot.take(truth)
    forged.state["draft"].title = "伪造的标题"
    service.snapshots.put([forged])
    result = runner.invoke(main, ["verify"])
    assert result.exit_code == 2
    assert f"the snapshot of {code} at version {forged.originator_version}" in result.stderr
    assert "draft differ" in result.stderr
