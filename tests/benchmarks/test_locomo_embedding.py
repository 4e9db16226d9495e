"""``benchmarks.locomo --embedding gemini``: the benchmark's own embedding service embeds through the Gemini API
(here the local fake of it, reached through GEMINI_BASE_URL) and the report says so; without a usable key the
command stops with one line and exit code 2 instead of running half a benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.locomo import load_locomo, main
from tests.benchmarks.test_locomo_parsing import tiny_locomo
from tests.fakes.gemini import start_fake_gemini


@pytest.fixture
def locomo_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_locomo.json"
    path.write_text(json.dumps(tiny_locomo()))
    return path


@pytest.mark.slow
def test_gemini_embeds_every_turn_and_question(
    locomo_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every turn and question goes to Gemini at the service's 1536 dims, and the report names the model."""
    out = tmp_path / "report.json"
    with start_fake_gemini() as fake:
        monkeypatch.setenv("GEMINI_API_KEY", fake.api_key)
        monkeypatch.setenv("GEMINI_BASE_URL", fake.base_url)
        args = ["--data", str(locomo_file), "--k", "1", "3", "--embedding", "gemini", "--json", str(out)]
        assert main(args) == 0
        calls = fake.calls
    report = json.loads(out.read_text())
    assert report["embedding"] == {"provider": "gemini", "model": "gemini-embedding-001", "dimensions": 1536}
    assert (report["turns_ingested"], report["turns_without_vector"]) == (9, 0)
    assert report["questions_evaluated"] == 7
    conversations = load_locomo(locomo_file)
    documents = [text for call in calls if call.task_types == {"RETRIEVAL_DOCUMENT"} for text in call.texts]
    queries = {text for call in calls if call.task_types == {"RETRIEVAL_QUERY"} for text in call.texts}
    assert sorted(documents) == sorted(turn.content for c in conversations for turn in c.turns)
    assert {q.question for c in conversations for q in c.questions} <= queries
    assert {call.status for call in calls} == {200}
    # One call per session, one per question and the start-up check: the cost docs/benchmarks.md gives.
    sessions = sum(len(c.sessions) for c in conversations)
    assert len(calls) == sessions + report["questions_evaluated"] + 1
    assert {dims for call in calls for dims in call.dimensions} == {1536}
    assert capsys.readouterr().out.rstrip().endswith("| embedding gemini gemini-embedding-001 1536-d")


def test_gemini_without_a_key_stops_before_starting(
    locomo_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No GEMINI_API_KEY: exit code 2 and one line naming the variable, printed before anything else."""
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    assert main(["--data", str(locomo_file), "--embedding", "gemini"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("python -m benchmarks.locomo: error: --embedding gemini: GEMINI_API_KEY: ")


@pytest.mark.slow
def test_a_key_gemini_rejects_stops_before_ingesting(
    locomo_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key Gemini answers 400 to: exit code 2 after one embedding call, with Gemini's reason."""
    with start_fake_gemini(api_key="the-right-key") as fake:
        monkeypatch.setenv("GEMINI_API_KEY", "a-wrong-key")
        monkeypatch.setenv("GEMINI_BASE_URL", fake.base_url)
        assert main(["--data", str(locomo_file), "--embedding", "gemini"]) == 2
        calls = fake.calls
    assert [call.status for call in calls] == [400]
    out, err = capsys.readouterr()
    assert out == ""
    assert "--embedding gemini: the embedding service cannot embed (502)" in err
    assert "API key not valid" in err
