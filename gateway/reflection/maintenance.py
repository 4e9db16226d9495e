"""The steps of the nightly memory maintenance and of the health-and-recovery job (docs/proactive.md#jobs).

Each step is safe to run twice and on two replicas one after the other: it only picks up what is still
outstanding (memories without a vector, vectors not in the index, queued writes, pending deletions).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from gateway.integrations.embedding import EmbeddingSpace
from gateway.integrations.qdrant import collection_name
from gateway.memory import reindex
from gateway.memory.index import MEMORY_TYPES, VectorIndexError
from gateway.memory.service import MemoryService

logger = logging.getLogger(__name__)

EMBED_BATCH = 64
MAX_DELETION_ATTEMPTS = 20


async def index_backlog(memory: MemoryService, limit: int) -> dict[str, Any]:
    """Postgres → index reconcile: a space whose Qdrant collections are gone (dropped, or a fresh Qdrant) is
    rebuilt whole from Postgres; vectors stored while the index was down are upserted."""
    if memory.index.in_postgres:
        return {"indexed": 0, "note": "the index is pgvector in Postgres: nothing to reconcile"}
    indexed = rebuilt = 0
    for space in await reindex.embedding_spaces(memory.pool):
        try:
            if await _collections_missing(memory, space):
                rebuilt += await reindex.rebuild_index(memory.pool, memory.index, space)
            indexed += await reindex.index_backlog(memory.pool, memory.index, space, limit)
        except VectorIndexError as exc:
            return {"indexed": indexed, "rebuilt": rebuilt, "error": f"{memory.index.name}: {exc}"}
    return {"indexed": indexed, "rebuilt": rebuilt}


async def _collections_missing(memory: MemoryService, space: EmbeddingSpace) -> bool:
    present = getattr(memory.index, "collections", None)
    if present is None:
        return False
    names = set(await present())
    return any(collection_name(memory_type, space) not in names for memory_type in MEMORY_TYPES)


async def retention_summary(pool: asyncpg.Pool, now: datetime) -> dict[str, Any]:
    """Retention is computed from elapsed time at recall (nothing stored decays); this reports the state."""
    row = await pool.fetchrow(
        """
        SELECT count(*) AS live,
               count(*) FILTER (WHERE retrieval_weight < 1) AS weakened,
               count(*) FILTER (WHERE coalesce(last_accessed_at, created_at) < $1::timestamptz - interval '30 days')
                 AS untouched_30_days
        FROM memories WHERE deleted_at IS NULL
        """,
        now,
    )
    return {key: int(row[key]) for key in ("live", "weakened", "untouched_30_days")} if row else {}


Forget = Callable[[str], Awaitable[Any]]


async def retry_pending_deletions(pool: asyncpg.Pool, forgetters: dict[str, Forget]) -> dict[str, int]:
    """Retry external deletions that failed when a user was deleted (``pending_deletions``). Rows are
    claimed with ``SKIP LOCKED``, so two jobs never work on the same one; a success removes the row."""
    done = failed = 0
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """
            SELECT id, user_id, target FROM pending_deletions
            WHERE attempts < $1 ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 100
            """,
            MAX_DELETION_ATTEMPTS,
        )
        for row in rows:
            forget = forgetters.get(row["target"])
            try:
                if forget is None:
                    raise RuntimeError(f"no {row['target']} configured on this gateway")
                await forget(row["user_id"])
            except Exception as exc:  # recorded on the row; retried next run
                failed += 1
                await conn.execute(
                    "UPDATE pending_deletions SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
                    row["id"],
                    f"{type(exc).__name__}: {exc}"[:500],
                )
                continue
            done += 1
            await conn.execute("DELETE FROM pending_deletions WHERE id = $1", row["id"])
    return {"retried": len(rows), "deleted": done, "failed": failed}
