"""The mood chart: a PNG, in the user's time zone, its time axis labelled to suit the span."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from matplotlib.figure import Figure

from discord_bot.charts import PadPoint, pad_history_figure, render_pad_history


def test_chart_is_a_png() -> None:
    """A few points give PNG bytes."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    points = [PadPoint(start + timedelta(hours=i), 0.1 * i, -0.1 * i, 0.05) for i in range(5)]
    assert render_pad_history(points, title="Mood").startswith(b"\x89PNG")


def tick_labels(figure: Figure) -> tuple[list[str], str]:
    """The x-axis labels as drawn, and the offset (the date shown once at the axis end)."""
    figure.draw_without_rendering()
    [axes] = figure.axes
    return [label.get_text() for label in axes.get_xticklabels()], axes.xaxis.get_offset_text().get_text()


def test_mood_changes_seconds_apart_are_labelled_in_clock_times() -> None:
    """Points half a second apart: the axis reads hours and minutes, never fractions of a second."""
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    points = [PadPoint(start + timedelta(seconds=0.5 * i), 0.1 * i, 0.0, 0.0) for i in range(3)]
    labels, offset = tick_labels(pad_history_figure(points, title="Mood"))
    assert labels and all(re.fullmatch(r"\d\d:\d\d", label) for label in labels), labels
    assert "12:00" in labels
    assert offset == "01 Mar 2025"


def test_the_chart_is_drawn_in_the_users_time_zone() -> None:
    """Noon UTC shows as 13:00 for someone in Paris."""
    start = datetime(2025, 3, 1, 11, 0, tzinfo=UTC)
    points = [PadPoint(start + timedelta(minutes=30 * i), 0.1 * i, 0.0, 0.0) for i in range(5)]
    labels, _ = tick_labels(pad_history_figure(points, title="Mood", tz=ZoneInfo("Europe/Paris")))
    assert "13:00" in labels and "11:00" not in labels, labels


def test_a_month_of_mood_is_labelled_in_dates() -> None:
    """Over weeks the axis reads days and months, with no times of day."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    points = [PadPoint(start + timedelta(days=3 * i), 0.0, 0.0, 0.0) for i in range(20)]
    labels, _ = tick_labels(pad_history_figure(points, title="Mood"))
    assert labels and not any(":" in label for label in labels), labels
