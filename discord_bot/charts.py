"""The PAD history chart for ``/personality history``: a PNG rendered with matplotlib's Agg backend (no
display needed), in a worker thread because rendering blocks for tens of milliseconds."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Mood changes can be seconds apart; a narrower time axis would be labelled in fractions of a second.
MIN_SPAN = timedelta(minutes=10)
# Tick labels by tick spacing (years, months, days, hours, minutes, seconds), then the zero and offset
# forms, as ConciseDateFormatter takes them: never fractions of a second.
_TICK_FORMATS = ["%Y", "%b", "%d %b", "%H:%M", "%H:%M", "%H:%M:%S"]
_ZERO_FORMATS = ["", "%Y", "%b", "%d %b", "%H:%M", "%H:%M"]
_OFFSET_FORMATS = ["", "%Y", "%b %Y", "%d %b %Y", "%d %b %Y", "%d %b %Y %H:%M"]


@dataclass(frozen=True)
class PadPoint:
    at: datetime
    pleasure: float
    arousal: float
    dominance: float


def pad_history_figure(points: Sequence[PadPoint], *, title: str, tz: tzinfo = UTC) -> Figure:
    """A line chart of pleasure, arousal and dominance over time (y in [-1, 1]), times shown in ``tz``
    (the user's time zone) and labelled as dates or clock times to suit the span, at least ten minutes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.add_subplot()
    ordered = sorted(points, key=lambda point: point.at)
    times = [point.at.astimezone(tz) for point in ordered]
    for name, colour, values in (
        ("Pleasure", "#2e9d5b", [point.pleasure for point in ordered]),
        ("Arousal", "#d9822b", [point.arousal for point in ordered]),
        ("Dominance", "#4a6fd1", [point.dominance for point in ordered]),
    ):
        axes.plot(
            times,  # type: ignore[arg-type]
            values,
            label=name,
            color=colour,
            marker="o" if len(ordered) < 40 else None,
            lw=1.6,
        )
    if times and times[-1] - times[0] < MIN_SPAN:
        middle = times[0] + (times[-1] - times[0]) / 2
        axes.set_xlim(middle - MIN_SPAN / 2, middle + MIN_SPAN / 2)  # type: ignore[arg-type]
    axes.axhline(0.0, color="#999999", lw=0.8, ls="--")
    axes.set_ylim(-1.05, 1.05)
    axes.set_ylabel("PAD")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", fontsize="small")
    locator = mdates.AutoDateLocator(tz=tz)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
            locator, tz=tz, formats=_TICK_FORMATS, zero_formats=_ZERO_FORMATS, offset_formats=_OFFSET_FORMATS
        )
    )
    figure.tight_layout()
    return figure


def render_pad_history(points: Sequence[PadPoint], *, title: str, tz: tzinfo = UTC) -> bytes:
    """The chart of ``pad_history_figure`` as PNG bytes."""
    buffer = io.BytesIO()
    pad_history_figure(points, title=title, tz=tz).savefig(buffer, format="png")
    return buffer.getvalue()
