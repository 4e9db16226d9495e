"""Prometheus metrics at ``GET /metrics`` (internal: Caddy exposes only /api/* and /health).

One registry per app (so tests and several apps in one process never share counters). Everything a
self-hoster graphs or alerts on: request latency by route template, chat turns by runtime, LLM latency and
errors by model, what was degraded, memories stored, security incidents, job runs, queued work.
"""

from __future__ import annotations

import re
import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "companion_http_requests_total",
            "HTTP requests by route template",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "companion_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
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

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def record_job(self, job: str, outcome: str, seconds: float) -> None:
        self.job_runs.labels(job=job, outcome=outcome).inc()
        self.job_seconds.labels(job=job).observe(seconds)


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def route_template(scope: Scope) -> str:
    """``/api/chat/{user_id}/messages`` for ``/api/chat/1234/messages``: our API puts the user id right after
    the domain (docs/architecture.md#decisions, D2), other ids are numbers or UUIDs. Unrouted requests (404s,
    scanners) all count as ``unmatched``, so no label ever takes a value from the outside world."""
    if scope.get("route") is None:
        return "unmatched"
    parts = str(scope.get("path", "")).strip("/").split("/")
    for i, part in enumerate(parts):
        if i == 2 and parts[0] == "api" and parts[1] != "admin":
            parts[i] = "{user_id}"
        elif _UUID.match(part):
            parts[i] = "{uuid}"
        elif part.isdigit():
            parts[i] = "{id}"
    return "/" + "/".join(parts)


class MetricsMiddleware:
    """Latency and count of every HTTP request, labelled by the matched route's template (``/api/chat/
    {user_id}/messages``), never the raw path, so user ids never become label values."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            template = route_template(scope)
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method=method, route=template, status=str(status)).inc()
            self.metrics.request_seconds.labels(method=method, route=template).observe(
                time.perf_counter() - started
            )


router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format. Internal only: the gateway's port is not published; Caddy never routes here."""
    metrics: Metrics = request.app.state.metrics
    context = getattr(request.app.state, "context", None)
    if context is not None:
        for kind, count in (await context.chat.pending()).items():
            metrics.queued.labels(kind=kind).set(count)
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
