"""pgvector: the embedded vector index. It searches the vectors the ``memories`` table already holds.

The column is an untyped ``vector`` (one table serves every embedding model), which HNSW cannot index
directly, so ``ensure_ready`` gives each embedding size a partial expression index::

    CREATE INDEX ix_memories_embedding_hnsw_384 ON memories
        USING hnsw ((embedding::vector(384)) vector_cosine_ops)
        WHERE embedding_dims = 384 AND deleted_at IS NULL

and the approximate query orders by that same expression. pgvector 0.6 filters *after* the HNSW scan,
which yields at most ``hnsw.ef_search`` (≤ 1000) candidates drawn from every user, so a user who owns
a small share of the space can get too few rows back. Each search therefore picks a path (``plan``):

- **exact** when the user has few vectors (a scan of the user's rows through ``ix_memories_user_space``
  costs less than a graph walk), when the user's share is too small for any ``ef_search`` to yield
  ``limit`` rows, or when there is no valid HNSW index for the size;
- **hnsw** otherwise (never for a channel-scoped search: one channel's share of a user's memories is
  small, and the exact scan filters by channel inside the query), with ``hnsw.ef_search`` raised
  (``SET LOCAL``) in proportion to ``limit / share``, and the exact path as fallback when the graph still
  returned fewer than ``limit``.

Shares come from an index-only count of the user's vectors and the HNSW index's size, cached briefly in
process (a stale figure only costs speed: a short answer falls back to exact, which is always correct).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

import asyncpg

from gateway.memory.index import (
    EmbeddingSpace,
    IndexPoint,
    VectorHit,
    VectorIndexError,
    checked_vector,
    selected_memory_types,
)
from gateway.memory.pgvector_repository import (
    Distance,
    PgVectorRepository,
    checked_dims,
    hnsw_index_name,
)

logger = logging.getLogger(__name__)

# pgvector 0.6: HNSW indexes at most 2000 dimensions; larger spaces are always searched exactly.
HNSW_MAX_DIMS = 2000
# pgvector 0.6 accepts hnsw.ef_search in [1, 1000].
EF_SEARCH_MAX = 1000
# Up to this many floats (5,000 vectors of 384-d, 1,250 of 1536-d) the exact scan of one user's rows
# stays within a few ms and is never wrong; above it the graph walk wins (benchmarks/vector_index.py).
EXACT_SCAN_MAX_FLOATS = 5000 * 384
# Recall of the graph walk is set by ef_search; below ~100 it drops fast on 384-d embeddings.
DEFAULT_MIN_EF_SEARCH = 100
# ef_search = limit / share × this: room for the variance of how many of the user's rows land in ef.
DEFAULT_OVERSAMPLE = 2.0
DEFAULT_STATS_TTL_SECONDS = 60.0
_MAX_CACHED_USERS = 10_000
# CREATE INDEX CONCURRENTLY waits for older transactions; a stuck one must fail the build, not hang it.
_BUILD_LOCK_TIMEOUT = "60s"

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)

Strategy = Literal["exact", "hnsw"]


@dataclass(frozen=True)
class SearchPlan:
    strategy: Strategy
    ef_search: int | None  # set for "hnsw"
    user_vectors: int  # the user's vectors of this space and these memory types (cached count)
    space_vectors: float | None  # entries of the size's HNSW index (estimate), None without a valid index
    reason: str


@dataclass
class _UserCount:
    expires_at: float
    by_type: dict[str, int]
    hnsw_short: bool = False  # the graph came back short: stay exact until the count is refreshed


@dataclass
class _SpaceSize:
    expires_at: float
    entries: float | None


@dataclass
class PgVectorIndex:
    """The embedded index: Postgres searches ``memories.embedding`` itself (see the module docstring).

    Vectors live in the memory rows, so ``upsert`` and ``delete`` write nothing: the memory service has
    already stored (or soft-deleted) the row, and ``search`` reads only live rows of the space.
    """

    pool: asyncpg.Pool
    exact_max_vectors: int | None = None  # default: EXACT_SCAN_MAX_FLOATS / dims
    min_ef_search: int = DEFAULT_MIN_EF_SEARCH
    oversample: float = DEFAULT_OVERSAMPLE
    stats_ttl_seconds: float = DEFAULT_STATS_TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    name: str = field(default="pgvector", init=False)
    in_postgres: bool = field(default=True, init=False)
    _users: dict[tuple[str, str, int], _UserCount] = field(default_factory=dict, init=False, repr=False)
    _spaces: dict[int, _SpaceSize] = field(default_factory=dict, init=False, repr=False)

    # --- the VectorIndex protocol -----------------------------------------------------------------------

    async def ensure_ready(self, space: EmbeddingSpace) -> None:
        """Build the size's HNSW index if it is missing or a failed build left it invalid (idempotent).

        Built CONCURRENTLY, so memory writes go on meanwhile; a build on a large table takes minutes.
        """
        dims = checked_dims(space.dims)
        if dims > HNSW_MAX_DIMS:
            logger.warning("pgvector cannot index %d dimensions: %s is searched exactly", dims, space.model)
            return
        name = hnsw_index_name(dims)
        try:
            async with self.pool.acquire() as conn:
                repo = PgVectorRepository(conn)
                await repo.lock_builds()
                try:
                    valid = await repo.index_valid(dims)
                    if valid:
                        return
                    if valid is False:  # a build interrupted half-way leaves an invalid index behind
                        logger.warning("dropping invalid index %s left by an interrupted build", name)
                        await repo.drop_index(dims)
                    logger.info("building %s (HNSW, cosine) for %d-dimensional memories", name, dims)
                    await repo.set_lock_timeout(_BUILD_LOCK_TIMEOUT)
                    await repo.create_index(dims)
                finally:
                    await repo.reset_lock_timeout()
                    await repo.unlock_builds()
        except _DB_ERRORS as exc:
            raise VectorIndexError(f"pgvector could not build {name}: {exc}") from exc
        self._spaces.pop(dims, None)

    async def upsert(self, space: EmbeddingSpace, points: Sequence[IndexPoint]) -> None:
        """Nothing to write: the vectors are already in their memory rows. Checks their size."""
        dims = checked_dims(space.dims)
        for point in points:
            if len(point.vector) != dims:
                raise ValueError(
                    f"memory {point.memory_id}: {len(point.vector)} dimensions, space has {dims}"
                )

    async def search(
        self,
        space: EmbeddingSpace,
        user_id: str,
        vector: Sequence[float],
        limit: int,
        memory_types: Sequence[str] | None = None,
        channel_id: str | None = None,
    ) -> list[VectorHit]:
        """The user's nearest live memories of this space, best first (cosine similarity = 1 − distance);
        with ``channel_id``, those said in that channel (always the exact path)."""
        dims = checked_dims(space.dims)
        query = checked_vector(vector, dims)
        types = selected_memory_types(memory_types)
        if limit < 1 or not types:
            return []
        try:
            async with self.pool.acquire() as conn:
                repo = PgVectorRepository(conn)
                if channel_id is not None:
                    return await self._search_exact(repo, space, user_id, query, limit, types, channel_id)
                plan = await self._plan(repo, space, user_id, limit, types)
                if plan.strategy == "hnsw":
                    assert plan.ef_search is not None
                    hits = await self._search_hnsw(repo, space, user_id, query, limit, types, plan.ef_search)
                    if len(hits) >= min(limit, plan.user_vectors):
                        return hits
                    logger.debug("HNSW returned %d of %d for %s: exact fallback", len(hits), limit, user_id)
                    self._mark_short(user_id, space)
                return await self._search_exact(repo, space, user_id, query, limit, types)
        except _DB_ERRORS as exc:
            raise VectorIndexError(f"pgvector search failed: {exc}") from exc

    async def delete(self, space: EmbeddingSpace, user_id: str, memory_ids: Sequence[UUID]) -> None:
        """Nothing to remove: a soft-deleted row is out of every search already."""

    async def delete_user(self, user_id: str) -> None:
        """Nothing to remove (deleting the profile cascades to the rows); forgets the cached counts."""
        for key in [key for key in self._users if key[0] == user_id]:
            del self._users[key]

    async def health(self) -> None:
        try:
            async with self.pool.acquire() as conn:
                await PgVectorRepository(conn).extension_version()
        except _DB_ERRORS as exc:
            raise VectorIndexError(f"pgvector unavailable: {exc}") from exc

    # --- the two paths, public so tests and benchmarks can compare them -----------------------------------

    async def plan(
        self,
        space: EmbeddingSpace,
        user_id: str,
        limit: int,
        memory_types: Sequence[str] | None = None,
    ) -> SearchPlan:
        """The path ``search`` would take now, and why."""
        try:
            async with self.pool.acquire() as conn:
                return await self._plan(
                    PgVectorRepository(conn), space, user_id, limit, selected_memory_types(memory_types)
                )
        except _DB_ERRORS as exc:
            raise VectorIndexError(f"pgvector plan failed: {exc}") from exc

    async def search_exact(
        self,
        space: EmbeddingSpace,
        user_id: str,
        vector: Sequence[float],
        limit: int,
        memory_types: Sequence[str] | None = None,
    ) -> list[VectorHit]:
        """Brute force over the user's rows: always complete, cost grows with the user's vector count."""
        dims = checked_dims(space.dims)
        try:
            async with self.pool.acquire() as conn:
                return await self._search_exact(
                    PgVectorRepository(conn),
                    space,
                    user_id,
                    checked_vector(vector, dims),
                    limit,
                    selected_memory_types(memory_types),
                )
        except _DB_ERRORS as exc:
            raise VectorIndexError(f"pgvector search failed: {exc}") from exc

    async def search_hnsw(
        self,
        space: EmbeddingSpace,
        user_id: str,
        vector: Sequence[float],
        limit: int,
        ef_search: int,
        memory_types: Sequence[str] | None = None,
    ) -> list[VectorHit]:
        """The graph walk alone: approximate, and short when the user owns little of the space."""
        dims = checked_dims(space.dims)
        try:
            async with self.pool.acquire() as conn:
                return await self._search_hnsw(
                    PgVectorRepository(conn),
                    space,
                    user_id,
                    checked_vector(vector, dims),
                    limit,
                    selected_memory_types(memory_types),
                    ef_search,
                )
        except _DB_ERRORS as exc:
            raise VectorIndexError(f"pgvector search failed: {exc}") from exc

    # --- internals ------------------------------------------------------------------------------------------

    async def _plan(
        self, repo: PgVectorRepository, space: EmbeddingSpace, user_id: str, limit: int, types: Sequence[str]
    ) -> SearchPlan:
        dims = checked_dims(space.dims)
        counts = await self._user_count(repo, user_id, space)
        mine = sum(counts.by_type.get(t, 0) for t in types)
        entries = await self._space_entries(repo, dims)

        def exact(reason: str) -> SearchPlan:
            return SearchPlan("exact", None, mine, entries, reason)

        if entries is None:
            return exact("no valid HNSW index for this size")
        exact_max = self.exact_max_for(dims)
        if mine <= exact_max:
            return exact(f"{mine} vectors ≤ {exact_max}: a scan is cheaper than the graph")
        if counts.hnsw_short:
            return exact("the graph came back short for this user recently")
        share = min(1.0, mine / max(entries, 1.0))
        needed = math.ceil(limit * self.oversample / share)
        if needed > EF_SEARCH_MAX:
            return exact(f"share {share:.4f} needs ef_search {needed} > {EF_SEARCH_MAX}")
        ef = max(self.min_ef_search, needed, limit)
        return SearchPlan("hnsw", min(ef, EF_SEARCH_MAX), mine, entries, f"share {share:.4f}")

    def exact_max_for(self, dims: int) -> int:
        """Up to how many of a user's vectors of this size the exact scan is chosen."""
        if self.exact_max_vectors is not None:
            return self.exact_max_vectors
        return EXACT_SCAN_MAX_FLOATS // checked_dims(dims)

    async def _user_count(self, repo: PgVectorRepository, user_id: str, space: EmbeddingSpace) -> _UserCount:
        key = (user_id, space.model, space.dims)
        now = self.clock()
        cached = self._users.get(key)
        if cached is not None and cached.expires_at > now:
            return cached
        fresh = _UserCount(now + self.stats_ttl_seconds, await repo.user_vector_counts(user_id, space))
        self._users.pop(key, None)
        self._users[key] = fresh
        while len(self._users) > _MAX_CACHED_USERS:
            del self._users[next(iter(self._users))]
        return fresh

    async def _space_entries(self, repo: PgVectorRepository, dims: int) -> float | None:
        """Entries in the size's HNSW index, the planner's way: tuples per page at the last
        VACUUM/ANALYZE times the pages it has now. None when there is no valid index to use."""
        if dims > HNSW_MAX_DIMS:
            return None
        now = self.clock()
        cached = self._spaces.get(dims)
        if cached is not None and cached.expires_at > now:
            return cached.entries
        size = await repo.index_size(dims)
        entries: float | None = None
        if size is not None and size.valid:
            if size.reltuples > 0 and size.relpages > 0:
                entries = float(size.reltuples) / size.relpages * size.pages
            else:  # never analysed: assume the user owns it all; a short answer falls back to exact
                entries = 0.0
        self._spaces[dims] = _SpaceSize(now + self.stats_ttl_seconds, entries)
        return entries

    def _mark_short(self, user_id: str, space: EmbeddingSpace) -> None:
        cached = self._users.get((user_id, space.model, space.dims))
        if cached is not None:
            cached.hnsw_short = True

    async def _search_exact(
        self,
        repo: PgVectorRepository,
        space: EmbeddingSpace,
        user_id: str,
        query: list[float],
        limit: int,
        types: Sequence[str],
        channel_id: str | None = None,
    ) -> list[VectorHit]:
        checked_dims(space.dims)
        if limit < 1 or not types:
            return []
        return _hits(await repo.search_exact(space, user_id, query, limit, types, channel_id))

    async def _search_hnsw(
        self,
        repo: PgVectorRepository,
        space: EmbeddingSpace,
        user_id: str,
        query: list[float],
        limit: int,
        types: Sequence[str],
        ef_search: int,
    ) -> list[VectorHit]:
        dims = checked_dims(space.dims)
        if dims > HNSW_MAX_DIMS:
            raise ValueError(f"pgvector has no HNSW index for {dims} dimensions")
        if limit < 1 or not types:
            return []
        ef = max(1, min(EF_SEARCH_MAX, ef_search))
        return _hits(await repo.search_hnsw(space, user_id, query, limit, types, ef))


def _hits(rows: Sequence[Distance]) -> list[VectorHit]:
    # A zero vector has no direction: its cosine distance is NaN and it matches nothing.
    return [
        VectorHit(memory_id, 1.0 - float(distance))
        for memory_id, distance in rows
        if distance is not None and not math.isnan(distance)
    ]
