"""Pure logic: the sliding-window limiter and the per-user locks."""

from __future__ import annotations

import asyncio

from discord_bot.ratelimit import KeyedLocks, SlidingWindowLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_limiter_allows_up_to_the_limit_then_refuses() -> None:
    """Three per window, the fourth refused with the time to wait."""
    clock = Clock()
    limiter = SlidingWindowLimiter(3, 3600, clock)
    assert [limiter.try_acquire("u") for _ in range(4)] == [True, True, True, False]
    assert limiter.retry_after("u") == 3600
    assert limiter.try_acquire("other")


def test_limiter_window_slides() -> None:
    """Events older than the window stop counting."""
    clock = Clock()
    limiter = SlidingWindowLimiter(2, 60, clock)
    limiter.try_acquire("u")
    clock.now = 30
    limiter.try_acquire("u")
    assert not limiter.try_acquire("u")
    clock.now = 60
    assert limiter.try_acquire("u")
    clock.now = 1000
    limiter.forget_idle()
    assert limiter.used("u") == 0


async def test_keyed_locks_keep_order_and_clean_up() -> None:
    """Holders of one key run one at a time, in arrival order; idle keys are dropped."""
    locks = KeyedLocks()
    order: list[int] = []

    async def work(index: int) -> None:
        async with locks.hold("user"):
            order.append(index)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(work(i) for i in range(5)))
    assert order == [0, 1, 2, 3, 4]
    assert len(locks) == 0
