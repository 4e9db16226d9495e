"""Per-key sliding-window rate limiting and per-key locks, independent of discord.py (tested directly)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class SlidingWindowLimiter:
    """At most ``limit`` events per ``window_seconds`` for each key (e.g. 3 proactive pushes per user per
    hour). ``clock`` is injectable so tests never sleep."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit must be >= 1 and window_seconds > 0")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def _prune(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and now - events[0] >= self.window_seconds:
            events.popleft()
        return events

    def try_acquire(self, key: str) -> bool:
        """Record an event for ``key`` if the window has room; False (nothing recorded) otherwise."""
        now = self._clock()
        events = self._prune(key, now)
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may act again (0 when it may now)."""
        now = self._clock()
        events = self._prune(key, now)
        if len(events) < self.limit:
            return 0.0
        return max(0.0, self.window_seconds - (now - events[0]))

    def used(self, key: str) -> int:
        return len(self._prune(key, self._clock()))

    def forget_idle(self) -> None:
        """Drop keys with no event in the window (bounded memory with many users)."""
        now = self._clock()
        for key in [key for key in self._events if not self._prune(key, now)]:
            del self._events[key]


class KeyedLocks:
    """One asyncio lock per key, created on demand and dropped when nobody holds or waits for it, so a
    user's messages are answered one at a time, in order (asyncio locks are FIFO)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    def busy(self, key: str) -> bool:
        return key in self._locks

    def __len__(self) -> int:
        return len(self._locks)
