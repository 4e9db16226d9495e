"""Qdrant as the memory index (docs/architecture.md#decisions, D1, D9): rebuilt from Postgres at any time,
never the truth.

Each embedding space gets two collections, ``episodic_memory__<model-slug>__<dims>`` and
``semantic_memory__<model-slug>__<dims>``, with Cosine distance. Points are keyed by the memory's UUID and
carry ``user_id`` (a keyword index with ``is_tenant``), ``importance`` (a float index), ``created_at`` and
``origin_channel_id`` (a keyword index: the server channel the memory was said in; absent when private).
Every read and every delete filters on ``user_id``, so no call can reach another user's points; a
channel-scoped search also filters on ``origin_channel_id``, so a point without it (private, or indexed
before origins existed) never answers one.

The graph is built per tenant only (``m=0, payload_m=16``, Qdrant's multitenancy recipe): every search
filters by user anyway, and a per-user graph gives full recall however small the user's share.

Every failure of the client (unreachable, timeout, non-2xx, missing collection) raises VectorIndexError,
so the memory service can fall back to pgvector with one ``except``.
"""

from __future__ import annotations

import asyncio
import math
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from uuid import UUID

import httpx
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.common.client_exceptions import QdrantException
from qdrant_client.http.exceptions import ApiException
from qdrant_client.local.async_qdrant_local import AsyncQdrantLocal

from gateway.config import QdrantSettings
from gateway.memory.index import (
    MEMORY_TYPES,
    EmbeddingSpace,
    IndexPoint,
    VectorHit,
    VectorIndexError,
    checked_vector,
    selected_memory_types,
)

_COLLECTION = re.compile(r"^(episodic|semantic)_memory__[a-z0-9][a-z0-9-]*__[1-9][0-9]*$")
_PER_TENANT_GRAPH = models.HnswConfigDiff(m=0, payload_m=16)
_PAYLOAD_INDEXES: dict[str, models.PayloadSchemaType | models.KeywordIndexParams] = {
    "user_id": models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
    "importance": models.PayloadSchemaType.FLOAT,
    "origin_channel_id": models.PayloadSchemaType.KEYWORD,
}
# Local mode (tests, benchmarks) keeps payload indexes as no-ops and warns once that they are.
_LOCAL_PAYLOAD_INDEX_WARNING = r"Payload indexes have no effect in the local Qdrant"
# Local mode reports a missing collection with ValueError and a closed client with RuntimeError.
_CLIENT_ERRORS = (ApiException, QdrantException, httpx.HTTPError, OSError, ValueError, RuntimeError)


def create_qdrant_client(settings: QdrantSettings) -> AsyncQdrantClient:
    """A client for the Qdrant server at QDRANT_URL (REST). The version check is off: it runs in a thread
    at construction and only warns; ``QdrantIndex.health`` reports a server that does not answer."""
    if settings.url is None:
        path = (settings.path or "").strip()
        if not path:
            raise ValueError("QDRANT_URL is not set: without it the memory index is pgvector")
        return AsyncQdrantClient(location=":memory:") if path == ":memory:" else AsyncQdrantClient(path=path)
    return AsyncQdrantClient(
        url=settings.url,
        api_key=settings.api_key.get_secret_value() or None,
        timeout=math.ceil(settings.timeout_seconds),
        check_compatibility=False,
    )


def model_slug(model: str) -> str:
    """``all-MiniLM-L6-v2`` → ``all-minilm-l6-v2``; anything but letters and digits becomes ``-``."""
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    if not slug:
        raise ValueError(f"embedding model name {model!r} has no letters or digits")
    return slug


def collection_name(memory_type: str, space: EmbeddingSpace) -> str:
    if memory_type not in MEMORY_TYPES:
        raise ValueError(f"unknown memory type {memory_type!r}")
    if not isinstance(space.dims, int) or isinstance(space.dims, bool) or space.dims < 1:
        raise ValueError(f"embedding dims must be a positive int, got {space.dims!r}")
    return f"{memory_type}_memory__{model_slug(space.model)}__{space.dims}"


@contextmanager
def _client_errors(action: str) -> Iterator[None]:
    try:
        yield
    except _CLIENT_ERRORS as exc:
        raise VectorIndexError(f"qdrant {action} failed: {type(exc).__name__}: {exc}") from exc


def _payload(point: IndexPoint) -> dict[str, object]:
    """A private memory carries no ``origin_channel_id``: absent and null both mean private."""
    payload: dict[str, object] = {
        "user_id": point.user_id,
        "importance": float(point.importance),
        "created_at": point.created_at.isoformat(),
    }
    if point.origin_channel_id is not None:
        payload["origin_channel_id"] = point.origin_channel_id
    return payload


def _user_filter(user_id: str) -> models.FieldCondition:
    return models.FieldCondition(key="user_id", match=models.MatchValue(value=user_id))


class QdrantIndex:
    """The Qdrant backend of ``VectorIndex``. The client is shared, not owned: close it yourself."""

    name = "qdrant"
    in_postgres = False

    def __init__(self, client: AsyncQdrantClient) -> None:
        self._client = client
        self.client = client  # for operators' tools (snapshots, dropping a collection in a fault test)
        self._local = isinstance(getattr(client, "_client", None), AsyncQdrantLocal)

    async def ensure_ready(self, space: EmbeddingSpace) -> None:
        """Create the space's two collections and their payload indexes if missing (idempotent, and safe
        when two gateways race: the loser finds the collection the winner made)."""
        for memory_type in MEMORY_TYPES:
            name = collection_name(memory_type, space)
            with _client_errors(f"ensure_ready {name}"):
                if not await self._client.collection_exists(name):
                    await self._create_collection(name, space.dims)
                await self._create_payload_indexes(name)

    async def upsert(self, space: EmbeddingSpace, points: Sequence[IndexPoint]) -> None:
        by_type: dict[str, list[models.PointStruct]] = {t: [] for t in MEMORY_TYPES}
        for point in points:
            if point.memory_type not in by_type:
                raise ValueError(f"memory {point.memory_id}: unknown memory type {point.memory_type!r}")
            by_type[point.memory_type].append(
                models.PointStruct(
                    id=str(point.memory_id),
                    vector=checked_vector(point.vector, space.dims),
                    payload=_payload(point),
                )
            )
        for memory_type, structs in by_type.items():
            if structs:
                name = collection_name(memory_type, space)
                with _client_errors(f"upsert into {name}"):
                    await self._client.upsert(name, points=structs, wait=True)

    async def search(
        self,
        space: EmbeddingSpace,
        user_id: str,
        vector: Sequence[float],
        limit: int,
        memory_types: Sequence[str] | None = None,
        channel_id: str | None = None,
    ) -> list[VectorHit]:
        """The user's nearest memories, best first; the user filter (and the channel's, when scoped) is a
        ``must`` on every query."""
        types = selected_memory_types(memory_types)
        query = checked_vector(vector, space.dims)
        if limit < 1 or not types:
            return []
        conditions: list[models.Condition] = [_user_filter(user_id)]
        if channel_id is not None:
            conditions.append(
                models.FieldCondition(key="origin_channel_id", match=models.MatchValue(value=channel_id))
            )
        only_user = models.Filter(must=conditions)
        names = [collection_name(t, space) for t in types]
        answers = await asyncio.gather(
            *(
                self._client.query_points(
                    name, query=query, query_filter=only_user, limit=limit, with_payload=False
                )
                for name in names
            ),
            return_exceptions=True,
        )
        hits: list[VectorHit] = []
        for name, answer in zip(names, answers, strict=True):
            if isinstance(answer, _CLIENT_ERRORS):
                raise VectorIndexError(f"qdrant search in {name} failed: {answer!r}") from answer
            if isinstance(answer, BaseException):
                raise answer
            hits.extend(VectorHit(UUID(str(p.id)), float(p.score)) for p in answer.points)
        hits.sort(key=lambda hit: hit.similarity, reverse=True)
        return hits[:limit]

    async def delete(self, space: EmbeddingSpace, user_id: str, memory_ids: Sequence[UUID]) -> None:
        """Delete these ids *of this user*: the filter pairs the ids with ``user_id``, so an id of another
        user matches nothing."""
        if not memory_ids:
            return
        selector = models.FilterSelector(
            filter=models.Filter(
                must=[models.HasIdCondition(has_id=[str(i) for i in memory_ids]), _user_filter(user_id)]
            )
        )
        for memory_type in MEMORY_TYPES:
            name = collection_name(memory_type, space)
            with _client_errors(f"deleting points in {name}"):
                await self._client.delete(name, points_selector=selector, wait=True)

    async def delete_user(self, user_id: str) -> None:
        """Delete the user's points from every memory collection of every space."""
        selector = models.FilterSelector(filter=models.Filter(must=[_user_filter(user_id)]))
        for name in await self.collections():
            with _client_errors(f"deleting a user in {name}"):
                await self._client.delete(name, points_selector=selector, wait=True)

    async def health(self) -> None:
        with _client_errors("health check"):
            await self._client.get_collections()

    async def collections(self) -> list[str]:
        """The memory collections present (every space), by name."""
        with _client_errors("list collections"):
            response = await self._client.get_collections()
        return sorted(c.name for c in response.collections if _COLLECTION.match(c.name))

    async def _create_collection(self, name: str, dims: int) -> None:
        try:
            await self._client.create_collection(
                name,
                vectors_config=models.VectorParams(size=dims, distance=models.Distance.COSINE),
                hnsw_config=_PER_TENANT_GRAPH,
            )
        except _CLIENT_ERRORS:
            if not await self._client.collection_exists(name):  # not a lost race: a real failure
                raise

    async def _create_payload_indexes(self, name: str) -> None:
        existing = (await self._client.get_collection(name)).payload_schema or {}
        for field_name, schema in _PAYLOAD_INDEXES.items():
            if field_name in existing:
                continue
            if self._local:
                # The local client finishes without yielding, so this filter cannot leak into other tasks.
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", _LOCAL_PAYLOAD_INDEX_WARNING, UserWarning)
                    await self._client.create_payload_index(name, field_name, field_schema=schema, wait=True)
            else:
                await self._client.create_payload_index(name, field_name, field_schema=schema, wait=True)
