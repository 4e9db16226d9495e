"""The write-behind memory writer: a write that failed after its rows were stored is retried without storing
them twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.chat.writer import MemoryWriter
from gateway.memory.service import MemoryInput
from tests.gateway.memory.service_fixtures import add_user, memory_service
from tests.servers import ThreadedServer


class FlakyEmbeddings:
    """An embedding service (its /embed wire format) whose first answer is garbage, then sane vectors."""

    def __init__(self) -> None:
        self.calls = 0

    async def embed(self, request: Request) -> JSONResponse:
        texts = (await request.json())["texts"]
        self.calls += 1
        if self.calls == 1:
            return JSONResponse({"embeddings": [["not a number"] for _ in texts]})
        vector = [1.0] + [0.0] * 383
        return JSONResponse(
            {"embeddings": [vector for _ in texts], "provider": "local", "model": "flaky", "dimensions": 384}
        )


@pytest.fixture
def flaky_embeddings() -> Iterator[tuple[FlakyEmbeddings, str]]:
    fake = FlakyEmbeddings()
    app = Starlette(routes=[Route("/embed", fake.embed, methods=["POST"])])
    with ThreadedServer(app, name="flaky-embeddings") as server:
        yield fake, server.base_url


async def test_a_write_that_failed_after_storing_is_replayed_without_a_duplicate(
    database_url: str, redis_url: str, flaky_embeddings: tuple[FlakyEmbeddings, str]
) -> None:
    """The rows were stored, then the embedding answer was unusable: the write is queued, and its replay keeps
    one memory per text (the ids travel with the queued record), which now gets its vector."""
    fake, url = flaky_embeddings
    user = str(10**17 + uuid.uuid4().int % 10**17)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        async with memory_service(database_url, redis_url, url) as memory:
            await add_user(memory.pool, user)
            writer = MemoryWriter(memory, redis)
            writer.submit(
                user, [MemoryInput(content="I planted tomatoes today."), MemoryInput(content="Yay!")]
            )
            await writer.drain()
            assert fake.calls == 1 and writer.queued == 2
            await writer.replay()
            rows = await memory.pool.fetch(
                "SELECT content, embedding IS NOT NULL AS embedded FROM memories WHERE user_id = $1", user
            )
    finally:
        await redis.aclose()
    assert sorted((row["content"], row["embedded"]) for row in rows) == [
        ("I planted tomatoes today.", True),
        ("Yay!", True),
    ]
