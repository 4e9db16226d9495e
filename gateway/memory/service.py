"""The memory service: store, recall, list, forget, consolidate and export a user's memories.

Postgres holds every memory (vector included) and is written first: an embedding or index failure
during a write never loses a memory, it only leaves it in the backlog that maintenance indexes later.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

import asyncpg
import numpy as np

from gateway.config import MemorySettings
from gateway.errors import BadRequestError, NotFoundError
from gateway.integrations.embedding import (
    EmbeddingClient,
    EmbeddingServiceError,
    EmbeddingSpace,
    QueryEmbedding,
)
from gateway.memory import retrieval
from gateway.memory.index import IndexPoint, VectorHit, VectorIndex, VectorIndexError
from gateway.memory.repository import Candidate, MemoryRepository, NewMemory
from gateway.memory.schemas import (
    MemoryConflictRead,
    MemoryExport,
    MemoryPage,
    MemoryRead,
    MemorySearchResult,
    MemoryType,
    ScoreComponents,
    Speaker,
)

logger = logging.getLogger(__name__)

EMBED_BATCH = 100
SCORING_CONCURRENCY = 8

_WORD = re.compile(r"[a-z0-9']+")
_STOPWORDS = frozenset(
    "a an and are as at be but by did do does for from had has have he her his how i if in is it its me my "
    "of on or our she so that the their them they this to was we were what when where which who why will "
    "with would you your".split()
)


class MemoryNotFoundError(NotFoundError):
    pass


class ConflictNotFoundError(NotFoundError):
    pass


class Scorer(Protocol):
    """Importance scoring (gateway.memory.importance.ImportanceScorer)."""

    async def score(self, content: str, speaker: str = "user", context: Sequence[str] = ()) -> Any: ...


@dataclass(frozen=True)
class MemoryInput:
    content: str
    memory_type: MemoryType = MemoryType.EPISODIC
    speaker: Speaker | None = Speaker.USER
    importance: float | None = None
    importance_source: str | None = None
    created_at: datetime | None = None
    emotion_context: str | None = None
    pad_context: dict[str, float] | None = None
    interaction_id: int | None = None
    conversation_id: str | None = None
    source_memory_ids: Sequence[UUID] = ()
    confidence: float | None = None
    context: Sequence[str] = ()


@dataclass
class SearchOutcome:
    results: list[MemorySearchResult]
    degraded: list[str] = field(default_factory=list)


def utcnow() -> datetime:
    return datetime.now(UTC)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1}


class MemoryService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        embedding: EmbeddingClient,
        index: VectorIndex,
        scorer: Scorer,
        settings: MemorySettings,
        fallback_index: VectorIndex | None = None,
    ) -> None:
        self.pool = pool
        self.embedding = embedding
        self.index = index
        self.fallback_index = fallback_index
        self.scorer = scorer
        self.settings = settings
        self._ready_spaces: set[tuple[str, EmbeddingSpace]] = set()

    # --- writing ---------------------------------------------------------------------------------------------

    async def store(self, user_id: str, item: MemoryInput) -> MemoryRead:
        """Keep one memory; it is searchable as soon as this returns (by vector once embedded)."""
        [memory_id] = await self.store_many(user_id, [item])
        return await self.get(user_id, memory_id)

    async def store_many(self, user_id: str, items: Sequence[MemoryInput]) -> list[UUID]:
        """Keep several memories of one user: score, write to Postgres, embed, index (in that order)."""
        if not items:
            return []
        importances = await self._importances(items)
        now = utcnow()
        rows = [
            NewMemory(
                id=uuid4(),
                user_id=user_id,
                memory_type=item.memory_type.value,
                content=item.content,
                speaker=item.speaker.value if item.speaker else None,
                importance=value,
                importance_source=source,
                created_at=item.created_at or now,
                emotion_context=item.emotion_context,
                pad_context=item.pad_context,
                interaction_id=item.interaction_id,
                conversation_id=item.conversation_id,
                source_memory_ids=item.source_memory_ids,
                confidence=item.confidence,
            )
            for item, (value, source) in zip(items, importances, strict=True)
        ]
        async with self.pool.acquire() as conn, conn.transaction():
            await MemoryRepository(conn).insert_many(rows)
        for start in range(0, len(rows), EMBED_BATCH):
            await self._embed_and_index(rows[start : start + EMBED_BATCH])
        return [row.id for row in rows]

    async def _importances(self, items: Sequence[MemoryInput]) -> list[tuple[float, str]]:
        semaphore = asyncio.Semaphore(SCORING_CONCURRENCY)

        async def one(item: MemoryInput) -> tuple[float, str]:
            if item.importance is not None:
                return item.importance, item.importance_source or "default"
            speaker = item.speaker.value if item.speaker else "system"
            async with semaphore:
                scored = await self.scorer.score(item.content, speaker, item.context)
            # The scorer weighs the assistant's own replies lower than the user's (DESIGN §7).
            return min(1.0, max(0.0, float(scored.value))), str(scored.source)

        return list(await asyncio.gather(*(one(item) for item in items)))

    async def _embed_and_index(self, rows: Sequence[NewMemory]) -> None:
        user_id = rows[0].user_id
        try:
            embedded = await self.embedding.embed_documents([row.content for row in rows])
        except EmbeddingServiceError as exc:
            logger.warning("memories kept without vectors (embedding backlog): %s", exc.message)
            return
        if embedded is None:
            return
        ids = [row.id for row in rows]
        async with self.pool.acquire() as conn:
            await MemoryRepository(conn).set_embeddings(
                user_id, ids, embedded.vectors, embedded.space.model, embedded.space.dims, None
            )
        points = [
            IndexPoint(row.id, user_id, row.memory_type, vector, row.importance, row.created_at)
            for row, vector in zip(rows, embedded.vectors, strict=True)
        ]
        try:
            await self._ensure_ready(self.index, embedded.space)
            await self.index.upsert(embedded.space, points)
        except VectorIndexError as exc:
            logger.warning("memories kept unindexed (index backlog): %s", exc)
            return
        async with self.pool.acquire() as conn:
            await MemoryRepository(conn).mark_indexed(user_id, ids, utcnow())

    async def _ensure_ready(self, index: VectorIndex, space: EmbeddingSpace) -> None:
        key = (index.name, space)
        if key not in self._ready_spaces:
            await index.ensure_ready(space)
            self._ready_spaces.add(key)

    # --- reading ---------------------------------------------------------------------------------------------

    async def get(self, user_id: str, memory_id: UUID) -> MemoryRead:
        row = await MemoryRepository(self.pool).get(user_id, memory_id)
        if row is None:
            raise MemoryNotFoundError(f"no memory {memory_id} for user {user_id}")
        return MemoryRead.model_validate(row)

    async def list_page(self, user_id: str, memory_type: MemoryType, limit: int, offset: int) -> MemoryPage:
        rows, total = await MemoryRepository(self.pool).list_page(user_id, memory_type.value, limit, offset)
        return MemoryPage(
            items=[MemoryRead.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
        )

    async def delete(self, user_id: str, memory_id: UUID) -> None:
        """Forget one memory on the user's request: gone from search at once, from the index too."""
        if not await MemoryRepository(self.pool).soft_delete(user_id, memory_id):
            raise MemoryNotFoundError(f"no memory {memory_id} for user {user_id}")
        row = await self.pool.fetchrow(
            "SELECT embedding_model, embedding_dims FROM memories WHERE user_id = $1 AND id = $2",
            user_id,
            memory_id,
        )
        if row is not None and row["embedding_model"]:
            try:
                await self.index.delete(
                    EmbeddingSpace(row["embedding_model"], row["embedding_dims"]), user_id, [memory_id]
                )
            except VectorIndexError as exc:  # search filters deleted rows through Postgres anyway
                logger.warning("index delete deferred: %s", exc)

    async def export(self, user_id: str) -> MemoryExport:
        repo = MemoryRepository(self.pool)
        return MemoryExport(
            user_id=user_id,
            exported_at=utcnow(),
            memories=[MemoryRead.model_validate(r) for r in await repo.all_for_export(user_id)],
            conflicts=[
                MemoryConflictRead.model_validate(r) for r in await repo.list_conflicts(user_id, None)
            ],
        )

    # --- recall ----------------------------------------------------------------------------------------------

    async def search(
        self,
        user_id: str,
        query: str,
        *,
        k: int = 10,
        mmr_lambda: float | None = None,
        memory_types: Sequence[MemoryType] | None = None,
        min_importance: float = 0.0,
        now: datetime | None = None,
        query_embedding: QueryEmbedding | None = None,
        record_access: bool = True,
    ) -> SearchOutcome:
        """The user's k most useful memories for ``query``, each with its score components and a reason.

        ``now`` sets the moment retention is computed for (an imported history lives in the past).
        """
        if not query.strip():
            raise BadRequestError("query must not be blank")
        now = now or utcnow()
        lam = self.settings.mmr_lambda if mmr_lambda is None else mmr_lambda
        types = [t.value for t in (memory_types or list(MemoryType))]
        n = max(self.settings.candidates, 3 * k)
        degraded: list[str] = []

        if query_embedding is None:
            try:
                query_embedding = await self.embedding.embed_query(query)
            except EmbeddingServiceError as exc:
                logger.warning("recall without vectors: %s", exc.message)
                degraded.append("embedding_service")
        lexical_task = asyncio.ensure_future(
            MemoryRepository(self.pool).fulltext_search(user_id, query, n, types)
        )
        vector_hits: list[VectorHit] = []
        if query_embedding is not None:
            vector_hits = await self._vector_search(user_id, query_embedding, n, types, degraded)
        lexical_hits = await lexical_task

        ids = list(dict.fromkeys([hit.memory_id for hit in vector_hits] + [mid for mid, _ in lexical_hits]))
        if not ids:
            return SearchOutcome([], degraded)
        model = query_embedding.space.model if query_embedding else None
        candidates = await MemoryRepository(self.pool).candidates(user_id, ids, model)
        candidates = [c for c in candidates if c.row["importance"] >= min_importance]
        if not candidates:
            return SearchOutcome([], degraded)

        scored, vectors, has_vector = self._score(candidates, query_embedding, lexical_hits, now)
        chosen = retrieval.mmr_select([s.score for s in scored], vectors, has_vector, k, lam)
        query_words = content_words(query)
        results = []
        for index, mmr_value in chosen:
            item = scored[index]
            row = candidates[index].row
            matched = sorted(query_words & content_words(row["content"]))
            results.append(
                MemorySearchResult(
                    memory=MemoryRead.model_validate(row),
                    components=ScoreComponents(
                        similarity=None if item.similarity is None else round(item.similarity, 4),
                        lexical=round(item.lexical, 4),
                        relevance=round(item.relevance, 4),
                        importance=round(item.importance, 4),
                        retention=round(item.retention, 4),
                        score=round(item.score, 4),
                        mmr=round(mmr_value, 4),
                    ),
                    reason=retrieval.explain(item, matched, now, row["created_at"]),
                )
            )
        if record_access and results:
            async with self.pool.acquire() as conn:
                await MemoryRepository(conn).record_recall(
                    user_id,
                    [r.memory.id for r in results],
                    now,
                    retrieval.RECALL_STRENGTH_GROWTH,
                    retrieval.MAX_STRENGTH,
                )
        return SearchOutcome(results, degraded)

    async def _vector_search(
        self, user_id: str, query: QueryEmbedding, n: int, types: list[str], degraded: list[str]
    ) -> list[VectorHit]:
        for index in (self.index, self.fallback_index):
            if index is None:
                continue
            try:
                await self._ensure_ready(index, query.space)
                return await index.search(query.space, user_id, query.vector, n, types)
            except VectorIndexError as exc:
                logger.warning("vector index %s failed, falling back: %s", index.name, exc)
                degraded.append(index.name)
        return []

    def _score(
        self,
        candidates: Sequence[Candidate],
        query: QueryEmbedding | None,
        lexical_hits: Sequence[tuple[UUID, float]],
        now: datetime,
    ) -> tuple[list[retrieval.Scored], np.ndarray[Any, Any] | None, list[bool]]:
        has_vector = [c.vector is not None and query is not None for c in candidates]
        vectors: np.ndarray[Any, Any] | None = None
        similarities: list[float | None] = [None] * len(candidates)
        if query is not None and any(has_vector):
            dims = query.space.dims
            vectors = np.zeros((len(candidates), dims), dtype=np.float32)
            for i, candidate in enumerate(candidates):
                if has_vector[i]:
                    vectors[i] = candidate.vector
            sims = vectors @ np.asarray(query.vector, dtype=np.float32)
            similarities = [float(sims[i]) if has_vector[i] else None for i in range(len(candidates))]
        by_similarity = sorted(
            (i for i, s in enumerate(similarities) if s is not None), key=lambda i: -(similarities[i] or 0.0)
        )
        semantic_rank = retrieval.rank_scores(by_similarity)
        lexical_order = {memory_id: position for position, (memory_id, _) in enumerate(lexical_hits)}
        lexical_rank = retrieval.rank_scores(list(lexical_order))
        scored = []
        for i, candidate in enumerate(candidates):
            row = candidate.row
            lexical = lexical_rank.get(row["id"], 0.0)
            rel = retrieval.relevance(similarities[i], semantic_rank.get(i, 0.0), lexical)
            ret = retrieval.retention(
                now, row["created_at"], row["last_accessed_at"], row["strength"], row["importance"]
            )
            score = retrieval.combine(rel, row["importance"], ret, row["retrieval_weight"])
            scored.append(retrieval.Scored(i, similarities[i], lexical, rel, row["importance"], ret, score))
        return scored, vectors, has_vector
