"""Issue 10, findings 9, 12 and 13: what the operator gives `lifecycle
snapshot` (a directory, a day) and what a snapshot's .sha256 list names.
Bad input is one line on stderr and exit 2, never a traceback; `snapshot
verify` reads only files of the snapshot's own directory, by plain name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from lifecycle.seed import seed


@pytest.fixture
def seeded(service):
    seed(service)
    return service


def lifecycle(settings, *args: str) -> subprocess.CompletedProcess:
    """The real console script, as cron runs it."""
    exe = Path(sys.executable).with_name("lifecycle")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "api.cli"]
    env = {**os.environ, "LIFECYCLE_DATABASE_URL": settings.database_url}
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=120)


def refused(done: subprocess.CompletedProcess) -> str:
    """Exit 2, one line on stderr, nothing on stdout, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    return lines[0]


# ------------------------------------------------------------------ 12: --dir and --as-of
def test_dir_below_a_file_is_one_line_exit_2(seeded, settings, tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    line = refused(lifecycle(settings, "snapshot", "--dir", str(tmp_path / "afile" / "sub")))
    assert "afile" in line and "not a directory" in line


def test_dir_that_is_a_device_is_one_line_exit_2(seeded, settings):
    line = refused(lifecycle(settings, "snapshot", "--dir", "/dev/null"))
    assert "/dev/null" in line and "not a directory" in line


def _make_unwritable(directory: Path) -> None:
    """Root ignores file modes, so as root the directory is made immutable."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        return
    done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is refused here, so root cannot make a directory unwritable: "
                    f"{done.stderr.strip()}")


def _make_writable(directory: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(directory)], check=False)
    directory.chmod(0o755)


def test_an_unwritable_dir_is_one_line_exit_2_and_leaves_nothing(seeded, settings, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    _make_unwritable(locked)
    try:
        line = refused(lifecycle(settings, "snapshot", "--dir", str(locked), "--as-of", "2019-06-01"))
        assert str(locked) in line
        assert list(locked.iterdir()) == []
    finally:
        _make_writable(locked)


@pytest.mark.parametrize("day, words", [
    ("2025-02-30", "February 2025 has 28 days"),
    ("2024-02-30", "February 2024 has 29 days"),
    ("2025-13-01", "no month 13"),
    ("20250101", "YYYY-MM-DD"),
    ("9999-12-31", "1949-01-01 to 2100-12-31"),     # finding 9
    ("1948-12-31", "1949-01-01 to 2100-12-31"),
])
def test_as_of_that_is_no_day_of_the_register_is_one_line_exit_2(seeded, settings, tmp_path, day, words):
    line = refused(lifecycle(settings, "snapshot", "--dir", str(tmp_path / "out"), "--as-of", day))
    assert words in line and day in line
    assert not (tmp_path / "out").exists()


def test_as_of_at_the_ends_of_the_range_is_written(seeded, runner, tmp_path):
    for day in ("1949-01-01", "2100-12-31"):
        result = runner.invoke(main, ["snapshot", "--dir", str(tmp_path / "out"), "--as-of", day])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "out" / f"catalogue-{day}.json").is_file()


# ------------------------------------------------------------------ 13: verify reads its own files only
def _snapshot(runner, directory: Path) -> Path:
    result = runner.invoke(main, ["snapshot", "--dir", str(directory), "--as-of", "2019-06-01"])
    assert result.exit_code == 0, result.output
    return directory / "catalogue-2019-06-01.json"


@pytest.mark.parametrize("name", ["/etc/shadow", "/etc/passwd", "../secret.txt", "sub/catalogue.csv",
                                  "..", ".", "..\\secret.txt"])
def test_verify_reads_no_file_outside_the_snapshots_directory(seeded, runner, tmp_path, name):
    out = tmp_path / "snapshots"
    path = _snapshot(runner, out)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the snapshot")
    (out / "sub").mkdir()
    (out / "sub" / "catalogue.csv").write_text("x")
    sums = out / "catalogue-2019-06-01.sha256"
    sums.write_text(sums.read_text() + f"{'0' * 64}  {name}\n")
    result = runner.invoke(main, ["snapshot", "verify", str(path)])
    assert result.exit_code == 1, result.output
    assert f"names {name!r}" in result.stderr and "not read" in result.stderr
    # a wrong hash of a file that was read would say "the file's is …"
    assert "the file's is" not in result.stderr


def test_verify_follows_no_symbolic_link_out_of_the_directory(seeded, runner, tmp_path):
    out = tmp_path / "snapshots"
    path = _snapshot(runner, out)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the snapshot")
    (out / "extra.txt").symlink_to(secret)
    sums = out / "catalogue-2019-06-01.sha256"
    sums.write_text(sums.read_text() + f"{'0' * 64}  extra.txt\n")
    result = runner.invoke(main, ["snapshot", "verify", str(path)])
    assert result.exit_code == 1, result.output
    assert "extra.txt" in result.stderr and "symbolic link" in result.stderr
    assert "the file's is" not in result.stderr


def test_verify_still_proves_files_named_plainly(seeded, runner, tmp_path):
    path = _snapshot(runner, tmp_path / "snapshots")
    result = runner.invoke(main, ["snapshot", "verify", str(path)])
    assert result.exit_code == 0, result.stderr
    (path.with_suffix(".csv")).write_bytes(b"changed")
    result = runner.invoke(main, ["snapshot", "verify", str(path)])
    assert result.exit_code == 1 and "the file's is" in result.stderr
