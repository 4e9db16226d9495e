"""QdrantIndex on Qdrant's in-process implementation (same API and filters as the server), and its
failures against a closed port and a server that never answers."""

from __future__ import annotations

import asyncio
import socket
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import SecretStr
from qdrant_client import AsyncQdrantClient, models

from gateway.config import QdrantSettings
from gateway.integrations.qdrant import (
    QdrantIndex,
    collection_name,
    create_qdrant_client,
    model_slug,
)
from gateway.memory.index import EmbeddingSpace, IndexPoint, VectorHit, VectorIndexError
from scripts.localstack import free_port
from tests.gateway.memory.conftest import brute_force, unit_vectors

SPACE = EmbeddingSpace("all-MiniLM-L6-v2", 16)


@pytest.fixture
async def index(qdrant: AsyncQdrantClient) -> QdrantIndex:
    qdrant_index = QdrantIndex(qdrant)
    await qdrant_index.ensure_ready(SPACE)
    return qdrant_index


def points(
    user_id: str, vectors: np.ndarray, memory_type: str = "episodic"
) -> tuple[list[IndexPoint], list[uuid.UUID]]:
    ids = [uuid.uuid4() for _ in range(len(vectors))]
    now = datetime.now(UTC)
    made = [
        IndexPoint(i, user_id, memory_type, v.tolist(), 0.5, now) for i, v in zip(ids, vectors, strict=True)
    ]
    return made, ids


def ids_of(hits: list[VectorHit]) -> list[uuid.UUID]:
    return [hit.memory_id for hit in hits]


def test_collection_names() -> None:
    """Collections are named <type>_memory__<model slug>__<dims>."""
    assert model_slug("all-MiniLM-L6-v2") == "all-minilm-l6-v2"
    assert model_slug("models/gemini-embedding-001") == "models-gemini-embedding-001"
    assert collection_name("episodic", SPACE) == "episodic_memory__all-minilm-l6-v2__16"
    assert collection_name("semantic", EmbeddingSpace("gemini-embedding-001", 1536)) == (
        "semantic_memory__gemini-embedding-001__1536"
    )


async def test_ensure_ready_creates_cosine_collections(qdrant: AsyncQdrantClient) -> None:
    """ensure_ready makes both collections of the space with Cosine distance and the space's size,
    and a second call changes nothing."""
    index = QdrantIndex(qdrant)
    await index.ensure_ready(SPACE)
    await index.ensure_ready(SPACE)
    assert await index.collections() == [
        "episodic_memory__all-minilm-l6-v2__16",
        "semantic_memory__all-minilm-l6-v2__16",
    ]
    info = await qdrant.get_collection("episodic_memory__all-minilm-l6-v2__16")
    params = info.config.params.vectors
    assert isinstance(params, models.VectorParams)
    assert (params.size, params.distance) == (16, models.Distance.COSINE)


async def test_ensure_ready_leaves_warning_filters_as_they_were(qdrant: AsyncQdrantClient) -> None:
    """Local mode's "payload indexes have no effect" warning is silenced for that call only."""
    before = list(warnings.filters)
    await QdrantIndex(qdrant).ensure_ready(EmbeddingSpace("another-model", 8))
    assert warnings.filters == before


async def test_search_matches_brute_force(index: QdrantIndex, rng: np.random.Generator) -> None:
    """On random vectors the hits are brute-force cosine's top k, in order, with the same similarities."""
    vectors = unit_vectors(rng, 300, 16)
    made, ids = points("u1", vectors)
    await index.upsert(SPACE, made)
    for query in unit_vectors(rng, 5, 16):
        hits = await index.search(SPACE, "u1", query.tolist(), 10)
        expected = brute_force(query, vectors, ids, 10)
        assert ids_of(hits) == [i for i, _ in expected]
        assert [h.similarity for h in hits] == pytest.approx([s for _, s in expected], abs=1e-5)


async def test_nearest_first_across_memory_types(index: QdrantIndex, rng: np.random.Generator) -> None:
    """Hits from the episodic and semantic collections are merged best first."""
    episodic, e_ids = points("u1", unit_vectors(rng, 30, 16))
    semantic, s_ids = points("u1", unit_vectors(rng, 30, 16), "semantic")
    await index.upsert(SPACE, episodic + semantic)
    query = np.asarray(semantic[3].vector)
    hits = await index.search(SPACE, "u1", query.tolist(), 10)
    assert hits[0].memory_id == s_ids[3]
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-6)
    all_vectors = np.asarray([p.vector for p in episodic + semantic], dtype=np.float32)
    assert ids_of(hits) == [i for i, _ in brute_force(query, all_vectors, e_ids + s_ids, 10)]


async def test_other_users_never_returned(index: QdrantIndex, rng: np.random.Generator) -> None:
    """User A's search returns only A's points, even when B's are nearer to the query."""
    query = unit_vectors(rng, 1, 16)[0]
    a_points, a_ids = points("a", unit_vectors(rng, 20, 16))
    b_points, _ = points("b", (np.tile(query, (5, 1)) + 0.01 * unit_vectors(rng, 5, 16)))
    await index.upsert(SPACE, a_points + b_points)
    hits = await index.search(SPACE, "a", query.tolist(), 50)
    assert set(ids_of(hits)) == set(a_ids)


async def test_delete_removes_the_users_points(index: QdrantIndex, rng: np.random.Generator) -> None:
    """delete() removes the given ids of that user, in either collection, and nothing else."""
    episodic, e_ids = points("a", unit_vectors(rng, 5, 16))
    semantic, s_ids = points("a", unit_vectors(rng, 5, 16), "semantic")
    await index.upsert(SPACE, episodic + semantic)
    await index.delete(SPACE, "a", [e_ids[0], s_ids[0]])
    hits = await index.search(SPACE, "a", episodic[0].vector, 20)
    assert set(ids_of(hits)) == set(e_ids[1:] + s_ids[1:])


async def test_delete_with_another_users_ids_changes_nothing(
    index: QdrantIndex, rng: np.random.Generator
) -> None:
    """delete() in A's scope with B's ids deletes none of B's points."""
    b_points, b_ids = points("b", unit_vectors(rng, 10, 16))
    await index.upsert(SPACE, b_points)
    await index.delete(SPACE, "a", b_ids)
    assert set(ids_of(await index.search(SPACE, "b", b_points[0].vector, 20))) == set(b_ids)


async def test_delete_user_empties_every_space_of_that_user_only(
    index: QdrantIndex, rng: np.random.Generator
) -> None:
    """delete_user(A) removes A's points from every collection of every space; B keeps all of theirs."""
    small = EmbeddingSpace("tiny-model", 3)
    await index.ensure_ready(small)
    for user in ("a", "b"):
        await index.upsert(SPACE, points(user, unit_vectors(rng, 5, 16))[0])
        await index.upsert(SPACE, points(user, unit_vectors(rng, 5, 16), "semantic")[0])
        await index.upsert(small, points(user, unit_vectors(rng, 5, 3), "semantic")[0])
    await index.delete_user("a")
    query16, query3 = unit_vectors(rng, 1, 16)[0].tolist(), unit_vectors(rng, 1, 3)[0].tolist()
    assert await index.search(SPACE, "a", query16, 50) == []
    assert await index.search(small, "a", query3, 50) == []
    assert len(await index.search(SPACE, "b", query16, 50)) == 10
    assert len(await index.search(small, "b", query3, 50)) == 5


async def test_memory_types_filter(index: QdrantIndex, rng: np.random.Generator) -> None:
    """memory_types=["semantic"] searches the semantic collection only."""
    episodic, _ = points("u1", unit_vectors(rng, 20, 16))
    semantic, s_ids = points("u1", unit_vectors(rng, 6, 16), "semantic")
    await index.upsert(SPACE, episodic + semantic)
    hits = await index.search(SPACE, "u1", episodic[0].vector, 20, memory_types=["semantic"])
    assert set(ids_of(hits)) == set(s_ids)


async def test_spaces_never_mix(index: QdrantIndex, rng: np.random.Generator) -> None:
    """A 384-d and a 3-d space of one user each return only their own points."""
    large, small = EmbeddingSpace("big-model", 384), EmbeddingSpace("small-model", 3)
    stored = {}
    for space in (large, small):
        await index.ensure_ready(space)
        made, ids = points("u1", unit_vectors(rng, 8, space.dims))
        await index.upsert(space, made)
        stored[space] = (made, ids)
    for space in (large, small):
        made, ids = stored[space]
        assert set(ids_of(await index.search(space, "u1", made[0].vector, 30))) == set(ids)


async def test_upsert_replaces_a_point(index: QdrantIndex, rng: np.random.Generator) -> None:
    """Upserting a memory again replaces its vector instead of adding a second point."""
    vectors = unit_vectors(rng, 2, 16)
    made, ids = points("u1", vectors[:1])
    await index.upsert(SPACE, made)
    moved = IndexPoint(ids[0], "u1", "episodic", vectors[1].tolist(), 0.9, made[0].created_at)
    await index.upsert(SPACE, [moved])
    hits = await index.search(SPACE, "u1", vectors[1].tolist(), 5)
    assert ids_of(hits) == ids
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-6)


async def test_payload_carries_user_importance_and_created_at(
    index: QdrantIndex, qdrant: AsyncQdrantClient
) -> None:
    """Each point keeps user_id, importance and created_at as payload; its id is the memory's UUID."""
    memory_id = uuid.uuid4()
    created = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    await index.upsert(SPACE, [IndexPoint(memory_id, "u1", "semantic", [1.0] + [0.0] * 15, 0.75, created)])
    [record] = await qdrant.retrieve(collection_name("semantic", SPACE), [str(memory_id)])
    assert record.payload == {"user_id": "u1", "importance": 0.75, "created_at": "2025-05-01T12:00:00+00:00"}


async def test_search_before_ensure_ready_raises(qdrant: AsyncQdrantClient) -> None:
    """Searching a space whose collections do not exist raises VectorIndexError."""
    with pytest.raises(VectorIndexError, match="search"):
        await QdrantIndex(qdrant).search(EmbeddingSpace("never-made", 4), "u1", [1.0, 0.0, 0.0, 0.0], 5)


# --- failures of a server ----------------------------------------------------------------------------------


def closed_port_client() -> AsyncQdrantClient:
    settings = QdrantSettings(url=f"http://127.0.0.1:{free_port()}", timeout_seconds=2, _env_file=None)  # type: ignore[call-arg]
    return create_qdrant_client(settings)


CALLS = {
    "ensure_ready": lambda index: index.ensure_ready(SPACE),
    "upsert": lambda index: index.upsert(
        SPACE, [IndexPoint(uuid.uuid4(), "u1", "episodic", [0.1] * 16, 0.5, datetime.now(UTC))]
    ),
    "search": lambda index: index.search(SPACE, "u1", [0.1] * 16, 5),
    "delete": lambda index: index.delete(SPACE, "u1", [uuid.uuid4()]),
    "delete_user": lambda index: index.delete_user("u1"),
    "health": lambda index: index.health(),
}


@pytest.fixture
async def unreachable() -> AsyncIterator[QdrantIndex]:
    client = closed_port_client()
    try:
        yield QdrantIndex(client)
    finally:
        await client.close()


@pytest.mark.parametrize("call", CALLS)
async def test_connection_refused_raises_vector_index_error(unreachable: QdrantIndex, call: str) -> None:
    """Every call against a closed port raises VectorIndexError."""
    with pytest.raises(VectorIndexError, match="qdrant"):
        await CALLS[call](unreachable)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


async def test_timeout_raises_vector_index_error(silent_server: int) -> None:
    """A server that never answers makes search raise VectorIndexError once the client's timeout passes."""
    settings = QdrantSettings(url=f"http://127.0.0.1:{silent_server}", timeout_seconds=0.5, _env_file=None)  # type: ignore[call-arg]
    client = create_qdrant_client(settings)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(VectorIndexError, match="Timeout"):
            await QdrantIndex(client).search(SPACE, "u1", [0.1] * 16, 5)
        assert asyncio.get_running_loop().time() - started < 5
    finally:
        await client.close()


def test_client_factory_needs_a_url() -> None:
    """Without QDRANT_URL there is no Qdrant client to make (the index is pgvector)."""
    with pytest.raises(ValueError, match="QDRANT_URL"):
        create_qdrant_client(QdrantSettings(url=None, api_key=SecretStr(""), _env_file=None))  # type: ignore[call-arg]


async def test_a_channel_scoped_search_returns_only_that_channels_points(index: QdrantIndex) -> None:
    """Scoped to channel A: A's points only, never a private (DM) one or channel B's, however near."""
    now = datetime.now(UTC)
    vector = [1.0] + [0.0] * 15
    private, in_a, in_b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await index.upsert(
        SPACE,
        [
            IndexPoint(private, "u1", "episodic", vector, 0.9, now),
            IndexPoint(in_a, "u1", "episodic", [0.9, 0.1] + [0.0] * 14, 0.5, now, origin_channel_id="A"),
            IndexPoint(in_b, "u1", "episodic", vector, 0.5, now, origin_channel_id="B"),
        ],
    )
    assert ids_of(await index.search(SPACE, "u1", vector, 5, channel_id="A")) == [in_a]
    assert set(ids_of(await index.search(SPACE, "u1", vector, 5))) == {private, in_a, in_b}
