"""Building a real MemoryService for tests: session Postgres, Redis and the real embedding service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import redis.asyncio as aioredis

from gateway.config import DatabaseSettings, MemorySettings
from gateway.db import create_pool
from gateway.integrations.embedding import EmbeddingClient
from gateway.memory.importance import ImportanceScorer
from gateway.memory.index import VectorIndex
from gateway.memory.pgvector_index import PgVectorIndex
from gateway.memory.service import MemoryService


async def add_user(pool: asyncpg.Pool, user_id: str, username: str = "someone") -> None:
    await pool.execute(
        "INSERT INTO user_profiles (user_id, username) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        user_id,
        username,
    )


@asynccontextmanager
async def memory_service(
    database_url: str,
    redis_url: str,
    embedding_url: str,
    *,
    index: VectorIndex | None = None,
    fallback_index: VectorIndex | None = None,
) -> AsyncIterator[MemoryService]:
    pool = await create_pool(DatabaseSettings(url=database_url, _env_file=None))  # type: ignore[call-arg]
    redis = aioredis.Redis.from_url(redis_url)
    embedding = EmbeddingClient(embedding_url, timeout=30)
    try:
        yield MemoryService(
            pool,
            embedding,
            index or PgVectorIndex(pool),
            ImportanceScorer(None, redis, 3600),
            MemorySettings(_env_file=None),  # type: ignore[call-arg]
            fallback_index=fallback_index,
        )
    finally:
        await embedding.aclose()
        await redis.aclose()
        await pool.close()
