"""The proactive-scan benchmark runs end to end on a small population and reports its figures."""

from __future__ import annotations

import json
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
