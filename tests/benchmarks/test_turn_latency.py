"""The turn-latency benchmark runs end to end on a tiny load and counts what it stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.turn_latency import main


@pytest.mark.slow
def test_turn_latency_runs_and_loses_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "turns.json"
    assert main(["--users", "2", "--turns", "3", "--think-ms", "0", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["turns"] == 6 and report["errors"] == 0
    assert report["lost_messages"] == 0 and report["lost_memories"] == 0
    assert report["memories_stored"] == report["memories_expected"] == 2 * (6 + 2)
    for key in ("overhead_p50_ms", "overhead_p95_ms", "overhead_p99_ms", "turns_per_s"):
        assert report[key] > 0, key
    assert set(report["stage_ms"]) >= {"security", "mood_and_recall", "agent", "needs_and_interaction"}
    assert "turn_latency [direct] 2 users x 3 turns" in capsys.readouterr().out
