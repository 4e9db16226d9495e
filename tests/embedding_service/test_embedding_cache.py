"""Redis is an optimisation: when it is down the service answers uncached and says so in /health."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis

from embedding_service.cache import cache_key
from scripts.localstack import free_port
from tests.embedding_service.conftest import AppFactory


@pytest.fixture(scope="module")
async def no_redis_client(app_factory: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    """The local-provider app with REDIS_URL pointing at a closed port."""
    async with app_factory(f"redis://127.0.0.1:{free_port()}/0") as client:
        yield client


async def test_redis_down_still_embeds(no_redis_client: httpx.AsyncClient) -> None:
    """With Redis unreachable /embed still answers 200, every text uncached, even on repeat."""
    for _ in range(2):
        response = await no_redis_client.post("/embed", json={"texts": ["still works", "really"]})
        assert response.status_code == 200
        assert response.json()["cached"] == [False, False]


async def test_redis_down_query_still_embeds(no_redis_client: httpx.AsyncClient) -> None:
    """With Redis unreachable /embed_query still answers 200, uncached."""
    response = await no_redis_client.post("/embed_query", json={"text": "anyone there?"})
    assert response.status_code == 200
    assert response.json()["cached"] is False


async def test_redis_down_health_reports_cache_unavailable(no_redis_client: httpx.AsyncClient) -> None:
    """/health stays 200 and says the cache is unavailable."""
    response = await no_redis_client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert response.json()["cache"] == "unavailable"


async def test_redis_down_forgetting_a_namespace_is_503(no_redis_client: httpx.AsyncClient) -> None:
    """Deleting a namespace's vectors cannot degrade to a silent no-op: 503, so the caller retries."""
    response = await no_redis_client.delete("/cache/some-user")
    assert response.status_code == 503
    assert response.json()["error"] == "CacheUnavailableError"


async def test_corrupt_cache_value_is_a_miss(
    local_client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    """A cached value of the wrong size is ignored and replaced, not served."""
    text = "a cache entry someone mangled"
    key = cache_key("local", "all-MiniLM-L6-v2", 384, "RETRIEVAL_DOCUMENT", text)
    await redis_client.set(key, b"garbage", ex=60)
    body = (await local_client.post("/embed", json={"texts": [text]})).json()
    assert body["cached"] == [False]
    assert len(await redis_client.get(key) or b"") == 384 * 4
