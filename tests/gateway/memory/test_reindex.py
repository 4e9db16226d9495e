"""Rebuilding Qdrant from Postgres and indexing the backlog, against real Postgres and in-process Qdrant."""

from __future__ import annotations

import io
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from qdrant_client import AsyncQdrantClient

from gateway.config import QdrantSettings
from gateway.integrations.qdrant import QdrantIndex, create_qdrant_client
from gateway.memory.index import EmbeddingSpace, VectorIndexError
from gateway.memory.pgvector_index import PgVectorIndex
from gateway.memory.reindex import embedding_spaces, index_backlog, rebuild_index, reindex_command
from scripts.localstack import free_port
from tests.gateway.memory.conftest import insert_memories, unit_vectors

MakeUser = Callable[[], Awaitable[str]]


async def indexed_at(pool: asyncpg.Pool, ids: list[uuid.UUID]) -> list[datetime | None]:
    rows = await pool.fetch("SELECT id, indexed_at FROM memories WHERE id = ANY($1::uuid[])", ids)
    by_id = {row["id"]: row["indexed_at"] for row in rows}
    return [by_id[i] for i in ids]


async def test_rebuild_reproduces_pgvector_search_in_qdrant(
    index_pool: asyncpg.Pool, qdrant: AsyncQdrantClient, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """After rebuild_index, Qdrant answers every user's queries with pgvector's ids and similarities."""
    users = [await make_user() for _ in range(3)]
    for user in users:
        await insert_memories(index_pool, user, unit_vectors(rng, 40, 16), space)
        await insert_memories(index_pool, user, unit_vectors(rng, 10, 16), space, memory_type="semantic")
    pgvector, target = PgVectorIndex(index_pool), QdrantIndex(qdrant)
    assert await rebuild_index(index_pool, target, space, batch_size=32) == 150
    for user in users:
        for query in unit_vectors(rng, 3, 16).tolist():
            expected = await pgvector.search(space, user, query, 10)
            got = await target.search(space, user, query, 10)
            assert [h.memory_id for h in got] == [h.memory_id for h in expected]
            assert [h.similarity for h in got] == pytest.approx([h.similarity for h in expected], abs=1e-5)


async def test_rebuild_takes_only_live_vectors_of_the_space(
    index_pool: asyncpg.Pool, qdrant: AsyncQdrantClient, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """Soft-deleted memories, memories without a vector and other spaces' memories are not indexed."""
    user = await make_user()
    live = await insert_memories(index_pool, user, unit_vectors(rng, 5, 16), space)
    await insert_memories(index_pool, user, unit_vectors(rng, 5, 16), space, deleted=True)
    await insert_memories(index_pool, user, None, space, count=5)
    other = EmbeddingSpace(space.model + "-other", 16)
    await insert_memories(index_pool, user, unit_vectors(rng, 5, 16), other)
    target = QdrantIndex(qdrant)
    assert await rebuild_index(index_pool, target, space) == 5
    hits = await target.search(space, user, live.vectors[0].tolist(), 50)
    assert {h.memory_id for h in hits} == set(live.ids)


async def test_rebuild_pages_through_batches(
    index_pool: asyncpg.Pool, qdrant: AsyncQdrantClient, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """Rows come in id-ordered batches of batch_size; progress sees the running count; all get indexed_at."""
    stored = await insert_memories(index_pool, await make_user(), unit_vectors(rng, 30, 16), space)
    seen: list[int] = []
    assert (
        await rebuild_index(index_pool, QdrantIndex(qdrant), space, batch_size=7, progress=seen.append) == 30
    )
    assert seen == [7, 14, 21, 28, 30]
    assert all(value is not None for value in await indexed_at(index_pool, stored.ids))


async def test_rebuild_keeps_an_existing_indexed_at(
    index_pool: asyncpg.Pool, qdrant: AsyncQdrantClient, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """A memory indexed before keeps its indexed_at (no new row version just to restamp it)."""
    stored = await insert_memories(
        index_pool, await make_user(), unit_vectors(rng, 3, 16), space, indexed=True
    )
    before = await indexed_at(index_pool, stored.ids)
    await rebuild_index(index_pool, QdrantIndex(qdrant), space)
    assert await indexed_at(index_pool, stored.ids) == before


async def test_index_backlog_indexes_only_the_backlog(
    index_pool: asyncpg.Pool, qdrant: AsyncQdrantClient, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """index_backlog upserts and stamps the memories with a vector and no indexed_at, and nothing else."""
    user = await make_user()
    done = await insert_memories(index_pool, user, unit_vectors(rng, 4, 16), space, indexed=True)
    backlog = await insert_memories(index_pool, user, unit_vectors(rng, 6, 16), space)
    await insert_memories(index_pool, user, unit_vectors(rng, 3, 16), space, deleted=True)
    target = QdrantIndex(qdrant)
    done_before = await indexed_at(index_pool, done.ids)
    assert await index_backlog(index_pool, target, space, limit=100) == 6
    hits = await target.search(space, user, backlog.vectors[0].tolist(), 50)
    assert {h.memory_id for h in hits} == set(backlog.ids)
    assert all(value is not None for value in await indexed_at(index_pool, backlog.ids))
    assert await indexed_at(index_pool, done.ids) == done_before
    assert await index_backlog(index_pool, target, space, limit=100) == 0


async def test_index_backlog_takes_the_oldest_first_up_to_limit(
    index_pool: asyncpg.Pool, qdrant: AsyncQdrantClient, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """With limit=3 of 8 waiting, the 3 oldest are indexed, in batches of batch_size."""
    user = await make_user()
    old = await insert_memories(
        index_pool, user, unit_vectors(rng, 3, 16), space, created_at=datetime.now(UTC) - timedelta(days=9)
    )
    new = await insert_memories(index_pool, user, unit_vectors(rng, 5, 16), space)
    assert await index_backlog(index_pool, QdrantIndex(qdrant), space, limit=3, batch_size=2) == 3
    assert all(value is not None for value in await indexed_at(index_pool, old.ids))
    assert all(value is None for value in await indexed_at(index_pool, new.ids))


async def test_index_backlog_with_qdrant_down_keeps_the_backlog(
    index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """When Qdrant is unreachable, index_backlog raises VectorIndexError and stamps nothing."""
    stored = await insert_memories(index_pool, await make_user(), unit_vectors(rng, 3, 16), space)
    client = create_qdrant_client(QdrantSettings(url=f"http://127.0.0.1:{free_port()}", _env_file=None))  # type: ignore[call-arg]
    try:
        with pytest.raises(VectorIndexError):
            await index_backlog(index_pool, QdrantIndex(client), space, limit=10)
    finally:
        await client.close()
    assert await indexed_at(index_pool, stored.ids) == [None, None, None]


async def test_embedding_spaces_lists_spaces_with_live_vectors(
    index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """The spaces found in Postgres are those with at least one live vector."""
    user = await make_user()
    await insert_memories(index_pool, user, unit_vectors(rng, 2, 16), space)
    gone = EmbeddingSpace(space.model + "-gone", 4)
    await insert_memories(index_pool, user, unit_vectors(rng, 2, 4), gone, deleted=True)
    spaces = await embedding_spaces(index_pool)
    assert space in spaces
    assert gone not in spaces


async def test_reindex_command_with_pgvector(
    index_database_url: str, index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """Without a Qdrant URL the command indexes into pgvector, prints a line per space and returns the count."""
    stored = await insert_memories(index_pool, await make_user(), unit_vectors(rng, 12, 16), space)
    out = io.StringIO()
    count = await reindex_command(index_database_url, None, spaces=[space], batch_size=5, out=out)
    assert count == 12
    assert f"rebuild {space.model} (16-d) into pgvector: 12 memories" in out.getvalue()
    assert all(value is not None for value in await indexed_at(index_pool, stored.ids))


async def test_reindex_command_with_qdrant_down_raises(
    index_database_url: str, space: EmbeddingSpace
) -> None:
    """With an unreachable Qdrant the command fails fast on the health check with VectorIndexError."""
    with pytest.raises(VectorIndexError, match="health"):
        await reindex_command(
            index_database_url, f"http://127.0.0.1:{free_port()}", spaces=[space], out=io.StringIO()
        )
