"""Liveness (``/health``) and readiness (``/health/ready``: every dependency with its latency)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.deps import HealthServiceDep
from gateway.health.schemas import Liveness, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Liveness)
async def liveness() -> Liveness:
    """The process is up and serving (no dependency is touched)."""
    return Liveness(status="ok", service="gateway")


@router.get("/health/ready", response_model=Readiness)
async def readiness(health: HealthServiceDep) -> Readiness:
    """Every dependency, checked now; a down dependency degrades the gateway instead of failing it."""
    return await health.readiness()
