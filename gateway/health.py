"""Liveness (``/health``) and readiness (``/health/ready``: every dependency with its latency)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from gateway.context import AppContext, Context

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 3.0


class DependencyStatus(BaseModel):
    ok: bool
    latency_ms: float
    detail: str | None = None


class Liveness(BaseModel):
    status: str
    service: str


class Readiness(BaseModel):
    status: str  # "ok" when every dependency answers, else "degraded"
    dependencies: dict[str, DependencyStatus]
    degraded: list[str]
    queued: dict[str, int] = {}  # work waiting for Postgres to come back (interactions, memories)


async def _timed(check: Callable[[], Awaitable[Any]]) -> DependencyStatus:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # a failing dependency is a result here, not an error
        detail = str(exc) or type(exc).__name__
        return DependencyStatus(ok=False, latency_ms=_ms(started), detail=detail[:300])
    return DependencyStatus(ok=True, latency_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def check_dependencies(context: AppContext) -> dict[str, DependencyStatus]:
    async def postgres() -> None:
        async with context.pool.acquire(timeout=CHECK_TIMEOUT_SECONDS) as conn:
            await conn.fetchval("SELECT 1")

    async def redis() -> None:
        await context.redis.ping()

    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        "postgres": postgres,
        "redis": redis,
        "embedding_service": context.embedding.health,
        context.vector_index.name: context.vector_index.health,
    }
    if context.chat_llm is not None:
        checks["chat_llm"] = context.chat_llm.health
    for runtime in context.chat.runtimes:
        if runtime.name == "letta":
            checks["letta"] = runtime.health
    results = await asyncio.gather(*(_timed(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


@router.get("/health", response_model=Liveness)
async def liveness() -> Liveness:
    """The process is up and serving (no dependency is touched)."""
    return Liveness(status="ok", service="gateway")


@router.get("/health/ready", response_model=Readiness)
async def readiness(context: Context) -> Readiness:
    """Every dependency, checked now; a down dependency degrades the gateway instead of failing it."""
    dependencies = await check_dependencies(context)
    degraded = [name for name, status in dependencies.items() if not status.ok]
    return Readiness(
        status="degraded" if degraded else "ok",
        dependencies=dependencies,
        degraded=degraded,
        queued=await context.chat.pending(),
    )
