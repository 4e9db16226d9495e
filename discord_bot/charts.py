"""The PAD history chart for ``/personality history``: a PNG rendered with matplotlib's Agg backend (no
display needed), in a worker thread because rendering blocks for tens of milliseconds."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PadPoint:
    at: datetime
    pleasure: float
    arousal: float
    dominance: float


def render_pad_history(points: Sequence[PadPoint], *, title: str) -> bytes:
    """A line chart of pleasure, arousal and dominance over time (y in [-1, 1]); PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.add_subplot()
    ordered = sorted(points, key=lambda point: point.at)
    times = [point.at for point in ordered]
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
    axes.axhline(0.0, color="#999999", lw=0.8, ls="--")
    axes.set_ylim(-1.05, 1.05)
    axes.set_ylabel("PAD")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", fontsize="small")
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(mdates.AutoDateLocator()))  # type: ignore[no-untyped-call]
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
