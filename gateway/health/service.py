"""Dependency checks: each dependency the gateway runs with, its latency, and whether it answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gateway.health.schemas import DependencyStatus, Readiness

Check = Callable[[], Awaitable[Any]]
CHECK_TIMEOUT_SECONDS = 3.0


async def _timed(check: Check) -> DependencyStatus:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # a failing dependency is a result here, not an error
        detail = str(exc) or type(exc).__name__
        return DependencyStatus(ok=False, latency_ms=_ms(started), detail=detail[:300])
    return DependencyStatus(ok=True, latency_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


class HealthService:
    """The gateway's dependency checks (built by the lifespan from what this gateway runs), and the work
    waiting for Postgres to come back (``pending``: the chat pipeline's queues)."""

    def __init__(self, checks: Mapping[str, Check], pending: Callable[[], Awaitable[dict[str, int]]]) -> None:
        self.checks = dict(checks)
        self.pending = pending

    async def check_dependencies(self) -> dict[str, DependencyStatus]:
        results = await asyncio.gather(*(_timed(check) for check in self.checks.values()))
        return dict(zip(self.checks, results, strict=True))

    async def readiness(self) -> Readiness:
        dependencies = await self.check_dependencies()
        degraded = [name for name, status in dependencies.items() if not status.ok]
        return Readiness(
            status="degraded" if degraded else "ok",
            dependencies=dependencies,
            degraded=degraded,
            queued=await self.pending(),
        )
