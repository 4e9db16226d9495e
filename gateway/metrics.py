"""Prometheus metrics at ``GET /metrics`` (internal: Caddy exposes only /api/* and /health).

One registry per app (so tests and several apps in one process never share counters). Everything a
self-hoster graphs or alerts on: request latency by route template, chat turns by runtime, LLM latency and
errors by model, what was degraded, memories stored, security incidents, job runs, queued work.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram

from companion_common.metrics import HttpMetrics

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics(HttpMetrics):
    def __init__(self) -> None:
        super().__init__("companion", LATENCY_BUCKETS)
        r = self.registry
        self.chat_turns = Counter(
            "companion_chat_turns_total", "Chat turns by runtime", ["runtime"], registry=r
        )
        self.turn_overhead_seconds = Histogram(
            "companion_chat_overhead_seconds",
            "The gateway's own time per chat turn (processing minus Letta/LLM time)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_requests = Counter(
            "companion_llm_requests_total",
            "Chat LLM calls by model and outcome",
            ["model", "outcome"],
            registry=r,
        )
        self.llm_seconds = Histogram(
            "companion_llm_seconds",
            "Chat LLM latency by model",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.degraded = Counter(
            "companion_degraded_total",
            "Turns that bypassed a component, by component",
            ["component"],
            registry=r,
        )
        self.memories_stored = Counter(
            "companion_memories_stored_total", "Memories written, by type", ["memory_type"], registry=r
        )
        self.incidents = Counter(
            "companion_security_incidents_total",
            "Security incidents, by threat kind",
            ["threat_kind"],
            registry=r,
        )
        self.job_runs = Counter(
            "companion_job_runs_total",
            "Scheduled job runs by job and outcome",
            ["job", "outcome"],
            registry=r,
        )
        self.job_seconds = Histogram(
            "companion_job_seconds",
            "Scheduled job duration",
            ["job"],
            buckets=(0.1, 1, 5, 30, 120, 600, 3600),
            registry=r,
        )
        self.queued = Gauge(
            "companion_queued_work", "Work waiting for Postgres, by kind", ["kind"], registry=r
        )

    def record_job(self, job: str, outcome: str, seconds: float) -> None:
        self.job_runs.labels(job=job, outcome=outcome).inc()
        self.job_seconds.labels(job=job).observe(seconds)


router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format. Internal only: the gateway's port is not published; Caddy never routes here."""
    metrics: Metrics = request.app.state.metrics
    services = getattr(request.app.state, "services", None)  # gateway/deps.py, from the lifespan on
    if services is not None:
        for kind, count in (await services.chat.pending()).items():
            metrics.queued.labels(kind=kind).set(count)
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
