"""Memory fixtures: a database of our own for the vector-index tests, users with memories and vectors,
an in-process Qdrant, and brute-force cosine to compare the indexes against.

The index tests get their own migrated database: building an HNSW index CONCURRENTLY waits for every
older transaction in the database, and the session database is shared with tests that hold one open.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np
import numpy.typing as npt
import pytest
from qdrant_client import AsyncQdrantClient

from gateway.memory.index import EmbeddingSpace
from gateway.memory.service import MemoryService
from scripts.localstack import EmbeddedPostgres
from tests.conftest import make_database
from tests.gateway.memory.service_fixtures import add_user, memory_service

Vectors = npt.NDArray[np.float32]


@pytest.fixture(scope="session")
async def index_database_url(postgres_server: EmbeddedPostgres) -> AsyncIterator[str]:
    """A migrated database used only by the vector-index tests."""
    from gateway.migrator import apply_migrations

    name = "vector_index_" + uuid.uuid4().hex[:8]
    dsn = make_database(postgres_server, name)
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    yield dsn
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
async def index_pool(index_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(index_database_url, min_size=1, max_size=4)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def space() -> EmbeddingSpace:
    """A 16-d space whose model name is unique to the test, so space-wide work only sees this test's rows."""
    return EmbeddingSpace(f"test-model-{uuid.uuid4().hex[:8]}", 16)


@pytest.fixture
async def qdrant() -> AsyncIterator[AsyncQdrantClient]:
    """Qdrant's own in-process implementation (exact search, same API and filters as the server)."""
    client = AsyncQdrantClient(location=":memory:")
    try:
        yield client
    finally:
        await client.close()


def unit_vectors(rng: np.random.Generator, n: int, dims: int) -> Vectors:
    vectors = rng.standard_normal((n, dims)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def brute_force(
    query: Sequence[float], vectors: Vectors, ids: Sequence[uuid.UUID], k: int
) -> list[tuple[uuid.UUID, float]]:
    """The k most cosine-similar ids, best first."""
    q = np.asarray(query, dtype=np.float64)
    matrix = np.asarray(vectors, dtype=np.float64)
    sims = matrix @ q / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(q))
    order = np.argsort(-sims)[:k]
    return [(ids[i], float(sims[i])) for i in order]


@dataclass
class StoredMemories:
    user_id: str
    ids: list[uuid.UUID]
    vectors: Vectors


@pytest.fixture
async def make_user(index_pool: asyncpg.Pool) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Creates user profiles with fresh ids; deletes them (and so their memories) after the test."""
    created: list[str] = []

    async def create() -> str:
        user_id = str(10**17 + uuid.uuid4().int % 10**17)
        await index_pool.execute(
            "INSERT INTO user_profiles (user_id, username) VALUES ($1, $2)", user_id, f"user-{user_id}"
        )
        created.append(user_id)
        return user_id

    yield create
    await index_pool.execute("DELETE FROM user_profiles WHERE user_id = ANY($1::text[])", created)


async def insert_memories(
    conn: asyncpg.Pool | asyncpg.Connection,
    user_id: str,
    vectors: Vectors | None,
    space: EmbeddingSpace,
    *,
    count: int | None = None,
    memory_type: str = "episodic",
    deleted: bool = False,
    indexed: bool = False,
    created_at: datetime | None = None,
) -> StoredMemories:
    """Memory rows for ``user_id`` with these vectors of ``space`` (``vectors=None``: ``count`` rows with no
    vector yet). Rows are a millisecond apart in ``created_at``, in order."""
    n = count if vectors is None else len(vectors)
    assert n is not None
    ids = [uuid.uuid4() for _ in range(n)]
    start = created_at or datetime.now(UTC) - timedelta(days=1)
    texts = None if vectors is None else ["[" + ",".join(map(str, v)) + "]" for v in vectors.tolist()]
    await conn.execute(
        """
        INSERT INTO memories (id, user_id, memory_type, content, importance, embedding, embedding_model,
                              embedding_dims, indexed_at, created_at, deleted_at)
        SELECT m.id, $2, $3, 'memory ' || m.ord, 0.5, m.vector::vector,
               CASE WHEN m.vector IS NULL THEN NULL ELSE $5 END,
               CASE WHEN m.vector IS NULL THEN NULL ELSE $6::int END,
               CASE WHEN $7 THEN now() END,
               $8::timestamptz + m.ord * interval '1 millisecond',
               CASE WHEN $9 THEN now() END
        FROM unnest($1::uuid[], $4::text[]) WITH ORDINALITY AS m(id, vector, ord)
        """,
        ids,
        user_id,
        memory_type,
        texts if texts is not None else [None] * n,
        space.model,
        space.dims,
        indexed,
        start,
        deleted,
    )
    empty = np.zeros((0, space.dims), dtype=np.float32)
    return StoredMemories(user_id, ids, vectors if vectors is not None else empty)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> Iterator[np.random.Generator]:
    """Random numbers seeded by the test's name: reproducible, and different in every test."""
    yield np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture
async def memory(
    database_url: str, redis_url: str, embedding_service_url: str
) -> AsyncIterator[MemoryService]:
    """A MemoryService on the session database, the real embedding service and pgvector (no Groq)."""
    async with memory_service(database_url, redis_url, embedding_service_url) as service:
        yield service


@pytest.fixture
async def alice(memory: MemoryService, user_id: str) -> str:
    """A user the companion knows (profile row present), unique to the test."""
    await add_user(memory.pool, user_id, "alice")
    return user_id
