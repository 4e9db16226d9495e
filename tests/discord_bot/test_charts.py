"""The mood chart renders a PNG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from discord_bot.charts import PadPoint, render_pad_history


def test_chart_is_a_png() -> None:
    """A few points give PNG bytes."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    points = [PadPoint(start + timedelta(hours=i), 0.1 * i, -0.1 * i, 0.05) for i in range(5)]
    assert render_pad_history(points, title="Mood").startswith(b"\x89PNG")
