"""``create_app(settings)``: the FastAPI application and the lifespan that builds its clients."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from companion_common.metrics import HttpMetricsMiddleware
from embedding_service.cache import EmbeddingCache, create_redis
from embedding_service.config import Environment, Settings
from embedding_service.context import ServiceContext
from embedding_service.errors import install_error_handlers
from embedding_service.metrics import Metrics
from embedding_service.metrics import router as metrics_router
from embedding_service.providers import build_provider
from embedding_service.routes import router
from embedding_service.service import Embedder

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # settings -> Redis -> provider (the local model loads here, once) -> embedder; torn down in reverse.
        async with AsyncExitStack() as stack:
            redis = create_redis(settings.redis_url.get_secret_value())
            stack.push_async_callback(redis.aclose)
            cache = EmbeddingCache(
                redis, dimensions=settings.dimensions, ttl_seconds=settings.cache_ttl_seconds
            )
            provider = await build_provider(settings)
            stack.push_async_callback(provider.aclose)
            app.state.context = ServiceContext(
                settings=settings, cache=cache, embedder=Embedder(provider, cache, metrics)
            )
            cache_state = "ok" if await cache.ping() else "unavailable (serving uncached)"
            logger.info(
                "embedding service ready: provider=%s model=%s dimensions=%d cache=%s",
                provider.name,
                provider.model,
                provider.dimensions,
                cache_state,
            )
            yield

    docs = settings.environment is not Environment.PRODUCTION
    app = FastAPI(
        title="Companion embedding service",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.metrics = metrics
    app.include_router(router)
    app.include_router(metrics_router)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    install_error_handlers(app)  # last: its middlewares wrap the metrics
    return app
