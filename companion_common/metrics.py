"""Prometheus request metrics for an HTTP service (needs prometheus-client and Starlette).

Each service subclasses :class:`HttpMetrics` with its own series and installs :class:`HttpMetricsMiddleware`.
One registry per app, so tests and several apps in one process never share counters.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HttpMetrics:
    """``<prefix>_http_requests_total{method,route,status}`` and ``<prefix>_http_request_seconds{method,route}``
    in a registry of the app's own."""

    def __init__(self, prefix: str, buckets: Sequence[float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            f"{prefix}_http_requests_total",
            "HTTP requests by route template",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            f"{prefix}_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=buckets,
            registry=self.registry,
        )

    def render(self) -> bytes:
        """Every series of the registry, in Prometheus text format."""
        return generate_latest(self.registry)


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/chat/{user_id}/messages``), never the raw path, so no label value
    ever comes from the outside world; ``unmatched`` for requests no route took (404s, scanners)."""
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return "unmatched"
    # A route of an included router knows only its path below the router's prefix ("/{user_id}/messages");
    # the prefix is literal, so it is the request path's leading segments.
    segments = str(scope.get("path", "")).split("/")
    return "/".join(segments[: len(segments) - template.count("/")]) + template


class HttpMetricsMiddleware:
    """Latency and count of every HTTP request, labelled by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
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
