"""Files and the integrity tools, on both stores: rebuild gives back every row
(the text and its index included), verify re-hashes every stored content and
names the first that differs, export/import carry contents in one
self-checking file, the snapshot lists the files and its verify checks them,
and approvals recorded before files existed read as binding none."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from api.cli import main
from lifecycle import commands as cmd
from lifecycle import numbering
from lifecycle.files import Staged
from projections.rebuild import rebuild
from projections.text import extract
from projections.verify_files import first_bad_content
from tests import files as f
from tests.tampering import Forger

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def staged(data: bytes, media_type: str) -> Staged:
    import io

    source = io.BytesIO(data)
    return Staged(hashlib.sha256(data).hexdigest(), len(data), media_type, source, extract(media_type, source))


def attach(app, code, name: str, data: bytes, media_type: str, actor: str = "drafter") -> None:
    app.handle(cmd.AttachFile(code=code, expected_version=None, actor=actor, name=name,
                              content=staged(data, media_type)))


def history_with_files(app) -> numbering.StandardCode:
    """A standard with files through two editions, and a second standard
    sharing one content (stored once)."""
    code = numbering.parse_code(app.handle(cmd.DraftStandard(
        category="05", fields={"title": "公务接待工作指南"}, actor="drafter")).code)
    on = {"code": code, "expected_version": None}
    attach(app, code, "正文.pdf", f.sample("sample-zh.pdf"), f.PDF)
    attach(app, code, "附录.md", f.sample("sample-zh.md"), f.MARKDOWN)
    attach(app, code, "草稿.docx", f.sample("sample-zh.docx"), f.DOCX)
    app.handle(cmd.RemoveFile(**on, actor="drafter", name="草稿.docx"))
    app.handle(cmd.Submit(**on, actor="drafter"))
    app.handle(cmd.Approve(**on, approved_on=date(2019, 3, 1), actor="approver"))
    app.handle(cmd.Publish(**on, issued_on=date(2019, 3, 2), effective_on=date(2019, 4, 1), actor="pub"))
    app.handle(cmd.OpenRevision(**on, actor="drafter", reason="修订"))
    attach(app, code, "正文.pdf", f.sample("sample-zh.ofd"), f.OFD)
    other = numbering.parse_code(app.handle(cmd.DraftStandard(
        category="06", fields={"title": "其他"}, actor="drafter")).code)
    attach(app, other, "同一文件.md", f.sample("sample-zh.md"), f.MARKDOWN)
    return code


def count(app, table: str) -> int:
    with app.reads.cursor() as c:
        c.execute(f"SELECT COUNT(*) FROM {table}")
        row = c.fetchone()
    return list(row.values())[0] if isinstance(row, dict) else row[0]


def test_contents_are_stored_once_and_rebuild_gives_every_row_back(service):
    history_with_files(service)
    assert count(service, "contents") == 4  # pdf, md (twice named), docx, ofd
    before = service.reads.dump()
    assert [row[1:3] for row in before["content_text"]] == [
        (hashlib.sha256(f.sample(n)).hexdigest(), "extracted")
        for n in ("sample-zh.pdf", "sample-zh.md", "sample-zh.docx", "sample-zh.ofd")]
    assert len(before["text_grams"]) > 100
    assert len(before["edition_files"]) == 2
    rebuild(service)
    assert service.reads.dump() == before


def test_verify_re_hashes_every_content_and_names_the_first_that_differs(service, settings, runner):
    history_with_files(service)
    checked, bad = first_bad_content(service)
    assert (checked, bad) == (4, None)
    result = runner.invoke(main, ["verify"])
    assert result.exit_code == 0, result.output
    assert "4 stored files re-hashed" in result.stderr

    md = hashlib.sha256(f.sample("sample-zh.md")).hexdigest()
    forger = Forger(settings, service.recorder.events_table_name)
    try:
        blob = "X'00'" if settings.store_kind == "sqlite" else "'\\x00'::bytea"
        forger.run(f"UPDATE content_chunks SET data = data || {blob} WHERE sha256 = ?", (md,))
        _, bad = first_bad_content(service)
        assert bad is not None and bad.sha256 == md and bad.name == "附录.md"
        assert bad.code == "JGSW05001" and "bytes stored" in bad.problem
        result = runner.invoke(main, ["verify"])
        assert result.exit_code == 2
        assert "附录.md" in result.stderr and md in result.stderr

        forger.run("DELETE FROM content_chunks WHERE sha256 = ?", (md,))
        assert "no chunk 0" in first_bad_content(service)[1].problem
        pdf = hashlib.sha256(f.sample("sample-zh.pdf")).hexdigest()
        forger.run("UPDATE contents SET size = size + 1 WHERE sha256 = ?", (pdf,))
        _, bad = first_bad_content(service)
        assert bad.sha256 == pdf and "the event" in bad.problem  # the first named comes first
    finally:
        forger.close()


def test_a_content_rewritten_whole_with_its_size_kept_is_caught(service, settings):
    history_with_files(service)
    pdf = f.sample("sample-zh.pdf")
    sha = hashlib.sha256(pdf).hexdigest()
    forger = Forger(settings, service.recorder.events_table_name)
    try:
        forged = pdf.replace(b"%PDF-1.3", b"%PDF-1.4")
        assert len(forged) == len(pdf) and forged != pdf
        forger.run("UPDATE content_chunks SET data = ? WHERE sha256 = ?", (forged, sha))
    finally:
        forger.close()
    _, bad = first_bad_content(service)
    assert bad.sha256 == sha and bad.problem == f"the stored bytes hash to {hashlib.sha256(forged).hexdigest()}"


def test_export_and_import_carry_the_contents(service, runner, tmp_path, postgres_database):
    from api.bootstrap import bootstrap
    from lifecycle.config import Settings
    from tests.conftest import reset_postgres

    history_with_files(service)
    path = tmp_path / "log.jsonl"
    assert runner.invoke(main, ["export", str(path)]).exit_code == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["contents"] == 4 and len(lines) == 1 + header["events"] + 4
    # into the other kind of store
    target = postgres_database if service.settings.store_kind == "sqlite" else f"sqlite:///{tmp_path}/b.db"
    if target == postgres_database:
        reset_postgres(target)
    result = runner.invoke(main, ["import", str(path)], env={"LIFECYCLE_DATABASE_URL": target})
    assert result.exit_code == 0, result.output
    other = bootstrap(Settings(database_url=target))
    try:
        assert other.reads.dump() == service.reads.dump()
        assert first_bad_content(other) == (4, None)
        info = other.contents.stored(hashlib.sha256(f.sample("sample-zh.pdf")).hexdigest())
        assert b"".join(other.contents.read(info)) == f.sample("sample-zh.pdf")
    finally:
        other.close()


@pytest.mark.parametrize("damage, expected", [
    ("edit-content", "are not that content"),
    ("drop-content", "header promised 4"),
    ("add-content", "header promised 4"),
    ("reorder", "out of order"),
])
def test_a_damaged_export_loads_nothing(service, runner, tmp_path, damage, expected):
    from api.bootstrap import bootstrap
    from lifecycle.config import Settings

    history_with_files(service)
    path = tmp_path / "log.jsonl"
    runner.invoke(main, ["export", str(path)])
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    contents = lines[1 + header["events"]:]
    if damage == "edit-content":
        line = json.loads(contents[1])
        line["data"] = line["data"][:-8] + "AAAAAAA="
        contents[1] = json.dumps(line)
    elif damage == "drop-content":
        contents = contents[:-1]
    elif damage == "add-content":
        import base64

        extra = b"extra bytes"
        line = json.dumps({"content": hashlib.sha256(extra).hexdigest(), "size": len(extra), "seq": 0,
                           "data": base64.b64encode(extra).decode()})
        contents = sorted([*contents, line], key=lambda x: (json.loads(x)["content"], json.loads(x)["seq"]))
    else:
        contents = [contents[1], contents[0], *contents[2:]]
    path.write_text("\n".join([*lines[:1 + header["events"]], *contents]) + "\n", encoding="utf-8")
    target = f"sqlite:///{tmp_path}/target.db"
    result = runner.invoke(main, ["import", str(path)], env={"LIFECYCLE_DATABASE_URL": target})
    assert result.exit_code != 0 and expected in result.output, result.output
    other = bootstrap(Settings(database_url=target))
    try:
        assert not other.recorder.max_notification_id() and count(other, "contents") == 0
    finally:
        other.close()


def test_the_snapshot_lists_the_files_in_force_and_its_verify_checks_them(service, settings, runner, tmp_path):
    history_with_files(service)
    result = runner.invoke(main, ["snapshot", "--dir", str(tmp_path), "--as-of", "2020-01-01"])
    assert result.exit_code == 0, result.output
    snapshot = tmp_path / "catalogue-2020-01-01.json"
    doc = json.loads(snapshot.read_text(encoding="utf-8"))
    assert doc["format"] == "jgsw-catalogue-snapshot/2"
    row = next(s for s in doc["standards"] if s["code"] == "JGSW05001")
    assert row["edition"]["files"] == [
        {"name": name, "media_type": media_type, "size": len(f.sample(sample)),
         "sha256": hashlib.sha256(f.sample(sample)).hexdigest()}
        for name, media_type, sample in (("正文.pdf", f.PDF, "sample-zh.pdf"),
                                         ("附录.md", f.MARKDOWN, "sample-zh.md"))]
    assert runner.invoke(main, ["snapshot", "verify", str(snapshot)]).exit_code == 0

    forger = Forger(settings, service.recorder.events_table_name)
    try:
        forger.run("DELETE FROM content_chunks WHERE sha256 = ?", (row["edition"]["files"][0]["sha256"],))
    finally:
        forger.close()
    result = runner.invoke(main, ["snapshot", "verify", str(snapshot)])
    assert result.exit_code == 1
    assert "JGSW05001: edition file '正文.pdf'" in result.stderr


def test_a_format_1_snapshot_still_verifies(service, tmp_path):
    """Snapshots written before files existed keep verifying after the upgrade."""
    from projections import snapshot

    history_with_files(service)
    day = date(2020, 1, 1)
    position, head, rows = service.reads.everything_on(day)
    path = tmp_path / "catalogue-2020-01-01.json"
    signed = service.signer.sign(position, head)
    path.write_bytes(snapshot.render_json(day, position, head, snapshot.views_of(day, rows), signed, [],
                                          snapshot.FORMAT_WITHOUT_FILES))
    assert b'"files"' not in path.read_bytes()
    problems, _ = snapshot.verify(service, path)
    assert problems == []


def test_approvals_recorded_before_files_read_as_binding_none(service, runner):
    """The golden log's Approved events are version 1: the upcast gives them
    no files, and their stored bytes (and chain) are untouched."""
    from lifecycle.domain import Standard

    result = runner.invoke(main, ["import", "--trust-unsigned", str(GOLDEN / "store.jsonl")])
    assert result.exit_code == 0, result.output
    approvals = [service.mapper.to_domain_event(n)
                 for n in service.recorder.select_notifications(start=1, limit=1000)
                 if n.topic.endswith("Standard.Approved")]
    assert approvals and all(isinstance(e, Standard.Approved) and e.files == {} for e in approvals)
    stored = service.recorder.select_notifications(start=1, limit=1000)
    assert not any(b"class_version" in bytes(n.state) for n in stored if n.topic.endswith("Approved"))
