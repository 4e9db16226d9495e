"""The nightly memory maintenance (04:00): each step is safe to run twice and on two replicas one after the
other, since it only picks up what is still outstanding (memories without a vector, vectors not in the index,
queued writes, pending deletions). Steps of other domains (the chat pipeline's queued work, dormant users,
failed deletions) come in as the calls they are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from gateway.integrations.embedding import EmbeddingSpace
from gateway.integrations.qdrant import collection_name
from gateway.jobs import JobResult, JobSpec, run_step
from gateway.memory import reindex
from gateway.memory.importance import ImportanceScorer, rescore_pending
from gateway.memory.index import MEMORY_TYPES, VectorIndexError
from gateway.memory.repository import MemoryRepository
from gateway.memory.service import MemoryService

EMBED_BACKLOG_PER_RUN = 2000
INDEX_BACKLOG_PER_RUN = 5000
RESCORE_PER_RUN = 500


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


def memory_maintenance(
    memory: MemoryService,
    *,
    replay_queued: Callable[[], Awaitable[dict[str, int]]],
    mark_dormant: Callable[[datetime], Awaitable[int]],
    retry_deletions: Callable[[], Awaitable[dict[str, int]]],
) -> JobSpec:
    async def run(now: datetime) -> JobResult:
        report: dict[str, Any] = {}
        errors: list[str] = []
        # Retention is computed from elapsed time at recall (nothing stored decays); this reports the state.
        await run_step(
            report, errors, "retention", lambda: MemoryRepository(memory.pool).retention_counts(now)
        )

        async def rescore() -> int | str:
            if not isinstance(memory.scorer, ImportanceScorer) or memory.scorer.llm is None:
                return "skipped: no Groq key (heuristic scores stay)"
            return await rescore_pending(memory.pool, memory.scorer, RESCORE_PER_RUN)

        await run_step(report, errors, "importance_rescored", rescore)
        await run_step(report, errors, "embedded", lambda: memory.embed_backlog(EMBED_BACKLOG_PER_RUN))
        await run_step(
            report, errors, "index_reconcile", lambda: index_backlog(memory, INDEX_BACKLOG_PER_RUN)
        )
        # Interactions and memories queued while Postgres was down (interactions first: they create profiles).
        await run_step(report, errors, "queued_work_replayed", replay_queued)
        dormant = await run_step(report, errors, "marked_dormant", lambda: mark_dormant(now))
        await run_step(report, errors, "pending_deletions", retry_deletions)
        return JobResult(users=int(dormant or 0), errors=errors, report=report)

    return JobSpec(
        "memory_maintenance",
        "retention report, importance re-score, re-embed and index backlogs, queued memory writes, "
        "dormant users, pending deletions",
        "04:00 SCHEDULER_TIMEZONE",
        lambda s: CronTrigger(hour=4, minute=0, timezone=ZoneInfo(s.timezone)),
        run,
        period=timedelta(days=1),
    )
