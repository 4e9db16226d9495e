"""``python -m scripts reembed``: give every live memory a vector of the embedding service's current model.

Vectors of two models are never compared (docs/architecture.md#decisions, D9): after the embedding provider,
model or size changes, memories still tagged with the old model are invisible to vector search (full text
still finds them). This command re-embeds them, and memories that never got a vector (the embedding backlog),
with whatever model the embedding service answers with now, batch by batch:

1. read a batch of live memories whose tag differs from the current model/dims (or that have none;
   ``--model OLD`` limits it to memories tagged OLD), in id order;
2. embed their content with the service (a batch answered by another model than the first stops the run:
   the service was switched meanwhile);
3. store the vectors and the new tag in Postgres (the memory repository's own write);
4. with Qdrant, remove their points from the old model's collections; finally index the new vectors
   (``gateway.memory.reindex.index_backlog``; with pgvector, storing a vector is indexing it and the
   size's HNSW index is built if it is missing).

It can be stopped and run again at any time: the next run picks up what is still tagged with another model.
``python -m scripts reindex`` is the other half: it rebuilds the index from the vectors already in Postgres.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO
from uuid import UUID

import asyncpg
from pgvector.asyncpg import register_vector

from gateway.integrations.embedding import EmbeddingClient, EmbeddingServiceError, EmbeddingSpace
from gateway.memory.index import VectorIndex, VectorIndexError
from gateway.memory.reindex import index_backlog
from gateway.memory.repository import MemoryRepository
from scripts.targets import TargetError, Targets

_STALE = """
    SELECT id, user_id, content, embedding_model, embedding_dims FROM memories
    WHERE deleted_at IS NULL
      AND (embedding IS NULL OR embedding_model <> $1 OR embedding_dims <> $2)
      AND ($3::text IS NULL OR embedding_model = $3)
"""
PROBE_TEXT = "which model embeds this?"


class ReembedError(RuntimeError):
    pass


@dataclass
class ReembedResult:
    space: EmbeddingSpace
    stale: dict[str, int]  # "model/dims" (or "none") -> memories found stale before the run
    reembedded: int = 0
    indexed: int = 0
    index_name: str = ""
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def _label(model: str | None, dims: int | None) -> str:
    return f"{model}/{dims}" if model else "no vector"


async def stale_counts(pool: asyncpg.Pool, space: EmbeddingSpace, model: str | None) -> dict[str, int]:
    rows = await pool.fetch(
        f"SELECT embedding_model, embedding_dims, count(*) AS n FROM ({_STALE}) AS s GROUP BY 1, 2 ORDER BY 1, 2",  # noqa: S608
        space.model,
        space.dims,
        model,
    )
    return {_label(r["embedding_model"], r["embedding_dims"]): int(r["n"]) for r in rows}


async def _open_index(pool: asyncpg.Pool, targets: Targets) -> tuple[VectorIndex, Any]:
    from gateway.memory.pgvector_index import PgVectorIndex

    if not targets.qdrant_url:
        return PgVectorIndex(pool), None
    from pydantic import SecretStr

    from gateway.config import QdrantSettings
    from gateway.integrations.qdrant import QdrantIndex, create_qdrant_client

    settings = QdrantSettings(
        url=targets.qdrant_url,
        api_key=SecretStr(targets.qdrant_api_key or ""),
        timeout_seconds=30,
        _env_file=None,  # type: ignore[call-arg]
    )
    client = create_qdrant_client(settings)
    return QdrantIndex(client), client


async def reembed(
    targets: Targets,
    *,
    model: str | None = None,
    batch: int = 100,
    dry_run: bool = False,
    out: TextIO | None = None,
) -> ReembedResult:
    if batch < 1:
        raise ReembedError(f"--batch must be at least 1, got {batch}")
    if not targets.embedding_url:
        raise ReembedError("EMBEDDING_SERVICE_URL is not set")
    stream = out or sys.stdout
    embedding = EmbeddingClient(targets.embedding_url, timeout=120)
    # pgvector's codec, as the gateway's pool registers it: the repository writes vectors as the gateway does.
    pool = await asyncpg.create_pool(targets.database_url, min_size=1, max_size=2, init=register_vector)
    assert pool is not None
    client: Any = None
    try:
        probe = await embedding.embed_documents([PROBE_TEXT])
        assert probe is not None
        space = probe.space
        result = ReembedResult(space, await stale_counts(pool, space, model))
        if dry_run or not result.stale:
            return result
        started = time.perf_counter()
        index, client = await _open_index(pool, targets)
        result.index_name = index.name
        after = UUID(int=0)
        total = sum(result.stale.values())
        while True:
            rows = await pool.fetch(
                _STALE + " AND id > $4 ORDER BY id LIMIT $5", space.model, space.dims, model, after, batch
            )
            if not rows:
                break
            by_user: dict[str, list[int]] = defaultdict(list)
            for position, row in enumerate(rows):
                by_user[row["user_id"]].append(position)
            vectors_by_user = []
            for user_id, positions in by_user.items():
                # Per user: the service caches a user's texts under their namespace (deleted with them).
                embedded = await embedding.embed_documents(
                    [rows[p]["content"] for p in positions], user_id=user_id
                )
                assert embedded is not None
                if embedded.space != space:
                    raise ReembedError(
                        f"the embedding service switched from {_label(space.model, space.dims)} to "
                        f"{_label(embedded.space.model, embedded.space.dims)} during the run; run it again"
                    )
                vectors_by_user.append((user_id, positions, embedded.vectors))
            indexed_at = datetime.now(UTC) if index.in_postgres else None
            # The batch's vectors are all in before a connection is taken: none is held while the embedding
            # service works (up to its 120 s timeout per user).
            async with pool.acquire() as conn:
                repo = MemoryRepository(conn)
                for user_id, positions, vectors in vectors_by_user:
                    await repo.set_embeddings(
                        user_id,
                        [rows[p]["id"] for p in positions],
                        vectors,
                        space.model,
                        space.dims,
                        indexed_at,
                    )
            if not index.in_postgres:
                await _drop_old_points(index, rows, result)
            result.reembedded += len(rows)
            after = rows[-1]["id"]
            print(f"  re-embedded {result.reembedded}/{total}", file=stream, flush=True)
        try:
            await index.ensure_ready(space)
            if not index.in_postgres:
                result.indexed = await index_backlog(pool, index, space, limit=2**62)
            else:
                result.indexed = result.reembedded
        except VectorIndexError as exc:
            result.warnings.append(
                f"vectors stored but not indexed ({exc}); `python -m scripts reindex --backlog` finishes it"
            )
        result.seconds = time.perf_counter() - started
        return result
    finally:
        if client is not None:
            await client.close()
        await pool.close()
        await embedding.aclose()


async def _drop_old_points(index: VectorIndex, rows: list[Any], result: ReembedResult) -> None:
    groups: dict[tuple[str, str, int], list[UUID]] = defaultdict(list)
    for row in rows:
        if row["embedding_model"]:
            groups[(row["user_id"], row["embedding_model"], row["embedding_dims"])].append(row["id"])
    for (user_id, model, dims), ids in groups.items():
        try:
            await index.delete(EmbeddingSpace(model, dims), user_id, ids)
        except VectorIndexError as exc:  # a stale point of another model is never searched with this one
            result.warnings.append(f"old {model} points of {user_id} left in {index.name}: {exc}")


def run_reembed(env: Mapping[str, str], *, model: str | None, batch: int, dry_run: bool) -> int:
    try:
        targets = Targets.resolve(env)
        result = asyncio.run(reembed(targets, model=model, batch=batch, dry_run=dry_run))
    except (ReembedError, TargetError) as exc:
        print(f"reembed failed: {exc}", file=sys.stderr)
        return 1
    except EmbeddingServiceError as exc:
        print(f"reembed failed: {exc.message}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError, VectorIndexError) as exc:
        print(f"reembed failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    current = _label(result.space.model, result.space.dims)
    if not result.stale:
        print(f"every live memory already has a vector of {current}: nothing to do")
        return 0
    found = ", ".join(f"{n} {label}" for label, n in result.stale.items())
    if dry_run:
        print(f"would re-embed {sum(result.stale.values())} memories with {current}: {found}")
        return 0
    print(
        f"re-embedded {result.reembedded} memories ({found}) with {current} and indexed {result.indexed} "
        f"into {result.index_name} in {result.seconds:.1f}s"
    )
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
