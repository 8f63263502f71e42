"""`lifecycle snapshot`: the nightly catalogue files (deterministic JSON, CSV
with a BOM, an XLSX workbook, a sha256sum list), written atomically, pruned with --keep, and
proved against the event log by `lifecycle snapshot verify`."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from api.cli import main
from lifecycle import commands as cmd
from lifecycle import numbering
from lifecycle.seed import seed
from projections import snapshot as snap

DAY = date(2019, 6, 1)
TITLES = {
    "JGSW01001": "内部标准编号规则",
    "JGSW01002": "基础通用标准 基础和术语",
    "JGSW01003": "基础通用标准 标准化导则",
    "JGSW01004": "基础通用标准 评价指标体系",
    "JGSW05000": "后勤服务标准 要求",
    "JGSW05001": "后勤服务管理标准 公务接待工作指南",
    "JGSW05002": "后勤服务管理标准 会议服务工作指南",
    "JGSW05003": "后勤服务管理标准 物业服务工作指南",
    "JGSW05004": "后勤服务管理标准 绿化服务工作指南",
}
ISSUED = ("JGSW01001", "JGSW01002", "JGSW01003")


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A directory of its own (the store lives in tmp_path)."""
    return tmp_path / "snapshots"


@pytest.fixture
def seeded(service):
    seed(service)
    return service


def write(runner, directory: Path, *args: str):
    result = runner.invoke(main, ["snapshot", "--dir", str(directory), *args])
    assert result.exit_code == 0, result.output + (result.stderr or "")
    return result


def verify(runner, path: Path):
    return runner.invoke(main, ["snapshot", "verify", str(path)])


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def redump(path: Path, doc: dict) -> None:
    """Rewrite the JSON with the same layout, so only the doctored value differs."""
    path.write_bytes((json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode())


def failed(runner, path: Path) -> str:
    result = verify(runner, path)
    assert result.exit_code == 1, result.output
    assert "OK:" not in result.stdout
    return result.stderr


# ------------------------------------------------------------------ writing
def test_writes_four_files_named_by_the_day_and_prints_them(seeded, runner, out):
    result = write(runner, out, "--as-of", DAY.isoformat())
    stem = out / "catalogue-2019-06-01"
    expected = [f"{stem}.json", f"{stem}.csv", f"{stem}.xlsx", f"{stem}.sha256"]
    assert result.stdout.splitlines() == expected
    assert names(out) == ["catalogue-2019-06-01.csv", "catalogue-2019-06-01.json",
                          "catalogue-2019-06-01.sha256", "catalogue-2019-06-01.xlsx"]
    summary = result.stderr.strip().splitlines()
    assert len(summary) == 1 and "9 standards" in summary[0] and "2019-06-01" in summary[0]


def test_default_day_is_today_in_the_office_zone(seeded, runner, out):
    write(runner, out)
    today = seeded.today().isoformat()
    assert (out / f"catalogue-{today}.json").is_file()
    assert json.loads((out / f"catalogue-{today}.json").read_bytes())["as_of"] == today


def test_json_records_as_of_position_and_chain_head(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    raw = (out / "catalogue-2019-06-01.json").read_bytes()
    doc = json.loads(raw)
    position = seeded.recorder.max_notification_id()
    assert doc["format"] == snap.FORMAT
    assert doc["as_of"] == "2019-06-01"
    assert doc["position"] == position
    assert doc["chain_head"] == seeded.reads.chain_hashes([position])[position]
    assert doc["count"] == 9 == len(doc["standards"])
    assert [s["code"] for s in doc["standards"]] == sorted(TITLES)
    assert {s["code"]: s["title"] for s in doc["standards"]} == TITLES
    # Chinese as it is, stable key order, one trailing newline
    assert "内部标准编号规则".encode() in raw and b"\\u" not in raw
    assert raw.endswith(b"}\n") and not raw.endswith(b"\n\n")
    assert list(doc) == sorted(doc)
    # the client-facing names of API.md
    first = doc["standards"][0]
    assert {"code", "category", "sub_item", "level", "title", "status", "status_label",
            "edition", "draft", "version"} <= set(first)
    assert first["edition"]["number"] == "JGSW01001—2018"


def test_no_wall_clock_inside_two_runs_give_identical_bytes(seeded, runner, out):
    first, second = out / "a", out / "b"
    write(runner, first, "--as-of", DAY.isoformat())
    time.sleep(1.1)
    write(runner, second, "--as-of", DAY.isoformat())
    for name in names(first):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    doc = json.loads((first / "catalogue-2019-06-01.json").read_text("utf-8"))
    # The signed head's key fingerprint (SHA256:<base64>) may read "56:25" by
    # chance; what must hold no time of day is everything the log says.
    signed = doc.pop("signed_head")
    assert not re.search(r"\d{2}:\d{2}", json.dumps(doc, ensure_ascii=False)), "a time of day inside"
    assert not re.search(r"T\d{2}:\d{2}", json.dumps(signed)), "a time of day in the signed head"
    # and rewriting over the same files changes nothing either
    before = {n: (first / n).read_bytes() for n in names(first)}
    write(runner, first, "--as-of", DAY.isoformat())
    assert {n: (first / n).read_bytes() for n in names(first)} == before


def test_csv_has_bom_crlf_and_the_chinese_titles(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    raw = (out / "catalogue-2019-06-01.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert not text.startswith("\ufeff")
    assert raw.count(b"\r\n") == 10 and raw.count(b"\n") == 10  # header + 9 rows, CRLF only
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    assert header[0] == "编号 (number)" and "名称 (title)" in header and "试行 (trial)" in header
    by_code = {r[header.index("代号 (code)")]: dict(zip(header, r)) for r in body}
    assert {code: r["名称 (title)"] for code, r in by_code.items()} == TITLES
    first = by_code["JGSW01001"]
    assert first["编号 (number)"] == "JGSW01001—2018"
    assert first["状态名称 (status_label)"] == "试行" and first["试行 (trial)"] == "是"
    assert first["发布日期 (issued_on)"] == "2018-12-31"
    assert first["实施日期 (effective_on)"] == "2019-01-01"
    unissued = by_code["JGSW05001"]
    assert unissued["编号 (number)"] == "JGSW05001" and unissued["试行 (trial)"] == ""


def test_sha256sum_accepts_the_list(seeded, runner, out):
    if shutil.which("sha256sum") is None:
        pytest.skip("no sha256sum on this machine")
    write(runner, out, "--as-of", DAY.isoformat())
    sums = (out / "catalogue-2019-06-01.sha256").read_text()
    assert [line.split("  ")[1] for line in sums.splitlines()] == [
        "catalogue-2019-06-01.json", "catalogue-2019-06-01.csv", "catalogue-2019-06-01.xlsx"]
    done = subprocess.run(["sha256sum", "-c", "catalogue-2019-06-01.sha256"], cwd=out,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == 3


def test_atomic_write_leaves_no_temp_files_even_when_it_fails(seeded, runner, out, monkeypatch):
    write(runner, out, "--as-of", DAY.isoformat())
    assert all(not n.startswith(".") and not n.endswith(".tmp") for n in names(out))
    before = {n: (out / n).read_bytes() for n in names(out)}
    position = seeded.recorder.max_notification_id()

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(snap.os, "replace", broken)
    with pytest.raises(OSError):
        snap.write(seeded, out, DAY)
    monkeypatch.undo()
    assert {n: (out / n).read_bytes() for n in names(out)} == before
    assert json.loads(before["catalogue-2019-06-01.json"])["position"] == position
    # readable by others, not the 0600 of a temp file
    assert (out / "catalogue-2019-06-01.json").stat().st_mode & 0o044


def test_keep_prunes_older_sets(seeded, runner, out):
    for day in ("2019-01-01", "2020-01-01", "2021-01-01", "2022-01-01"):
        write(runner, out, "--as-of", day, "--keep", "2")
    assert names(out) == [f"catalogue-{d}.{k}" for d in ("2021-01-01", "2022-01-01")
                               for k in ("csv", "json", "sha256", "xlsx")]
    (out / "notes.txt").write_text("not a snapshot")
    result = write(runner, out, "--as-of", "2023-01-01", "--keep", "1")
    assert "deleted 8" in result.stderr
    assert names(out) == ["catalogue-2023-01-01.csv", "catalogue-2023-01-01.json",
                               "catalogue-2023-01-01.sha256", "catalogue-2023-01-01.xlsx", "notes.txt"]
    # a set just written for an older day is never pruned by its own run
    write(runner, out, "--as-of", "2019-06-01", "--keep", "1")
    assert {n.split(".")[0] for n in names(out)} == {
        "catalogue-2019-06-01", "catalogue-2023-01-01", "notes"}


def test_keep_must_be_positive_and_dir_is_required(seeded, runner, out):
    assert runner.invoke(main, ["snapshot", "--dir", str(out), "--keep", "0"]).exit_code == 2
    result = runner.invoke(main, ["snapshot"])
    assert result.exit_code == 2 and "--dir" in result.output
    assert runner.invoke(main, ["snapshot", "--dir", str(out), "--as-of", "2019-13-01"]).exit_code == 2


# ------------------------------------------------------------------ days
def test_as_of_mid_2019_shows_the_three_issued_standards_on_trial(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    doc = json.loads((out / "catalogue-2019-06-01.json").read_bytes())
    status = {s["code"]: (s["status"], s["status_label"]) for s in doc["standards"]}
    for code in ISSUED:
        assert status[code] == ("trial", "试行")
        assert next(s for s in doc["standards"] if s["code"] == code)["edition"]["trial"] is True
    assert all(status[c][0] not in ("trial", "current") for c in TITLES if c not in ISSUED)


def test_before_issue_nothing_is_in_force(seeded, runner, out):
    write(runner, out, "--as-of", "2018-12-30")
    doc = json.loads((out / "catalogue-2018-12-30.json").read_bytes())
    assert not [s for s in doc["standards"] if s["status"] in ("trial", "current", "issued")]
    assert doc["count"] == len(doc["standards"])
    rows = (out / "catalogue-2018-12-30.csv").read_bytes().decode("utf-8-sig").splitlines()
    assert len(rows) == 1 + doc["count"]
    assert verify(runner, out / "catalogue-2018-12-30.json").exit_code == 0


# ------------------------------------------------------------------ verify
def test_verify_ok_on_a_fresh_snapshot(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    path = out / "catalogue-2019-06-01.json"
    result = verify(runner, path)
    assert result.exit_code == 0, result.stderr
    position = seeded.recorder.max_notification_id()
    head = seeded.reads.chain_hashes([position])[position]
    assert result.stdout.strip() == f"OK: {path} matches the log at position {position} (chain head {head})"


def test_verify_still_ok_after_later_commands(seeded, runner, out):
    write(runner, out / "old", "--as-of", DAY.isoformat())
    code = numbering.parse_code("JGSW01001")
    version = seeded.reads.standard("JGSW01001", DAY).version
    seeded.handle(cmd.Withdraw(code=code, expected_version=version, withdrawn_on=date(2019, 3, 1),
                               actor="政策法规处", reason="并入新版编号规则"))
    seeded.handle(cmd.DraftStandard(category="05", fields={"title": "后勤服务管理标准 车辆服务工作指南"},
                                    actor="政策法规处"))
    old = out / "old" / "catalogue-2019-06-01.json"
    result = verify(runner, old)
    assert result.exit_code == 0, result.stderr
    assert json.loads(old.read_bytes())["standards"][0]["status"] == "trial"
    # a new snapshot of the same day says what the register says now, and also verifies
    write(runner, out / "new", "--as-of", DAY.isoformat())
    new = out / "new" / "catalogue-2019-06-01.json"
    doc = json.loads(new.read_bytes())
    assert doc["position"] == seeded.recorder.max_notification_id() > json.loads(old.read_bytes())["position"]
    assert doc["standards"][0]["status"] == "withdrawn"
    assert verify(runner, new).exit_code == 0
    # a copy of the old JSON alone (no CSV or list beside it) still proves at its own position
    shutil.copy(old, out / "new" / "copy.json")
    assert verify(runner, out / "new" / "copy.json").exit_code == 0  # its own position still holds


def test_verify_names_a_doctored_status(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    path = out / "catalogue-2019-06-01.json"
    doc = json.loads(path.read_bytes())
    doc["standards"][5]["status"] = "current"  # JGSW05001 is approved, not in force
    redump(path, doc)
    err = failed(runner, path)
    assert "JGSW05001: status: file says 'current', the log says 'approved'" in err
    assert "catalogue-2019-06-01.sha256: catalogue-2019-06-01.json: the list says sha256" in err


def test_verify_names_a_doctored_nested_field(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    path = out / "catalogue-2019-06-01.json"
    doc = json.loads(path.read_bytes())
    doc["standards"][0]["edition"]["effective_on"] = "2018-12-31"
    redump(path, doc)
    assert ("JGSW01001: edition.effective_on: file says '2018-12-31', the log says '2019-01-01'"
            in failed(runner, path))


def test_verify_names_a_changed_chain_head(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    path = out / "catalogue-2019-06-01.json"
    doc = json.loads(path.read_bytes())
    real = doc["chain_head"]
    doc["chain_head"] = "f" * 64
    redump(path, doc)
    err = failed(runner, path)
    assert f"chain_head: file says '{'f' * 64}', the log gives {real} at position {doc['position']}" in err


def test_verify_names_a_changed_position(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    path = out / "catalogue-2019-06-01.json"
    doc = json.loads(path.read_bytes())
    end = doc["position"]
    doc["position"] = end + 5
    redump(path, doc)
    assert f"position: file says {end + 5}, the log ends at {end}" in failed(runner, path)
    doc["position"] = end - 1
    redump(path, doc)
    err = failed(runner, path)
    assert f"chain_head: file says '{doc['chain_head']}', the log gives " in err
    assert f"at position {end - 1}" in err
    # the last event recorded drafted the last seeded standard
    assert "count: file says 9, the log gives 8" in err
    assert "a standard the log does not have: JGSW05004" in err
    assert "chain table:" not in err  # the chain itself is intact


def test_verify_names_a_removed_and_an_invented_standard(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    path = out / "catalogue-2019-06-01.json"
    doc = json.loads(path.read_bytes())
    removed = doc["standards"].pop(7)
    assert removed["code"] == "JGSW05003"
    doc["count"] = 8
    redump(path, doc)
    err = failed(runner, path)
    assert "missing from the file: JGSW05003" in err
    assert "count: file says 8, the log gives 9" in err
    invented = dict(removed, code="JGSW09001")
    doc["standards"].append(invented)
    doc["count"] = 9
    redump(path, doc)
    err = failed(runner, path)
    assert "a standard the log does not have: JGSW09001" in err
    assert "missing from the file: JGSW05003" in err
    assert "count:" not in err


def test_verify_names_a_doctored_csv(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    path = out / "catalogue-2019-06-01.csv"
    text = path.read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    assert lines[2].startswith("JGSW01002—2018,") and ",试行," in lines[2]
    lines[2] = lines[2].replace(",试行,", ",现行,")
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    err = failed(runner, out / "catalogue-2019-06-01.json")
    assert ("catalogue-2019-06-01.csv: JGSW01002: 状态名称 (status_label): file says '现行', "
            "the log says '试行'") in err
    assert "catalogue-2019-06-01.csv: the list says sha256" in err
    # a CSV saved without its BOM (as some editors do) is named as such
    path.write_bytes(text.lstrip("\ufeff").encode("utf-8"))
    assert "does not start with the UTF-8 BOM" in failed(runner, out / "catalogue-2019-06-01.json")


def test_verify_rejects_invalid_json_and_a_reformatted_file(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    path = out / "catalogue-2019-06-01.json"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    assert "catalogue-2019-06-01.json is not valid JSON" in failed(runner, path)
    # same content, another layout: the bytes are what is proved
    path.write_bytes(json.dumps(json.loads(good), ensure_ascii=False, sort_keys=True).encode())
    assert "the bytes differ from the catalogue rebuilt from the log" in failed(runner, path)


def test_verify_finds_a_doctored_sha256_list(seeded, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    sums = out / "catalogue-2019-06-01.sha256"
    sums.write_text(sums.read_text().replace("catalogue-2019-06-01.csv", "catalogue-gone.csv"))
    assert "lists catalogue-gone.csv, which does not exist" in failed(
        runner, out / "catalogue-2019-06-01.json")


def test_verify_catches_an_edited_event_in_the_log(seeded, settings, runner, out):
    from tests.tampering import Forger

    write(runner, out, "--as-of", DAY.isoformat())
    path = out / "catalogue-2019-06-01.json"
    forger = Forger(settings, seeded.recorder.events_table_name)
    forger.replace_text(1, "内部标准编号规则", "内部标准编号规定")
    forger.close()
    err = failed(runner, path)
    assert "chain_head: file says" in err
    assert "chain table: records" in err and "the log was altered" in err


def test_verify_of_an_empty_log(service, runner, out):
    write(runner, out, "--as-of", DAY.isoformat())
    doc = json.loads((out / "catalogue-2019-06-01.json").read_bytes())
    assert doc["position"] == 0 and doc["count"] == 0 and doc["chain_head"] == "0" * 64
    assert verify(runner, out / "catalogue-2019-06-01.json").exit_code == 0


# ------------------------------------------------------------------ the real command
def test_console_script_end_to_end(seeded, settings, out):
    exe = Path(sys.executable).with_name("lifecycle")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "api.cli"]
    env = {**os.environ, "LIFECYCLE_DATABASE_URL": settings.database_url}
    done = subprocess.run([*command, "snapshot", "--dir", str(out), "--as-of", "2019-06-01",
                           "--keep", "7"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(out / f"catalogue-2019-06-01.{k}")
                                        for k in ("json", "csv", "xlsx", "sha256")]
    done = subprocess.run([*command, "snapshot", "verify", str(out / "catalogue-2019-06-01.json")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: ")
    (out / "catalogue-2019-06-01.json").write_text("{}")
    done = subprocess.run([*command, "snapshot", "verify", str(out / "catalogue-2019-06-01.json")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "format: file says" in done.stderr


# ------------------------------------------------------------------ the workbook
def sheet_rows(path: Path) -> list[list]:
    from openpyxl import load_workbook

    return [list(row) for row in load_workbook(path).active.iter_rows(values_only=True)]


def test_workbook_has_chinese_headers_text_cells_a_frozen_header_and_fitted_widths(seeded, runner, out):
    from openpyxl import load_workbook

    write(runner, out, "--as-of", DAY.isoformat())
    sheet = load_workbook(out / "catalogue-2019-06-01.xlsx").active
    header = [c.value for c in sheet[1]]
    assert header == ["编号", "代号", "类别", "顺序号", "名称", "层次", "状态", "发布日期", "实施日期",
                      "试行", "废止日期", "代替", "被代替"]
    assert sheet.freeze_panes == "A2"
    rows = {r[1]: dict(zip(header, r)) for r in sheet_rows(out / "catalogue-2019-06-01.xlsx")[1:]}
    assert {code: r["名称"] for code, r in rows.items()} == TITLES
    first = rows["JGSW01001"]
    assert first["编号"] == "JGSW01001—2018" and first["状态"] == "试行" and first["层次"] == "基础通用"
    assert (first["类别"], first["顺序号"], first["发布日期"]) == ("01", "001", "2018-12-31")
    codes = {c.column_letter: c for c in sheet[2]}
    for cell in sheet[2]:  # codes, sub-items and dates stay text: no number, no date, no formula
        assert cell.value is None or cell.data_type == "s", (cell.coordinate, cell.data_type)
    assert codes["D"].value == "001"  # the sub-item keeps its zeros
    widths = {letter: sheet.column_dimensions[letter].width for letter in ("A", "E")}
    assert widths["A"] >= len("JGSW01001—2018") and widths["E"] >= 2 * len("后勤服务管理标准 绿化服务工作指南") - 2


def test_workbook_verifies_and_a_doctored_cell_is_named(seeded, runner, out):
    from openpyxl import load_workbook

    write(runner, out, "--as-of", DAY.isoformat())
    path = out / "catalogue-2019-06-01.xlsx"
    assert verify(runner, out / "catalogue-2019-06-01.json").exit_code == 0
    book = load_workbook(path)
    book.active["G2"] = "现行"
    book.save(path)
    err = failed(runner, out / "catalogue-2019-06-01.json")
    assert "catalogue-2019-06-01.xlsx: JGSW01001: 状态: file says '现行', the log says '试行'" in err
    assert "catalogue-2019-06-01.sha256: catalogue-2019-06-01.xlsx: the list says sha256" in err
    path.write_bytes(b"not a zip")
    assert "catalogue-2019-06-01.xlsx: not a workbook that can be read" in failed(
        runner, out / "catalogue-2019-06-01.json")


def test_a_workbook_written_before_xlsxwriter_still_verifies(seeded, service, runner, out):
    """Snapshots written before 2026-12-01 hold openpyxl's workbook: verify
    proves those bytes too, and still names a doctored cell in one."""
    from openpyxl import load_workbook

    write(runner, out, "--as-of", DAY.isoformat())
    stem = out / "catalogue-2019-06-01"
    _, _, rows = service.reads.everything_on(DAY)
    earlier = snap.render_xlsx_openpyxl(DAY, snap.views_of(DAY, rows))
    assert earlier != stem.with_suffix(".xlsx").read_bytes()

    def replace_workbook(data: bytes) -> None:
        stem.with_suffix(".xlsx").write_bytes(data)
        stem.with_suffix(".sha256").write_bytes(snap.render_sha256(
            [(stem.with_suffix(k).name, stem.with_suffix(k).read_bytes()) for k in (".json", ".csv", ".xlsx")]))

    replace_workbook(earlier)
    assert verify(runner, stem.with_suffix(".json")).exit_code == 0
    book = load_workbook(stem.with_suffix(".xlsx"))
    book.active["G2"] = "现行"
    doctored = io.BytesIO()
    book.save(doctored)
    replace_workbook(doctored.getvalue())
    assert "JGSW01001: 状态: file says '现行', the log says '试行'" in failed(runner, stem.with_suffix(".json"))


def test_the_workbook_is_written_in_batches_as_in_one_go(seeded):
    """The snapshot sends the workbook its rows a batch at a time, setting the
    widths and the filter last: the bytes are those of the whole list at once."""
    _, _, rows = seeded.reads.everything_on(DAY)
    views = snap.views_of(DAY, rows)
    book = snap.CatalogueBook(DAY)
    for i in range(0, len(views), 2):
        book.add(snap.xlsx_rows(views[i:i + 2]))
    assert book.close() == snap.render_xlsx(DAY, views)


def test_the_snapshot_is_the_same_without_the_workbooks_process_or_after_it_failed(seeded, tmp_path,
                                                                                    monkeypatch):
    """One core (no fork), or a child that dies mid-way: the workbook is
    written in this process from the rows sent, and every file is the same."""
    def written(directory: Path) -> dict[str, bytes]:
        snap.write(seeded, directory, DAY)
        return {n: (directory / n).read_bytes() for n in names(directory)}

    monkeypatch.setattr(snap.os, "cpu_count", lambda: 2)  # it forks, on any machine
    expected = written(tmp_path / "forked")
    with monkeypatch.context() as m:
        m.setattr(snap.os, "cpu_count", lambda: 1)
        assert written(tmp_path / "one-core") == expected
    parent = os.getpid()
    add = snap.CatalogueBook.add

    def dies_in_the_child(self, rows):
        if os.getpid() != parent:
            raise RuntimeError("the workbook's process fails")
        add(self, rows)

    monkeypatch.setattr(snap.CatalogueBook, "add", dies_in_the_child)
    assert written(tmp_path / "child-failed") == expected


def test_a_failed_snapshot_ends_the_workbooks_process(seeded, out, monkeypatch):
    children = []
    real = snap.WorkbookBeside

    def recorded(day):
        beside = real(day)
        children.append(beside._pid)  # None where nothing was forked
        return beside

    def broken(*args, **kwargs):
        raise RuntimeError("the due list cannot be read")

    monkeypatch.setattr(snap, "WorkbookBeside", recorded)
    monkeypatch.setattr(snap.os, "cpu_count", lambda: 2)  # it forks, on any machine
    monkeypatch.setattr(snap.citations, "due", broken)
    with pytest.raises(RuntimeError, match="due list"):
        snap.write(seeded, out, DAY)
    assert not list(out.glob("catalogue-*"))
    (pid,) = children
    assert pid is not None
    with pytest.raises(ChildProcessError):  # ended and waited for: no longer a child
        os.waitpid(pid, os.WNOHANG)


def test_files_made_before_a_failure_are_not_left_behind(seeded, out, monkeypatch):
    """The JSON is on disk (a temp file) while the workbook is finished; if a
    later file fails, nothing is renamed into place and no temp file stays."""
    snap.write(seeded, out, DAY)
    before = {n: (out / n).read_bytes() for n in names(out)}

    def broken(day, views):
        assert [p for p in out.iterdir() if p.name.endswith(".tmp")]  # the JSON's, staged
        raise RuntimeError("the CSV cannot be made")

    monkeypatch.setattr(snap, "render_csv", broken)
    with pytest.raises(RuntimeError, match="CSV"):
        snap.write(seeded, out, DAY)
    assert {n: (out / n).read_bytes() for n in names(out)} == before


FORMULAS = ['=HYPERLINK("http://evil.example/","点击")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3"]


def test_formula_titles_are_neutralised_in_the_csv_and_the_workbook(service, runner, out):
    """Issue 10 finding 5: a title a spreadsheet would run as a formula is
    written with a leading apostrophe, in every spreadsheet the project writes."""
    for title in FORMULAS:
        service.handle(cmd.DraftStandard(category="06", sub_item=None, fields={"title": title},
                                         actor="drafter", reason=None))
    write(runner, out)
    day = service.today().isoformat()
    text = (out / f"catalogue-{day}.csv").read_bytes().decode("utf-8-sig")
    titles = [r[2] for r in list(csv.reader(io.StringIO(text, newline="")))[1:]]
    assert titles == ["'" + t for t in FORMULAS]
    assert [r[4] for r in sheet_rows(out / f"catalogue-{day}.xlsx")[1:]] == ["'" + t for t in FORMULAS]
    assert verify(runner, out / f"catalogue-{day}.json").exit_code == 0
    # the JSON is data, not a spreadsheet: titles as they were sent
    assert [s["title"] for s in json.loads((out / f"catalogue-{day}.json").read_bytes())["standards"]] == FORMULAS


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"])
def test_neutralise_prefixes_what_owasp_names(text):
    assert snap.neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["JGSW05001—2018", "2019-01-01", "内部标准编号规则", "a=b", "", None])
def test_neutralise_leaves_everything_else(text):
    assert snap.neutralise(text) == ("" if text is None else text)
