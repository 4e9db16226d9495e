"""benchmarks.retrieval's command line (the measurement itself is the benchmark's to run, not the tests')."""

from __future__ import annotations

import pytest

from benchmarks.retrieval import main


def test_gemini_without_a_key_stops_before_starting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--embedding gemini`` without GEMINI_API_KEY: exit code 2 and one line naming the variable."""
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    assert main(["--embedding", "gemini"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("python -m benchmarks.retrieval: error: --embedding gemini: GEMINI_API_KEY: ")
