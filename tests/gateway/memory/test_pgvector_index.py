"""PgVectorIndex against real Postgres + pgvector 0.6: exact answers, user and space isolation, and the
HNSW path at a scale where many users share the graph."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import numpy as np
import pytest

from gateway.memory.index import EmbeddingSpace, VectorIndexError
from gateway.memory.pgvector_index import PgVectorIndex
from gateway.memory.pgvector_repository import exact_search_sql, hnsw_index_name, hnsw_search_sql
from scripts.localstack import free_port
from tests.gateway.memory.conftest import StoredMemories, brute_force, insert_memories, unit_vectors

MakeUser = Callable[[], Awaitable[str]]


@pytest.fixture
async def index(index_pool: asyncpg.Pool, space: EmbeddingSpace) -> PgVectorIndex:
    pg_index = PgVectorIndex(index_pool)
    await pg_index.ensure_ready(space)
    return pg_index


def ids_of(hits: list) -> list[uuid.UUID]:  # type: ignore[type-arg]
    return [hit.memory_id for hit in hits]


async def test_search_matches_brute_force(
    index: PgVectorIndex, index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """On random vectors the hits are brute-force cosine's top k, in order, with the same similarities."""
    stored = await insert_memories(index_pool, await make_user(), unit_vectors(rng, 300, 16), space)
    for query in unit_vectors(rng, 5, 16):
        hits = await index.search(space, stored.user_id, query.tolist(), 10)
        expected = brute_force(query, stored.vectors, stored.ids, 10)
        assert ids_of(hits) == [memory_id for memory_id, _ in expected]
        assert [h.similarity for h in hits] == pytest.approx([s for _, s in expected], abs=1e-5)


async def test_nearest_first(
    index: PgVectorIndex, index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """A stored vector used as the query comes back first with similarity 1, the rest in falling order."""
    stored = await insert_memories(index_pool, await make_user(), unit_vectors(rng, 50, 16), space)
    hits = await index.search(space, stored.user_id, stored.vectors[7].tolist(), 5)
    assert hits[0].memory_id == stored.ids[7]
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-6)
    assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)


async def test_other_users_never_returned(
    index: PgVectorIndex, index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """User A's search returns only A's memories, even when B's are nearer to the query."""
    query = unit_vectors(rng, 1, 16)[0]
    a = await insert_memories(index_pool, await make_user(), unit_vectors(rng, 20, 16), space)
    near = np.tile(query, (5, 1)) + 0.01 * unit_vectors(rng, 5, 16)
    b = await insert_memories(index_pool, await make_user(), near.astype(np.float32), space)
    hits = await index.search(space, a.user_id, query.tolist(), 50)
    assert set(ids_of(hits)) == set(a.ids)
    assert not set(ids_of(hits)) & set(b.ids)


async def test_a_channel_scoped_search_returns_only_that_channels_memories(
    index: PgVectorIndex, index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """Scoped to a channel: its memories only, a full page of them, however near the private ones are."""
    query = unit_vectors(rng, 1, 16)[0]
    user = await make_user()
    near = (np.tile(query, (20, 1)) + 0.01 * unit_vectors(rng, 20, 16)).astype(np.float32)
    await insert_memories(index_pool, user, near, space)  # private: no origin channel
    channel = await insert_memories(index_pool, user, unit_vectors(rng, 30, 16), space)
    await index_pool.execute(
        "UPDATE memories SET origin_channel_id = 'c-1' WHERE id = ANY($1::uuid[])", channel.ids
    )
    hits = await index.search(space, user, query.tolist(), 10, channel_id="c-1")
    expected = brute_force(query, channel.vectors, channel.ids, 10)
    assert ids_of(hits) == [memory_id for memory_id, _ in expected]
    assert await index.search(space, user, query.tolist(), 10, channel_id="c-2") == []


async def test_delete_with_another_users_ids_changes_nothing(
    index: PgVectorIndex, index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """delete() in A's scope with B's ids leaves B's memories searchable (pgvector deletes nothing itself)."""
    a_user = await make_user()
    b = await insert_memories(index_pool, await make_user(), unit_vectors(rng, 10, 16), space)
    await index.delete(space, a_user, b.ids)
    hits = await index.search(space, b.user_id, b.vectors[0].tolist(), 10)
    assert set(ids_of(hits)) == set(b.ids)


async def test_delete_user_leaves_other_users(
    index: PgVectorIndex, index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """delete_user(A) leaves B's memories searchable."""
    a = await insert_memories(index_pool, await make_user(), unit_vectors(rng, 10, 16), space)
    b = await insert_memories(index_pool, await make_user(), unit_vectors(rng, 10, 16), space)
    await index.delete_user(a.user_id)
    assert set(ids_of(await index.search(space, b.user_id, b.vectors[0].tolist(), 10))) == set(b.ids)


async def test_memory_types_filter(
    index: PgVectorIndex, index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """memory_types=["semantic"] returns the nearest semantic memories only; None returns both kinds."""
    user = await make_user()
    episodic = await insert_memories(index_pool, user, unit_vectors(rng, 40, 16), space)
    semantic = await insert_memories(
        index_pool, user, unit_vectors(rng, 15, 16), space, memory_type="semantic"
    )
    query = unit_vectors(rng, 1, 16)[0]
    hits = await index.search(space, user, query.tolist(), 5, memory_types=["semantic"])
    assert ids_of(hits) == [i for i, _ in brute_force(query, semantic.vectors, semantic.ids, 5)]
    both = await index.search(space, user, query.tolist(), 55)
    assert set(ids_of(both)) == set(episodic.ids) | set(semantic.ids)


async def test_spaces_never_mix(index_pool: asyncpg.Pool, make_user: MakeUser, rng) -> None:
    """A 384-d and a 3-d space of one user, and two 3-d models, each return only their own memories."""
    user = await make_user()
    tag = uuid.uuid4().hex[:8]
    large, small, other_small = (
        EmbeddingSpace(f"large-{tag}", 384),
        EmbeddingSpace(f"small-{tag}", 3),
        EmbeddingSpace(f"other-{tag}", 3),
    )
    index = PgVectorIndex(index_pool)
    stored = {}
    for space in (large, small, other_small):
        await index.ensure_ready(space)
        stored[space] = await insert_memories(index_pool, user, unit_vectors(rng, 8, space.dims), space)
    for space in (large, small, other_small):
        hits = await index.search(space, user, stored[space].vectors[0].tolist(), 30)
        assert set(ids_of(hits)) == set(stored[space].ids)


async def test_soft_deleted_memories_not_returned(
    index: PgVectorIndex, index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """A memory soft-deleted in Postgres is out of search at once, even when it is the exact match."""
    stored = await insert_memories(index_pool, await make_user(), unit_vectors(rng, 10, 16), space)
    await index_pool.execute("UPDATE memories SET deleted_at = now() WHERE id = $1", stored.ids[0])
    hits = await index.search(space, stored.user_id, stored.vectors[0].tolist(), 10)
    assert stored.ids[0] not in ids_of(hits)
    assert set(ids_of(hits)) == set(stored.ids[1:])


async def test_memories_without_vectors_are_skipped(
    index: PgVectorIndex, index_pool: asyncpg.Pool, make_user: MakeUser, space: EmbeddingSpace, rng
) -> None:
    """Memories still waiting for their vector are not returned (and break nothing)."""
    user = await make_user()
    await insert_memories(index_pool, user, None, space, count=3)
    stored = await insert_memories(index_pool, user, unit_vectors(rng, 4, 16), space)
    hits = await index.search(space, user, stored.vectors[0].tolist(), 10)
    assert set(ids_of(hits)) == set(stored.ids)


async def test_wrong_vector_size_is_refused(index: PgVectorIndex, space: EmbeddingSpace) -> None:
    """A query vector whose length is not the space's raises ValueError before any SQL runs."""
    with pytest.raises(ValueError, match="dimensions"):
        await index.search(space, "1", [0.1] * 15, 5)


async def test_dims_must_be_an_int(index_pool: asyncpg.Pool) -> None:
    """Sizes are written into SQL, so anything but a plain int in range is refused."""
    index = PgVectorIndex(index_pool)
    for dims in ("16; DROP TABLE memories", 0, 16001, True, 16.0):
        with pytest.raises(ValueError, match="dims"):
            await index.ensure_ready(EmbeddingSpace("m", dims))  # type: ignore[arg-type]


async def test_ensure_ready_builds_a_valid_hnsw_index_once(
    index_pool: asyncpg.Pool, space: EmbeddingSpace
) -> None:
    """ensure_ready creates the size's HNSW expression index, valid, and a second call changes nothing."""
    index = PgVectorIndex(index_pool)
    await index.ensure_ready(space)
    await index.ensure_ready(space)
    row = await index_pool.fetchrow(
        "SELECT indisvalid, pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indexrelid = to_regclass($1)",
        hnsw_index_name(16),
    )
    assert row["indisvalid"]
    assert "USING hnsw (((embedding)::vector(16)) vector_cosine_ops)" in row["def"]
    assert "WHERE ((embedding_dims = 16) AND (deleted_at IS NULL))" in row["def"]


async def test_two_replicas_building_the_index_at_once_both_succeed(
    index_pool: asyncpg.Pool, index_database_url: str, make_user: MakeUser, rng
) -> None:
    """Two gateways start on a database without the size's index and both build it at the same moment: one
    builds, the other waits its turn and finds it built (a blocking wait for the build lock was itself a
    transaction that CREATE INDEX CONCURRENTLY waited for: a deadlock, and a replica without its index)."""
    dims = 7
    space = EmbeddingSpace(f"race-{uuid.uuid4().hex[:8]}", dims)
    await insert_memories(index_pool, await make_user(), unit_vectors(rng, 50, dims), space)
    await index_pool.execute(f"DROP INDEX IF EXISTS {hnsw_index_name(dims)}")
    other = await asyncpg.create_pool(index_database_url, min_size=1, max_size=2)
    assert other is not None
    try:
        await asyncio.gather(
            PgVectorIndex(index_pool).ensure_ready(space), PgVectorIndex(other).ensure_ready(space)
        )
    finally:
        await other.close()
    assert await index_pool.fetchval(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", hnsw_index_name(dims)
    )


async def test_ensure_ready_replaces_an_invalid_index(
    index_pool: asyncpg.Pool, make_user: MakeUser, rng
) -> None:
    """An index left invalid by an interrupted build is dropped and rebuilt as a valid HNSW index."""
    space = EmbeddingSpace(f"broken-{uuid.uuid4().hex[:8]}", 5)
    user = await make_user()
    await insert_memories(index_pool, user, unit_vectors(rng, 2, 5), space)
    name = hnsw_index_name(5)
    await index_pool.execute(f"DROP INDEX IF EXISTS {name}")
    with pytest.raises(asyncpg.UniqueViolationError):  # a failed CONCURRENTLY build leaves it invalid
        await index_pool.execute(
            f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON memories (user_id) WHERE embedding_dims = 5"
        )
    assert (
        await index_pool.fetchval("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", name)
        is False
    )
    index = PgVectorIndex(index_pool)
    await index.ensure_ready(space)
    row = await index_pool.fetchrow(
        "SELECT indisvalid, pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indexrelid = to_regclass($1)",
        name,
    )
    assert row["indisvalid"]
    assert "USING hnsw" in row["def"]


async def test_postgres_down_raises_vector_index_error() -> None:
    """With Postgres unreachable, search and health raise VectorIndexError (callers fall back on it)."""
    pool = await asyncpg.create_pool(
        f"postgresql://nobody:nothing@127.0.0.1:{free_port()}/none", min_size=0, max_size=1, timeout=2
    )
    try:
        index = PgVectorIndex(pool)
        with pytest.raises(VectorIndexError):
            await index.search(EmbeddingSpace("m", 3), "1", [1.0, 0.0, 0.0], 5)
        with pytest.raises(VectorIndexError):
            await index.health()
    finally:
        await pool.close()


# --- at scale: one user among many in one HNSW graph ----------------------------------------------------

CROWD_DIMS = 24


@dataclass
class Crowd:
    space: EmbeddingSpace
    big: StoredMemories  # 3000 of the 19,000 vectors of the space
    medium: StoredMemories  # 400 of them, like each of the 40 other users


@pytest.fixture(scope="module")
async def crowd(index_pool: asyncpg.Pool) -> AsyncIterator[Crowd]:
    """19,000 vectors of 41 users in one 24-d space, HNSW index built and the table analysed."""
    rng = np.random.default_rng(20240)
    space = EmbeddingSpace(f"crowd-{uuid.uuid4().hex[:8]}", CROWD_DIMS)
    users = [str(10**17 + uuid.uuid4().int % 10**17) for _ in range(41)]
    await index_pool.executemany(
        "INSERT INTO user_profiles (user_id, username) VALUES ($1, $1)", [(u,) for u in users]
    )
    name = hnsw_index_name(CROWD_DIMS)
    try:
        await index_pool.execute(f"DROP INDEX IF EXISTS {name}")  # bulk load first, then build
        big = await insert_memories(index_pool, users[0], unit_vectors(rng, 3000, CROWD_DIMS), space)
        others = [
            await insert_memories(index_pool, u, unit_vectors(rng, 400, CROWD_DIMS), space) for u in users[1:]
        ]
        await PgVectorIndex(index_pool).ensure_ready(space)
        await index_pool.execute("ANALYZE memories")
        yield Crowd(space, big, others[0])
    finally:
        await index_pool.execute("DELETE FROM user_profiles WHERE user_id = ANY($1::text[])", users)
        await index_pool.execute(f"DROP INDEX IF EXISTS {name}")


async def test_plan_takes_hnsw_for_a_large_user(crowd: Crowd, index_pool: asyncpg.Pool) -> None:
    """A user above the exact threshold gets the graph, with ef_search raised for their 16% share."""
    index = PgVectorIndex(index_pool, exact_max_vectors=1000)
    plan = await index.plan(crowd.space, crowd.big.user_id, 10)
    assert plan.strategy == "hnsw"
    assert plan.user_vectors == 3000
    assert plan.space_vectors == pytest.approx(19000, rel=0.05)
    assert plan.ef_search == 127  # ceil(10 × 2 / (3000 / 19000))


async def test_plan_takes_exact_for_a_small_user(crowd: Crowd, index_pool: asyncpg.Pool) -> None:
    """A user under the exact threshold is scanned exactly."""
    plan = await PgVectorIndex(index_pool, exact_max_vectors=1000).plan(crowd.space, crowd.medium.user_id, 10)
    assert plan.strategy == "exact"
    assert plan.user_vectors == 400


async def test_explain_shows_the_hnsw_index(crowd: Crowd, index_pool: asyncpg.Pool) -> None:
    """EXPLAIN ANALYZE of the graph query scans ix_memories_embedding_hnsw_24, not the table."""
    query = unit_vectors(np.random.default_rng(1), 1, CROWD_DIMS)[0].tolist()
    async with index_pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('hnsw.ef_search', '127', true)")
        lines = await conn.fetch(
            "EXPLAIN (ANALYZE, COSTS OFF) " + hnsw_search_sql(CROWD_DIMS),
            query, 127, crowd.big.user_id, crowd.space.model, ["episodic", "semantic"], 10,
        )  # fmt: skip
    plan = "\n".join(line[0] for line in lines)
    assert f"Index Scan using {hnsw_index_name(CROWD_DIMS)} on memories" in plan
    assert "Seq Scan" not in plan


async def test_generic_plan_still_uses_the_hnsw_index(crowd: Crowd, index_pool: asyncpg.Pool) -> None:
    """A prepared statement's generic plan (what a pooled connection ends up with) walks the graph too."""
    types = "{episodic,semantic}"
    async with index_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        sql = hnsw_search_sql(CROWD_DIMS)
        await conn.execute(f"PREPARE crowd_walk (real[], int, text, text, text[], int) AS {sql}")
        vector = "{" + ",".join(["0.2"] * CROWD_DIMS) + "}"
        lines = await conn.fetch(
            f"EXPLAIN (COSTS OFF) EXECUTE crowd_walk('{vector}', 127, '{crowd.big.user_id}', "
            f"'{crowd.space.model}', '{types}', 10)"
        )
        await conn.execute("DEALLOCATE crowd_walk")
    assert f"Index Scan using {hnsw_index_name(CROWD_DIMS)}" in "\n".join(line[0] for line in lines)


async def test_exact_path_uses_the_user_index(crowd: Crowd, index_pool: asyncpg.Pool) -> None:
    """The exact query reads the user's rows through ix_memories_user_space, not the whole table."""
    query = unit_vectors(np.random.default_rng(2), 1, CROWD_DIMS)[0].tolist()
    lines = await index_pool.fetch(
        "EXPLAIN (COSTS OFF) " + exact_search_sql(CROWD_DIMS),
        query, crowd.medium.user_id, crowd.space.model, ["episodic", "semantic"], 10,
    )  # fmt: skip
    assert "ix_memories_user_space" in "\n".join(line[0] for line in lines)


async def test_hnsw_search_returns_the_users_rows_among_many(crowd: Crowd, index_pool: asyncpg.Pool) -> None:
    """Through the graph, a user owning 16% of the space still gets a full page of their own nearest
    memories: every hit is theirs, and recall@10 against brute force is at least 0.9."""
    index = PgVectorIndex(index_pool, exact_max_vectors=1000)
    rng = np.random.default_rng(3)
    recalls = []
    for query in unit_vectors(rng, 20, CROWD_DIMS):
        hits = await index.search(crowd.space, crowd.big.user_id, query.tolist(), 10)
        truth = {i for i, _ in brute_force(query, crowd.big.vectors, crowd.big.ids, 10)}
        assert len(hits) == 10
        assert set(ids_of(hits)) <= set(crowd.big.ids)
        recalls.append(len(truth & set(ids_of(hits))) / 10)
    assert (await index.plan(crowd.space, crowd.big.user_id, 10)).strategy == "hnsw"
    assert np.mean(recalls) >= 0.9


async def test_short_graph_answer_falls_back_to_exact(crowd: Crowd, index_pool: asyncpg.Pool) -> None:
    """When the graph yields fewer than limit rows of the user, search answers exactly instead and keeps
    the user on the exact path."""
    index = PgVectorIndex(index_pool, exact_max_vectors=100, min_ef_search=1, oversample=0.05)
    plan = await index.plan(crowd.space, crowd.medium.user_id, 10)
    assert plan.strategy == "hnsw"
    assert plan.ef_search is not None
    query = unit_vectors(np.random.default_rng(4), 1, CROWD_DIMS)[0]
    walk = await index.search_hnsw(crowd.space, crowd.medium.user_id, query.tolist(), 10, plan.ef_search)
    assert len(walk) < 10
    hits = await index.search(crowd.space, crowd.medium.user_id, query.tolist(), 10)
    assert ids_of(hits) == [i for i, _ in brute_force(query, crowd.medium.vectors, crowd.medium.ids, 10)]
    assert (await index.plan(crowd.space, crowd.medium.user_id, 10)).strategy == "exact"
