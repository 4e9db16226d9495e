"""The load benchmark runs end to end on a tiny load and counts what it stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.load import main


@pytest.mark.slow
def test_load_runs_and_loses_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "load.json"
    args = [
        "--users",
        "3",
        "--minutes",
        "0.15",
        "--llm-ms",
        "20",
        "--think-s",
        "1",
        "--proactive-every-s",
        "3",
    ]
    assert main([*args, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["turns"] >= 3 and report["errors"] == 0
    assert report["lost_messages"] == 0 and report["lost_memories"] == 0
    assert report["interactions_stored"] == report["turns"]
    for key in ("e2e_p95_ms", "overhead_p95_ms", "rss_mb"):
        assert report[key] > 0, key
    assert report["e2e_p50_ms"] >= 20  # the fake LLM's latency is inside every turn
    assert report["proactive_runs"] and all(run["status"] == 202 for run in report["proactive_runs"])
    assert "load 3 users" in capsys.readouterr().out
