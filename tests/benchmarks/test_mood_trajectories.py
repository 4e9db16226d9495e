"""The mood-trajectories benchmark, run whole against the session's Postgres: every scenario moves the
mood the way its story says, and the report explains its own figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.mood_trajectories import SCENARIOS, main


def test_main_replays_every_scenario(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "moods.json"
    assert main(["--database-url", database_url, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    scenarios = report["scenarios"]
    assert set(scenarios) == {s.name for s in SCENARIOS}
    assert report["settings"]["baseline_drift_rate"] == 0.01

    cheerful = scenarios["cheerful_week"]["summary"]
    assert cheerful["min_pleasure_after_a_turn"] > 0
    assert cheerful["most_common_label_after_turns"] == "happy"
    assert cheerful["final_baseline"]["pleasure"] > 0.005  # nightly drift toward a happy week
    assert cheerful["baseline_drifts_applied"] >= 5

    grief = scenarios["grief"]["summary"]
    assert grief["min_pleasure_after_a_turn"] < -0.1
    assert grief["min_dominance_after_a_turn"] < -0.1
    assert grief["most_common_label_after_turns"] == "sad"
    assert grief["final_baseline"]["pleasure"] < 0

    hostility = scenarios["hostility"]
    pleasures = [t["pad_after"]["pleasure"] for t in hostility["turns"]]
    assert pleasures == sorted(pleasures, reverse=True) and pleasures[-1] < -0.3  # each insult hurts more
    assert hostility["summary"]["final_pad"]["pleasure"] > pleasures[-1]  # and it fades overnight

    small_talk = scenarios["small_talk"]["summary"]
    assert abs(small_talk["min_pleasure_after_a_turn"]) < 0.05
    assert small_talk["labels_after_turns"] == ["neutral"]

    first_turn = scenarios["grief"]["turns"][0]
    for key in ("event_cues", "occ_emotions_felt", "pad_delta", "pad_before", "pad_after", "label_after"):
        assert key in first_turn
    assert first_turn["event_cues"] == ["loss"]
    assert len(scenarios["grief"]["readings_every_3_hours"]) > 20

    stdout = capsys.readouterr().out.strip().splitlines()
    assert stdout[-1].startswith("mood trajectories: cheerful_week P +")
    assert stdout[-1] == report["summary_line"]
