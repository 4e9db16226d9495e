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
from typing import Any, Literal
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

logger = logging.getLogger(__name__)

# pgvector 0.6: HNSW indexes at most 2000 dimensions; larger spaces are always searched exactly.
HNSW_MAX_DIMS = 2000
VECTOR_MAX_DIMS = 16000
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
_BUILD_LOCK_KEY = 0x68_6E_73_77  # "hnsw": serialises index builds across gateway replicas

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)

Strategy = Literal["exact", "hnsw"]


def hnsw_index_name(dims: int) -> str:
    return f"ix_memories_embedding_hnsw_{checked_dims(dims)}"


def checked_dims(dims: object) -> int:
    """The size as an int safe to write into SQL (type modifiers cannot be bound as parameters)."""
    if not isinstance(dims, int) or isinstance(dims, bool) or not 1 <= dims <= VECTOR_MAX_DIMS:
        raise ValueError(f"embedding dims must be an int in [1, {VECTOR_MAX_DIMS}], got {dims!r}")
    return dims


def exact_search_sql(dims: int, *, in_channel: bool = False) -> str:
    """Brute force over one user's rows of a space ($1 query real[], $2 user, $3 model, $4 types, $5 limit;
    with ``in_channel``, $6 the server channel the memories must have been said in).

    The query vector sits in a scalar sub-select so it is converted once (an InitPlan), not once per row
    under a generic plan.
    """
    dims = checked_dims(dims)
    channel = "AND origin_channel_id = $6::text" if in_channel else ""
    return f"""
        SELECT id, embedding <=> (SELECT $1::real[]::vector({dims})) AS distance
        FROM memories
        WHERE user_id = $2 AND embedding_dims = {dims} AND embedding_model = $3
          AND memory_type = ANY($4::text[]) AND deleted_at IS NULL AND embedding IS NOT NULL {channel}
        ORDER BY distance
        LIMIT $5
    """  # noqa: S608  (dims is a checked int; every value is bound)


def hnsw_search_sql(dims: int) -> str:
    """The graph walk, then this user's rows ($1 query real[], $2 ef_search, $3 user, $4 model, $5 types,
    $6 limit).

    The inner query has no user filter on purpose: it *is* the walk (the global top-ef by the indexed
    expression, under the index's own predicate), so the planner has no other plan to prefer; the outer
    query keeps this user's rows of this model.
    """
    dims = checked_dims(dims)
    return f"""
        SELECT id, distance FROM (
            SELECT id, user_id, embedding_model, memory_type,
                   embedding::vector({dims}) <=> (SELECT $1::real[]::vector({dims})) AS distance
            FROM memories
            WHERE embedding_dims = {dims} AND deleted_at IS NULL
            ORDER BY distance
            LIMIT $2
        ) AS candidates
        WHERE user_id = $3 AND embedding_model = $4 AND memory_type = ANY($5::text[])
        ORDER BY distance
        LIMIT $6
    """  # noqa: S608  (dims is a checked int; every value is bound)


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
                await conn.execute("SELECT pg_advisory_lock($1)", _BUILD_LOCK_KEY)
                try:
                    valid = await conn.fetchval(
                        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", name
                    )
                    if valid:
                        return
                    if valid is False:  # a build interrupted half-way leaves an invalid index behind
                        logger.warning("dropping invalid index %s left by an interrupted build", name)
                        await conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                    logger.info("building %s (HNSW, cosine) for %d-dimensional memories", name, dims)
                    await conn.execute("SELECT set_config('lock_timeout', $1, false)", _BUILD_LOCK_TIMEOUT)
                    await conn.execute(
                        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON memories"
                        f" USING hnsw ((embedding::vector({dims})) vector_cosine_ops)"
                        f" WHERE embedding_dims = {dims} AND deleted_at IS NULL"
                    )
                finally:
                    await conn.execute("RESET lock_timeout")
                    await conn.execute("SELECT pg_advisory_unlock($1)", _BUILD_LOCK_KEY)
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
                if channel_id is not None:
                    return await self._search_exact(conn, space, user_id, query, limit, types, channel_id)
                plan = await self._plan(conn, space, user_id, limit, types)
                if plan.strategy == "hnsw":
                    assert plan.ef_search is not None
                    hits = await self._search_hnsw(conn, space, user_id, query, limit, types, plan.ef_search)
                    if len(hits) >= min(limit, plan.user_vectors):
                        return hits
                    logger.debug("HNSW returned %d of %d for %s: exact fallback", len(hits), limit, user_id)
                    self._mark_short(user_id, space)
                return await self._search_exact(conn, space, user_id, query, limit, types)
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
                await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
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
                return await self._plan(conn, space, user_id, limit, selected_memory_types(memory_types))
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
                    conn,
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
                    conn,
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
        self, conn: Any, space: EmbeddingSpace, user_id: str, limit: int, types: Sequence[str]
    ) -> SearchPlan:
        dims = checked_dims(space.dims)
        counts = await self._user_count(conn, user_id, space)
        mine = sum(counts.by_type.get(t, 0) for t in types)
        entries = await self._space_entries(conn, dims)

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

    async def _user_count(self, conn: Any, user_id: str, space: EmbeddingSpace) -> _UserCount:
        key = (user_id, space.model, space.dims)
        now = self.clock()
        cached = self._users.get(key)
        if cached is not None and cached.expires_at > now:
            return cached
        rows = await conn.fetch(
            """
            SELECT memory_type, count(*) AS n FROM memories
            WHERE user_id = $1 AND embedding_dims = $2 AND embedding_model = $3
              AND deleted_at IS NULL AND embedding IS NOT NULL
            GROUP BY memory_type
            """,
            user_id,
            space.dims,
            space.model,
        )
        fresh = _UserCount(now + self.stats_ttl_seconds, {r["memory_type"]: int(r["n"]) for r in rows})
        self._users.pop(key, None)
        self._users[key] = fresh
        while len(self._users) > _MAX_CACHED_USERS:
            del self._users[next(iter(self._users))]
        return fresh

    async def _space_entries(self, conn: Any, dims: int) -> float | None:
        """Entries in the size's HNSW index, the planner's way: tuples per page at the last
        VACUUM/ANALYZE times the pages it has now. None when there is no valid index to use."""
        if dims > HNSW_MAX_DIMS:
            return None
        now = self.clock()
        cached = self._spaces.get(dims)
        if cached is not None and cached.expires_at > now:
            return cached.entries
        row = await conn.fetchrow(
            """
            SELECT i.indisvalid, c.reltuples, c.relpages,
                   pg_relation_size(c.oid) / current_setting('block_size')::int AS pages
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indexrelid = to_regclass($1)
            """,
            hnsw_index_name(dims),
        )
        entries: float | None = None
        if row is not None and row["indisvalid"]:
            if row["reltuples"] > 0 and row["relpages"] > 0:
                entries = float(row["reltuples"]) / row["relpages"] * row["pages"]
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
        conn: Any,
        space: EmbeddingSpace,
        user_id: str,
        query: list[float],
        limit: int,
        types: Sequence[str],
        channel_id: str | None = None,
    ) -> list[VectorHit]:
        dims = checked_dims(space.dims)
        if limit < 1 or not types:
            return []
        if channel_id is None:
            rows = await conn.fetch(exact_search_sql(dims), query, user_id, space.model, list(types), limit)
        else:
            rows = await conn.fetch(
                exact_search_sql(dims, in_channel=True),
                query,
                user_id,
                space.model,
                list(types),
                limit,
                channel_id,
            )
        return _hits(rows)

    async def _search_hnsw(
        self,
        conn: Any,
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
        # BEGIN and SET LOCAL in one simple-protocol round trip (ef is a clamped int, safe to inline).
        await conn.execute(f"BEGIN READ ONLY; SET LOCAL hnsw.ef_search = {ef:d}")
        try:
            rows = await conn.fetch(
                hnsw_search_sql(dims), query, ef, user_id, space.model, list(types), limit
            )
        except BaseException:
            if not conn.is_closed() and conn.is_in_transaction():
                await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        return _hits(rows)


def _hits(rows: Sequence[Any]) -> list[VectorHit]:
    # A zero vector has no direction: its cosine distance is NaN and it matches nothing.
    return [
        VectorHit(row["id"], 1.0 - float(row["distance"]))
        for row in rows
        if row["distance"] is not None and not math.isnan(row["distance"])
    ]
