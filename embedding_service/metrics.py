"""Prometheus metrics at ``GET /metrics``: request latency by route, texts embedded (cached or computed)
by task, and how long the model takes per batch. One registry per app."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram

from companion_common.metrics import HttpMetrics

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics(HttpMetrics):
    def __init__(self) -> None:
        super().__init__("embedding", BUCKETS)
        self.texts = Counter(
            "embedding_texts_total",
            "Texts embedded, by task and source",
            ["task", "source"],
            registry=self.registry,
        )
        self.model_seconds = Histogram(
            "embedding_model_seconds",
            "Model time per batch of cache misses",
            buckets=BUCKETS,
            registry=self.registry,
        )


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
