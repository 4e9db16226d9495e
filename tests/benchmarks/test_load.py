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


@pytest.mark.slow
def test_load_compares_one_replica_with_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--replicas 2 measures one process, then two with fresh users, each turn counted and stored once."""
    out = tmp_path / "load.json"
    args = [
        "--users",
        "3",
        "--minutes",
        "0.1",
        "--llm-ms",
        "20",
        "--think-s",
        "0",
        "--proactive-every-s",
        "2",
    ]
    assert main([*args, "--replicas", "2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["saturated"] is True
    assert [phase["replicas"] for phase in report["phases"]] == [1, 2]
    for phase in report["phases"]:
        assert phase["turns"] >= 3 and phase["errors"] == 0, phase["error_samples"]
        assert phase["lost_messages"] == 0 and phase["lost_memories"] == 0
        assert phase["interactions_stored"] == phase["turns"]
        assert sum(phase["turns_per_replica"]) == phase["turns"]
        assert all(turns > 0 for turns in phase["turns_per_replica"])  # no replica left idle
        assert 0 < phase["turns_answered_in_time"] <= phase["turns"]
        assert phase["turns_per_second"] == pytest.approx(
            phase["turns_answered_in_time"] / (0.1 * 60), abs=0.01
        )
        assert phase["latency_ms"]["p50"] >= 20  # the fake LLM's latency is inside every turn
        assert 0 < phase["overhead_ms"]["p50"] <= phase["overhead_ms"]["p95"] < phase["latency_ms"]["p95"]
        assert len(phase["gateway_processes"]) == phase["replicas"]
        assert all(p["rss_start_mb"] > 0 and p["rss_end_mb"] > 0 for p in phase["gateway_processes"])
        assert all(p["cpu_s"] > 0 for p in phase["gateway_processes"])
        assert {run["replica"] for run in phase["proactive_runs"]} <= set(range(phase["replicas"]))
        assert phase["proactive_runs"] and all(run["status"] == 202 for run in phase["proactive_runs"])
    one, two = report["phases"]
    assert report["throughput_ratio"] == pytest.approx(
        two["turns_per_second"] / one["turns_per_second"], abs=1e-3
    )
    assert "1 replica(s)" in capsys.readouterr().out
