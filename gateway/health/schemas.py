"""What the health routes answer."""

from __future__ import annotations

from pydantic import BaseModel


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
