"""The proactive-scan benchmark runs end to end on a small population and reports its figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks.proactive_scan import main


@pytest.mark.slow
def test_proactive_scan_runs_and_counts_queries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One check over 60 users: everyone scored, a handful of queries for the scan, the JSON written."""
    out = tmp_path / "scan.json"
    assert main(["--users", "60", "--interactions", "5", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["users"] == report["users_scored"] == 60
    assert report["seconds"] > 0 and report["queries"] > 0
    assert report["queries_per_user"] == pytest.approx(report["queries"] / 60, abs=1e-4)
    assert report["delivered"] == report["pushes_recorded"] == report["initiated"]
    assert "proactive_scan: 60 users" in capsys.readouterr().out


@pytest.mark.slow
def test_proactive_scan_measures_each_size_with_its_resident_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--users 30,90: one scan per size, each over its own population, with RSS before, after and at peak."""
    out = tmp_path / "scan.json"
    assert main(["--users", "30,90", "--interactions", "3", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["interactions_per_user"] == 3
    assert [scan["users"] for scan in report["scans"]] == [30, 90]
    for scan in report["scans"]:
        assert scan["users_scored"] == scan["users"]  # a fresh stack each: no users left from the last size
        assert scan["seconds"] > 0 and scan["queries"] > 0 and scan["seed_seconds"] > 0
        assert scan["rss_before_mb"] > 0 and scan["rss_after_mb"] > 0
        assert scan["rss_growth_mb"] == pytest.approx(scan["rss_after_mb"] - scan["rss_before_mb"], abs=0.11)
        if sys.platform == "linux":
            assert scan["rss_peak_mb"] >= scan["rss_after_mb"] - 0.1
        assert scan["peak_python_mb_paged"] > 0
    printed = capsys.readouterr().out
    assert "proactive_scan: 30 users" in printed and "proactive_scan: 90 users" in printed
