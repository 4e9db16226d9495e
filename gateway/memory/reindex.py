"""Copying vectors from Postgres (the truth) into a vector index: a full rebuild, or just the backlog.

- ``rebuild_index``: every live memory of a space, in id order, batch by batch (a Qdrant that lost its data,
  a new Qdrant, a new collection layout).
- ``index_backlog``: memories whose vector was stored while the index was down (``indexed_at IS NULL``):
  the "indexed later" path of docs/architecture.md#decisions, D12, run by the nightly maintenance job.

Both upsert first and set ``indexed_at`` after, so a crash in between only means indexing twice. An
``indexed_at`` already set is left as it is: rewriting it would cost a new row version (and, with pgvector,
a new HNSW entry) for nothing. Neither removes index points whose memory is gone; the delete paths do that,
and a Qdrant search hit is always re-read from Postgres, which drops deleted rows.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO
from uuid import UUID

import asyncpg
from pydantic import SecretStr

from gateway.config import QdrantSettings
from gateway.integrations.qdrant import QdrantIndex, create_qdrant_client
from gateway.memory.index import EmbeddingSpace, IndexPoint, VectorIndex
from gateway.memory.pgvector_index import PgVectorIndex
from gateway.memory.repository import MemoryRepository

DEFAULT_BATCH_SIZE = 500
_SMALLEST_UUID = UUID(int=0)


async def rebuild_index(
    pool: asyncpg.Pool,
    index: VectorIndex,
    space: EmbeddingSpace,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Upsert every live memory of ``space`` into ``index`` (keyset pages by id); return how many.

    ``progress`` is called with the running count after each batch.
    """
    _check_batch_size(batch_size)
    await index.ensure_ready(space)
    repo = MemoryRepository(pool)
    done = 0
    after = _SMALLEST_UUID
    while True:
        points = await repo.index_points(space, after, batch_size)
        if not points:
            return done
        await _index_points(repo, index, space, points)
        done += len(points)
        after = points[-1].memory_id
        if progress is not None:
            progress(done)


async def index_backlog(
    pool: asyncpg.Pool,
    index: VectorIndex,
    space: EmbeddingSpace,
    limit: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int:
    """Index up to ``limit`` memories of ``space`` that have a vector but no ``indexed_at``, oldest first;
    return how many. A VectorIndexError stops it with the rest still in the backlog."""
    _check_batch_size(batch_size)
    await index.ensure_ready(space)
    repo = MemoryRepository(pool)
    done = 0
    while done < limit:
        points = await repo.unindexed_points(space, min(batch_size, limit - done))
        if not points:
            break
        await _index_points(repo, index, space, points)
        done += len(points)
    return done


async def embedding_spaces(pool: asyncpg.Pool) -> list[EmbeddingSpace]:
    """Every embedding space that has live vectors in Postgres."""
    return await MemoryRepository(pool).embedding_spaces()


async def reindex_command(
    database_url: str,
    qdrant_url: str | None,
    *,
    qdrant_api_key: str | None = None,
    qdrant_timeout_seconds: float = 30.0,
    spaces: Sequence[EmbeddingSpace] | None = None,
    backlog_only: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    out: TextIO | None = None,
) -> int:
    """``python -m scripts reindex``: rebuild the index (Qdrant at ``qdrant_url``, else pgvector) from
    Postgres for ``spaces`` (default: every space that has vectors), or only its backlog; print progress
    to ``out`` (stdout) and return how many memories were indexed."""
    stream = out or sys.stdout
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    assert pool is not None
    client: Any = None
    try:
        index: VectorIndex
        if qdrant_url:
            settings = QdrantSettings(
                url=qdrant_url,
                api_key=SecretStr(qdrant_api_key or ""),
                timeout_seconds=qdrant_timeout_seconds,
                _env_file=None,  # type: ignore[call-arg]
            )
            client = create_qdrant_client(settings)
            index = QdrantIndex(client)
        else:
            index = PgVectorIndex(pool)
        await index.health()
        chosen = list(spaces) if spaces is not None else await embedding_spaces(pool)
        if not chosen:
            print("no memories with vectors: nothing to index", file=stream)
            return 0
        total = 0
        for space in chosen:
            started = time.perf_counter()
            label = f"{space.model} ({space.dims}-d) into {index.name}"
            if backlog_only:
                count = await index_backlog(pool, index, space, limit=2**62, batch_size=batch_size)
            else:

                def report(done: int, label: str = label) -> None:
                    print(f"  {label}: {done} memories", file=stream, flush=True)

                count = await rebuild_index(pool, index, space, batch_size, progress=report)
            elapsed = time.perf_counter() - started
            what = "backlog" if backlog_only else "rebuild"
            print(f"{what} {label}: {count} memories in {elapsed:.1f} s", file=stream, flush=True)
            total += count
        return total
    finally:
        if client is not None:
            await client.close()
        await pool.close()


async def _index_points(
    repo: MemoryRepository, index: VectorIndex, space: EmbeddingSpace, points: Sequence[IndexPoint]
) -> None:
    await index.upsert(space, points)
    await repo.mark_indexed_in_space([point.memory_id for point in points], space)


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
