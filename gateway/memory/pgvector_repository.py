"""The SQL of the pgvector index (``pgvector_index``): its HNSW indexes, their statistics and the two search
paths over ``memories.embedding``. Type modifiers and index names cannot be bound as parameters, so the
embedding size is written into the SQL, always as a checked int; every value is a ``$n`` parameter."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gateway.db import keeps_session_state
from gateway.memory.index import EmbeddingSpace

# One connection, never the pool: a build holds a session-level lock, a graph walk a transaction of its own.
SingleConnection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

VECTOR_MAX_DIMS = 16000
BUILD_LOCK_KEY = 0x68_6E_73_77  # "hnsw": serialises index builds across gateway replicas
BUILD_LOCK_POLL_SECONDS = 0.2


def checked_dims(dims: object) -> int:
    """The size as an int safe to write into SQL (type modifiers cannot be bound as parameters)."""
    if not isinstance(dims, int) or isinstance(dims, bool) or not 1 <= dims <= VECTOR_MAX_DIMS:
        raise ValueError(f"embedding dims must be an int in [1, {VECTOR_MAX_DIMS}], got {dims!r}")
    return dims


def hnsw_index_name(dims: int) -> str:
    return f"ix_memories_embedding_hnsw_{checked_dims(dims)}"


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
class IndexSize:
    """An HNSW index as the planner sees it: tuples and pages at the last VACUUM/ANALYZE, pages now."""

    valid: bool
    reltuples: float
    relpages: int
    pages: int


# (memory id, cosine distance); the distance is None or NaN for a zero vector (it has no direction).
Distance = tuple[UUID, float | None]


class PgVectorRepository:
    def __init__(self, conn: SingleConnection) -> None:
        self.conn = conn

    # --- building the size's HNSW index ------------------------------------------------------------------

    async def lock_builds(self) -> None:
        """Hold the index-build lock for this session. Polled, not waited for in one statement: a waiting
        statement is a transaction with a snapshot, which the holder's CREATE INDEX CONCURRENTLY waits for in
        turn (two replicas starting on a fresh database deadlocked that way)."""
        keeps_session_state(self.conn)
        while True:
            if await self.conn.fetchval("SELECT pg_try_advisory_lock($1)", BUILD_LOCK_KEY):
                return
            await asyncio.sleep(BUILD_LOCK_POLL_SECONDS)

    async def unlock_builds(self) -> None:
        await self.conn.execute("SELECT pg_advisory_unlock($1)", BUILD_LOCK_KEY)

    async def index_valid(self, dims: int) -> bool | None:
        """Whether the size's HNSW index is valid; None when there is none."""
        valid: bool | None = await self.conn.fetchval(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", hnsw_index_name(dims)
        )
        return valid

    async def drop_index(self, dims: int) -> None:
        await self.conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {hnsw_index_name(dims)}")

    async def set_lock_timeout(self, duration: str) -> None:
        """For this session: a statement waiting on a lock longer than ``duration`` ("60s") fails."""
        keeps_session_state(self.conn)
        await self.conn.execute("SELECT set_config('lock_timeout', $1, false)", duration)

    async def reset_lock_timeout(self) -> None:
        await self.conn.execute("RESET lock_timeout")

    async def create_index(self, dims: int) -> None:
        """The size's partial HNSW index (cosine), built CONCURRENTLY: memory writes go on meanwhile."""
        dims = checked_dims(dims)
        await self.conn.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {hnsw_index_name(dims)} ON memories"
            f" USING hnsw ((embedding::vector({dims})) vector_cosine_ops)"
            f" WHERE embedding_dims = {dims} AND deleted_at IS NULL"
        )

    async def extension_version(self) -> str | None:
        version: str | None = await self.conn.fetchval(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        )
        return version

    # --- what a search plan reads ------------------------------------------------------------------------

    async def user_vector_counts(self, user_id: str, space: EmbeddingSpace) -> dict[str, int]:
        """The user's live vectors of ``space`` per memory type (an index-only count)."""
        rows = await self.conn.fetch(
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
        return {row["memory_type"]: int(row["n"]) for row in rows}

    async def index_size(self, dims: int) -> IndexSize | None:
        """The size's HNSW index as the planner sees it; None when there is none."""
        row = await self.conn.fetchrow(
            """
            SELECT i.indisvalid, c.reltuples, c.relpages,
                   pg_relation_size(c.oid) / current_setting('block_size')::int AS pages
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indexrelid = to_regclass($1)
            """,
            hnsw_index_name(dims),
        )
        if row is None:
            return None
        return IndexSize(row["indisvalid"], row["reltuples"], row["relpages"], row["pages"])

    # --- the two search paths ------------------------------------------------------------------------------

    async def search_exact(
        self,
        space: EmbeddingSpace,
        user_id: str,
        query: list[float],
        limit: int,
        types: Sequence[str],
        channel_id: str | None = None,
    ) -> list[Distance]:
        """The user's nearest rows of ``space`` by brute force; with ``channel_id``, those said there."""
        dims = checked_dims(space.dims)
        if channel_id is None:
            rows = await self.conn.fetch(
                exact_search_sql(dims), query, user_id, space.model, list(types), limit
            )
        else:
            rows = await self.conn.fetch(
                exact_search_sql(dims, in_channel=True),
                query,
                user_id,
                space.model,
                list(types),
                limit,
                channel_id,
            )
        return [(row["id"], row["distance"]) for row in rows]

    async def search_hnsw(
        self,
        space: EmbeddingSpace,
        user_id: str,
        query: list[float],
        limit: int,
        types: Sequence[str],
        ef_search: int,
    ) -> list[Distance]:
        """The graph walk with ``hnsw.ef_search`` set for it alone, in a read-only transaction of its own."""
        dims = checked_dims(space.dims)
        ef = int(ef_search)
        # BEGIN and SET LOCAL in one simple-protocol round trip (ef is an int, safe to inline).
        await self.conn.execute(f"BEGIN READ ONLY; SET LOCAL hnsw.ef_search = {ef:d}")
        try:
            rows = await self.conn.fetch(
                hnsw_search_sql(dims), query, ef, user_id, space.model, list(types), limit
            )
        except BaseException:
            if not self.conn.is_closed() and self.conn.is_in_transaction():
                await self.conn.execute("ROLLBACK")
            raise
        await self.conn.execute("COMMIT")
        return [(row["id"], row["distance"]) for row in rows]
