"""`scripts/bench.py --quick` runs end to end (as in CI): every figure is
measured and written as a number. Timings are never asserted here."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {
    "rebuild_events_per_s", "rebuild_1m_events_s",
    "catalogue_p50_ms", "catalogue_p99_ms", "catalogue_filtered_p50_ms", "catalogue_filtered_p99_ms",
    "asof_valid_p50_ms", "asof_valid_p95_ms", "asof_record_p50_ms", "asof_record_p95_ms",
    "asof_both_p50_ms", "asof_both_p95_ms", "asof_valid_p99_ms", "asof_record_p99_ms", "asof_both_p99_ms",
    "cold_command_ratio", "catalogue_pages_http_rps",
    "snapshot_s", "snapshot_peak_rss_mb",
    "commands_http_rps", "commands_vs_flask_post", "commands_metrics_on_rps", "catalogue_http_rps", "serve_first_answer_s",
    "webhook_lag_p50_ms", "webhook_lag_p95_ms", "webhook_backlog_events_per_s",
    "files_upload_mb_s", "files_download_mb_s", "files_worker_rss_growth_mb",
    "search_sqlite_p95_ms", "search_sqlite_p50_ms", "search_postgresql_p95_ms", "search_postgresql_p50_ms",
}


def test_bench_quick_measures_every_figure(tmp_path: Path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    figures = {f["key"]: f for f in result["figures"]}
    assert set(figures) >= FIGURES, FIGURES - set(figures)
    for key, f in figures.items():
        assert isinstance(f["value"], (int, float)) and math.isfinite(f["value"]) and f["value"] > 0, (key, f)
        if f["baseline"] is not None:
            assert isinstance(f["baseline"], (int, float)) and math.isfinite(f["baseline"]), (key, f)
    assert result["scale"]["standards"] == 1000 and result["scale"]["events"] > 5000
    assert "figure" in done.stdout and "baseline" in done.stdout  # the table


def test_bench_refuses_more_standards_than_numbers(tmp_path: Path):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--standards", "10000",
                           "--json", str(tmp_path / "r.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "6,000" in done.stderr and "sub-item" in done.stderr
