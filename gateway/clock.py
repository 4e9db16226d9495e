"""The one clock every time-dependent rule reads (docs/architecture.md#decisions, D10).

The lifespan builds a ``SystemClock`` and hands ``clock.now`` to every service that asks "what time is it";
tests hand in a ``FrozenClock`` instead and move it forward, so a simulated week runs in seconds through
the real services (proactive limits, needs, mood decay, nightly drift and the jobs all agree on "now").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (tests, simulations, benchmarks)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("FrozenClock.set needs a timezone-aware time")
        self._now = when.astimezone(UTC)
        return self._now

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**parts)`` (``advance(hours=1)``); returns the new now."""
        self._now += delta if delta is not None else timedelta(**parts)
        return self._now


# Simulations read more naturally with this name; it is the same object.
SimulatedClock = FrozenClock
