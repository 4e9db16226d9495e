"""The memory service: store, recall, list, forget, consolidate and export a user's memories.

Postgres holds every memory, vector included, each written once with its vector when the embedding service
gives one: an embedding or index failure during a write never loses a memory, it only leaves it in the
backlog that maintenance embeds and indexes later.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

import asyncpg
import numpy as np
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.clock import Clock, SystemClock
from gateway.config import MemorySettings
from gateway.errors import BadRequestError, NotFoundError
from gateway.integrations.embedding import (
    DocumentEmbeddings,
    EmbeddingClient,
    EmbeddingServiceError,
    EmbeddingSpace,
    QueryEmbedding,
)
from gateway.lru import LRUCache
from gateway.memory import names, retrieval, when
from gateway.memory.index import IndexPoint, VectorHit, VectorIndex, VectorIndexError
from gateway.memory.repository import Candidate, MemoryRepository, NewMemory, StoredVector
from gateway.memory.schemas import (
    MemoryExport,
    MemoryPage,
    MemoryRead,
    MemorySearchResult,
    MemoryType,
    ScoreComponents,
    Speaker,
)
from gateway.metrics import Metrics
from gateway.redis import user_key

logger = logging.getLogger(__name__)

EMBED_BATCH = 100
CORPUS_STATS_TTL_SECONDS = 300.0
SMALL_CORPUS = 200
# A word held by more than this share (or count) of the user's memories only scores; it selects no
# candidates.
COMMON_WORD_SHARE = 0.2
COMMON_WORD_COUNT_CAP = 1000
CANDIDATE_WORD_MAX_MEMORIES = 200
WORD_COUNT_CACHE_SIZE = 20_000  # words per user
WORD_COUNT_CACHE_USERS = 5_000
TIME_CANDIDATES = 20  # memories said in the days a question names, most important first
MAX_NAMED_SPANS = 3
# Users whose corpus statistics this process keeps (a few dozen bytes each), the least recently searched forgotten.
CORPUS_CACHE_USERS = 10_000
MEMORY_VERSION = "memory-version"
CONTIGUITY_ANCHORS = retrieval.CONTIGUITY_ANCHORS_PER_K
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

    async def score(
        self, content: str, speaker: str = "user", context: Sequence[str] = (), *, user_id: str | None = None
    ) -> Any: ...


@dataclass(frozen=True)
class MemoryInput:
    content: str
    # Chosen by the caller when a write may be retried (the chat's write-behind queue): storing the same id
    # twice keeps one memory, so a retry after a partial failure never duplicates it.
    id: UUID | None = None
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
    # Where it was said (docs/memory.md): a server channel (and its server), or None for private (a DM).
    origin_channel_id: str | None = None
    origin_guild_id: str | None = None


@dataclass
class SearchOutcome:
    results: list[MemorySearchResult]
    degraded: list[str] = field(default_factory=list)


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
        content_filter: Callable[[str], str] | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        redis: aioredis.Redis | None = None,
    ) -> None:
        self.pool = pool
        # Where replicas tell each other that a user's memories changed (``user:{id}:memory-version``), so the
        # corpus statistics one replica cached never rank a memory another replica just stored as unknown.
        self.redis = redis
        self._versions: LRUCache[str, bytes] = LRUCache(CORPUS_CACHE_USERS)
        self.clock = clock or SystemClock()
        self.metrics = metrics
        # Memory-poisoning screen (gateway.security): every text stored as memory passes through it, so
        # instructions hidden in a message or a summary are kept as quoted data, never as instructions.
        self.content_filter = content_filter
        self.embedding = embedding
        self.index = index
        self.fallback_index = fallback_index
        self.scorer = scorer
        self.settings = settings
        self._ready_spaces: set[tuple[str, EmbeddingSpace]] = set()
        self._ready_locks: dict[tuple[str, EmbeddingSpace], asyncio.Lock] = {}
        # Per user: (expires at, number of memories, mean length) for BM25; refreshed every few minutes.
        self._corpus: LRUCache[str, tuple[float, int, float]] = LRUCache(CORPUS_CACHE_USERS)
        # Per user, per word: (expires at, memories holding it, the cap it was counted to).
        self._word_counts: dict[str, dict[str, tuple[float, int, int]]] = {}

    # --- writing ---------------------------------------------------------------------------------------------

    async def store(self, user_id: str, item: MemoryInput) -> MemoryRead:
        """Keep one memory; it is searchable as soon as this returns (by vector once embedded)."""
        [memory_id] = await self.store_many(user_id, [item])
        return await self.get(user_id, memory_id)

    async def store_many(self, user_id: str, items: Sequence[MemoryInput]) -> list[UUID]:
        """Keep several memories of one user: score, write to Postgres, embed, index (in that order)."""
        if not items:
            return []
        importances = await self._importances(user_id, items)
        now = self.clock.now()
        rows = [
            NewMemory(
                id=item.id or uuid4(),
                user_id=user_id,
                memory_type=item.memory_type.value,
                content=self.content_filter(item.content) if self.content_filter else item.content,
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
                origin_channel_id=item.origin_channel_id,
                origin_guild_id=item.origin_guild_id if item.origin_channel_id else None,
            )
            for item, (value, source) in zip(items, importances, strict=True)
        ]
        # Each memory is written once, with its vector: a vector stored by a later UPDATE would write every
        # row twice, into every index (docs/memory.md#storage-postgres-first-the-index-second).
        batches = [rows[start : start + EMBED_BATCH] for start in range(0, len(rows), EMBED_BATCH)]
        embedded = await self._embed(batches)
        vectors = [vector for batch in embedded for vector in batch]
        async with self.pool.acquire() as conn, conn.transaction():
            await MemoryRepository(conn).insert_many(rows, vectors)
        if self.metrics is not None:
            for row in rows:
                self.metrics.memories_stored.labels(memory_type=row.memory_type).inc()
        cached = self._corpus.get(user_id)
        if cached is not None and cached[1] < SMALL_CORPUS:  # a small corpus changes shape with every write
            self._corpus.pop(user_id)
            self._word_counts.pop(user_id, None)
        await self._changed(user_id)
        if not self.index.in_postgres:
            for batch, batch_vectors in zip(batches, embedded, strict=True):
                await self._index_outside(batch, batch_vectors)
        return [row.id for row in rows]

    async def _embed(self, batches: Sequence[Sequence[NewMemory]]) -> list[list[StoredVector | None]]:
        """Each batch's vectors (one user's rows), or None for each row the embedding service could not
        embed: those rows are kept without one, in the backlog that ``embed_backlog`` works through."""
        out: list[list[StoredVector | None]] = []
        for batch in batches:
            vectors: list[StoredVector | None] = [None] * len(batch)
            if not out or any(out[-1]):  # the service failed on the previous batch: the rest waits too
                embedded = await self._embed_batch(batch)
                if embedded is not None:
                    indexed_at = self.clock.now() if self.index.in_postgres else None
                    vectors = [StoredVector(v, embedded.space, indexed_at) for v in embedded.vectors]
            out.append(vectors)
        return out

    async def _embed_batch(self, rows: Sequence[NewMemory]) -> DocumentEmbeddings | None:
        try:
            embedded = await self.embedding.embed_documents(
                [row.content for row in rows], user_id=rows[0].user_id
            )
        except EmbeddingServiceError as exc:
            logger.warning("memories kept without vectors (embedding backlog): %s", exc.message)
            return None
        if embedded is not None and self.index.in_postgres:
            # Storing the vector is indexing it (the HNSW index of its space must exist first).
            try:
                await self._ensure_ready(self.index, embedded.space)
            except VectorIndexError as exc:  # search falls back to an exact scan meanwhile
                logger.warning("vector index not ready: %s", exc)
        return embedded

    async def _importances(self, user_id: str, items: Sequence[MemoryInput]) -> list[tuple[float, str]]:
        semaphore = asyncio.Semaphore(SCORING_CONCURRENCY)

        async def one(item: MemoryInput) -> tuple[float, str]:
            if item.importance is not None:
                return item.importance, item.importance_source or "default"
            speaker = item.speaker.value if item.speaker else "system"
            async with semaphore:
                scored = await self.scorer.score(item.content, speaker, item.context, user_id=user_id)
            # The scorer weighs the assistant's own replies lower than the user's
            # (docs/memory.md#storage-postgres-first-the-index-second).
            return min(1.0, max(0.0, float(scored.value))), str(scored.source)

        return list(await asyncio.gather(*(one(item) for item in items)))

    async def _embed_stored(self, rows: Sequence[NewMemory]) -> int:
        """Vectors for stored ``rows`` (one user's) that have none, stored and indexed; how many got one."""
        embedded = await self._embed_batch(rows)
        if embedded is None:
            return 0
        user_id = rows[0].user_id
        ids = [row.id for row in rows]
        space = embedded.space
        indexed_at = self.clock.now() if self.index.in_postgres else None
        async with self.pool.acquire() as conn:
            await MemoryRepository(conn).set_embeddings(
                user_id, ids, embedded.vectors, space.model, space.dims, indexed_at
            )
        if not self.index.in_postgres:
            await self._index_outside(rows, [StoredVector(v, space, None) for v in embedded.vectors])
        return len(ids)

    async def _index_outside(self, rows: Sequence[NewMemory], vectors: Sequence[StoredVector | None]) -> None:
        """Upsert the rows that have a vector into an index outside Postgres (Qdrant), then stamp them
        indexed; on failure they stay in the index backlog."""
        pairs = [(row, vector) for row, vector in zip(rows, vectors, strict=True) if vector is not None]
        if not pairs:
            return
        user_id = rows[0].user_id
        space = pairs[0][1].space
        points = [
            IndexPoint(
                row.id,
                user_id,
                row.memory_type,
                list(vector.vector),
                row.importance,
                row.created_at,
                row.origin_channel_id,
            )
            for row, vector in pairs
        ]
        try:
            await self._ensure_ready(self.index, space)
            await self.index.upsert(space, points)
        except VectorIndexError as exc:
            logger.warning("memories kept unindexed (index backlog): %s", exc)
            return
        async with self.pool.acquire() as conn:
            await MemoryRepository(conn).mark_indexed(user_id, [row.id for row, _ in pairs], self.clock.now())

    async def embed_backlog(self, limit: int = 1000) -> int:
        """Memories stored while the embedding service was down get their vectors (and index entries) now,
        oldest first; returns how many. The maintenance job and ``scripts reindex --backlog`` call this."""
        by_user: dict[str, list[NewMemory]] = {}
        for row in await MemoryRepository(self.pool).without_vectors(limit):
            by_user.setdefault(row.user_id, []).append(row)
        done = 0
        for user_rows in by_user.values():
            for start in range(0, len(user_rows), EMBED_BATCH):
                embedded = await self._embed_stored(user_rows[start : start + EMBED_BATCH])
                if not embedded:
                    return done  # the embedding service is still down: try again later
                done += embedded
        return done

    async def _ensure_ready(self, index: VectorIndex, space: EmbeddingSpace) -> None:
        key = (index.name, space)
        if key in self._ready_spaces:
            return
        # One check per space and process: the others wait here, holding no pooled connection (the check
        # holds one while it polls the build lock, and a build can take minutes).
        async with self._ready_locks.setdefault(key, asyncio.Lock()):
            if key not in self._ready_spaces:
                await index.ensure_ready(space)
                self._ready_spaces.add(key)

    # --- reading ---------------------------------------------------------------------------------------------

    async def get(self, user_id: str, memory_id: UUID) -> MemoryRead:
        row = await MemoryRepository(self.pool).get(user_id, memory_id)
        if row is None:
            raise MemoryNotFoundError(f"no memory {memory_id} for user {user_id}")
        return MemoryRead.model_validate(row, from_attributes=True)

    async def list_page(
        self, user_id: str, memory_type: MemoryType, limit: int, offset: int, channel_id: str | None = None
    ) -> MemoryPage:
        """A page of the user's memories, newest first; with ``channel_id``, only those said in that server
        channel (what may be shown there)."""
        rows, total = await MemoryRepository(self.pool).list_page(
            user_id, memory_type.value, limit, offset, channel_id
        )
        return MemoryPage(
            items=[MemoryRead.model_validate(r, from_attributes=True) for r in rows],
            total=total,
            limit=limit,
            offset=offset,
        )

    async def delete(self, user_id: str, memory_id: UUID) -> None:
        """Forget one memory on the user's request: gone from search at once, from the index too."""
        row = await MemoryRepository(self.pool).soft_delete(user_id, memory_id)
        if row is None:
            raise MemoryNotFoundError(f"no memory {memory_id} for user {user_id}")
        await self._changed(user_id)
        if row.space is not None:
            try:
                await self.index.delete(row.space, user_id, [memory_id])
            except VectorIndexError as exc:  # search filters deleted rows through Postgres anyway
                logger.warning("index delete deferred: %s", exc)

    async def delete_user_index(self, user_id: str) -> None:
        """Remove the user's points from the vector index (and its fallback); Postgres rows go with the
        profile. Raises VectorIndexError when an index cannot be reached."""
        for index in (self.index, self.fallback_index):
            if index is not None:
                await index.delete_user(user_id)

    def forget_user_caches(self, user_id: str) -> None:
        self._corpus.pop(user_id)
        self._word_counts.pop(user_id, None)
        self._versions.pop(user_id)

    async def _changed(self, user_id: str) -> None:
        """Tell every replica that this user's memories changed (their cached statistics are stale)."""
        if self.redis is None:
            return
        try:
            await self.redis.incr(user_key(user_id, MEMORY_VERSION))
        except (RedisError, OSError) as exc:  # the caches' own expiry still bounds the staleness
            logger.debug("memory version not bumped: %s", exc)

    async def _sync_caches(self, user_id: str) -> None:
        """Drop this process's cached statistics of the user when another replica changed their memories."""
        if self.redis is None:
            return
        try:
            version = await self.redis.get(user_key(user_id, MEMORY_VERSION))
        except (RedisError, OSError):
            return
        current = version.encode() if isinstance(version, str) else version or b"0"
        if self._versions.get(user_id) != current:
            self._corpus.pop(user_id)
            self._word_counts.pop(user_id, None)
            self._versions[user_id] = current

    async def export(self, user_id: str) -> MemoryExport:
        repo = MemoryRepository(self.pool)
        return MemoryExport(
            user_id=user_id,
            exported_at=self.clock.now(),
            memories=[
                MemoryRead.model_validate(r, from_attributes=True) for r in await repo.all_for_export(user_id)
            ],
            conflicts=await repo.list_conflicts(user_id, None),
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
        channel_id: str | None = None,
    ) -> SearchOutcome:
        """The user's k most useful memories for ``query``, each with its score components and a reason.

        Candidates come from the vector index and from full text; relevance fuses cosine similarity and
        BM25, neighbours of strong hits in the same conversation come along (contiguity), then importance
        and retention (as of ``now``: an imported history lives in the past) weigh in, and MMR diversifies.

        ``channel_id`` is who will hear the answer: None for the user alone (a DM: every memory), else only
        memories said in that server channel. Every candidate source filters by it inside its own query.
        """
        if not query.strip():
            raise BadRequestError("query must not be blank")
        now = now or self.clock.now()
        lam = self.settings.mmr_lambda if mmr_lambda is None else mmr_lambda
        types = [t.value for t in (memory_types or list(MemoryType))]
        n = max(self.settings.candidates, 3 * k)
        degraded: list[str] = []

        if query_embedding is None:
            try:
                query_embedding = await self.embedding.embed_query(query, user_id=user_id)
            except EmbeddingServiceError as exc:
                logger.warning("recall without vectors: %s", exc.message)
                degraded.append("embedding_service")

        named = when.spans(query, now) if self.settings.time_weight > 0 else []

        async def lexical_search() -> tuple[_LexicalModel, list[tuple[UUID, float]], list[UUID]]:
            # One pooled connection for the whole chain (each acquire/release costs a reset round trip), given
            # back before anything else is waited for: a search never holds a connection while it waits for
            # another, so concurrent searches cannot take the whole pool and wait on each other.
            await self._sync_caches(user_id)  # Redis: never while holding a connection
            async with self.pool.acquire() as conn:
                lexical_repo = MemoryRepository(conn)
                model = await self._lexical_model(user_id, query, lexical_repo)
                hits = await lexical_repo.fulltext_search(
                    user_id, model.search_terms, n, types, channel_id, match_all=model.match_all
                )
                # The days the question names bring their own candidates: "what did we talk about
                # yesterday?" shares no word with what was said yesterday.
                dated = [
                    memory_id
                    for span in named[:MAX_NAMED_SPANS]
                    for memory_id in await lexical_repo.said_between(
                        user_id,
                        span.start,
                        span.end + when.REPORTED_AFTER,
                        TIME_CANDIDATES,
                        types,
                        channel_id,
                    )
                ]
                return model, hits, dated

        # Vector and full-text candidates are gathered concurrently (separate pooled connections).
        lexical_task = asyncio.ensure_future(lexical_search())
        vector_hits: list[VectorHit] = []
        try:
            if query_embedding is not None:
                vector_hits = await self._vector_search(
                    user_id, query_embedding, n, types, degraded, channel_id
                )
            lexical, lexical_hits, dated = await lexical_task
        finally:
            lexical_task.cancel()  # a no-op once done; never leave it running when the vector search failed

        ids = list(
            dict.fromkeys([hit.memory_id for hit in vector_hits] + [mid for mid, _ in lexical_hits] + dated)
        )
        if not ids:
            return SearchOutcome([], degraded)
        model = query_embedding.space.model if query_embedding else None
        async with self.pool.acquire() as conn:
            repo = MemoryRepository(conn)
            candidates = await repo.candidates(
                user_id, ids, model, list(lexical.idfs), channel_id, neighbour_types=types
            )
            ranking = _Ranking(candidates, query_embedding, lexical, self.settings.context_weight)
            pairs = [
                (candidates[i].row.id, neighbour)
                for i in ranking.top(CONTIGUITY_ANCHORS * k)
                for neighbour in candidates[i].neighbours
            ]
            missing = [nid for _, nid in pairs if nid not in ranking.position]
            if missing:
                ranking.add(
                    await repo.candidates(
                        user_id,
                        list(dict.fromkeys(missing)),
                        model,
                        list(lexical.idfs),
                        channel_id,
                        neighbour_types=types,
                    )
                )
        ranking.apply_contiguity(pairs)

        scored = []
        lexical_shares = ranking.lexical_shares()
        who = _Who(lexical.asked_about([c.row.content for c in ranking.candidates]), names.speaker_in(query))
        for i, candidate in enumerate(ranking.candidates):
            row = candidate.row
            if row.importance < min_importance:
                continue
            ret = retrieval.retention(now, row.created_at, row.last_accessed_at, row.strength, row.importance)
            fits = when.best_fit(row.created_at, named)
            # A memory about someone else sinks, rather than the others rising: relevance saturates, and
            # lifting half the candidates would flatten the differences between them.
            boost = self.settings.time_weight * fits - self.settings.who_weight * who.miss(candidate)
            rel = retrieval.relevance_from_fused(ranking.fused[i] + boost)
            score = retrieval.combine(rel, row.importance, ret, row.retrieval_weight)
            scored.append(
                retrieval.Scored(
                    i,
                    ranking.similarity[i],
                    lexical_shares[i],
                    rel,
                    row.importance,
                    ret,
                    score,
                    time_fit=fits,
                )
            )
        if not scored:
            return SearchOutcome([], degraded)
        vectors, has_vector = ranking.vectors([item.index for item in scored])
        chosen = retrieval.mmr_select([item.score for item in scored], vectors, has_vector, k, lam)
        query_words = content_words(query)
        results = []
        for position, mmr_value in chosen:
            item = scored[position]
            row = ranking.candidates[item.index].row
            matched = sorted(query_words & content_words(row.content))
            results.append(
                MemorySearchResult(
                    memory=MemoryRead.model_validate(row, from_attributes=True),
                    components=ScoreComponents(
                        similarity=None if item.similarity is None else round(item.similarity, 4),
                        lexical=round(item.lexical, 4),
                        relevance=round(item.relevance, 4),
                        importance=round(item.importance, 4),
                        retention=round(item.retention, 4),
                        score=round(item.score, 4),
                        mmr=round(mmr_value, 4),
                    ),
                    reason=retrieval.explain(
                        item, matched, now, row.created_at, named[0].text if named else None
                    ),
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

    async def _lexical_model(self, user_id: str, query: str, repo: MemoryRepository) -> _LexicalModel:
        """IDF of each query word over this user's memories; very common words do not select candidates.

        Corpus size and word counts are cached for a few minutes: they drift slowly as memories are added.
        """
        clock = time.monotonic()
        cached = self._corpus.get(user_id)
        if cached is None or cached[0] < clock:
            total, average_length = await repo.corpus_stats(user_id)
            cached = (clock + CORPUS_STATS_TTL_SECONDS, total, average_length)
            self._corpus[user_id] = cached
        _, total, average_length = cached
        # Counting stops at the cap: past it a word is common, and counting further costs time, not ranking.
        cap = max(1, min(int(total * COMMON_WORD_SHARE), COMMON_WORD_COUNT_CAP))
        given, maybe = names.names_in(query), names.maybe_names(query)
        lexemes, name_lexemes = await repo.query_lexemes(query, given + maybe)
        counts: dict[str, int] = {}
        unknown = []
        known = self._word_counts.setdefault(user_id, {})
        for word in lexemes:
            hit = known.get(word)
            if hit is not None and hit[0] >= clock and hit[2] == cap:
                counts[word] = hit[1]
            else:
                unknown.append(word)
        if unknown:
            if len(known) > WORD_COUNT_CACHE_SIZE:
                known.clear()
            if len(self._word_counts) > WORD_COUNT_CACHE_USERS:
                self._word_counts = {user_id: known}
            for word, df in (await repo.term_document_counts(user_id, unknown, cap)).items():
                counts[word] = df
                known[word] = (clock + CORPUS_STATS_TTL_SECONDS, df, cap)
        idfs = {word: retrieval.idf(df, max(total, df)) for word, df in counts.items() if df > 0}
        # Candidates come from words few memories hold: each selecting word costs a ranked scan of its matches.
        selective = min(cap, CANDIDATE_WORD_MAX_MEMORIES)
        present = sorted((df, word) for word, df in counts.items() if df > 0)
        selecting = [word for df, word in present if df < selective]
        # The names the query gives that the user's memories hold (a name never mentioned constrains nothing),
        # and, when its capitals name nobody, its words that may be names (the candidates will tell).
        named = [word for name in given for word in dict.fromkeys(name_lexemes[name]) if word in idfs]
        possible = {
            word: held
            for word in maybe
            if (held := [lexeme for lexeme in name_lexemes[word] if lexeme in idfs])
        }
        if selecting:
            return _LexicalModel(idfs, selecting, average_length, names=named, possible_names=possible)
        # No word is rare enough to select on its own ("When did I last go camping?": camp, last): the two
        # rarest select together. Either alone would have every one of its thousands of memories ranked.
        return _LexicalModel(
            idfs,
            [word for _, word in present[:2]],
            average_length,
            match_all=True,
            names=named,
            possible_names=possible,
        )

    async def _vector_search(
        self,
        user_id: str,
        query: QueryEmbedding,
        n: int,
        types: list[str],
        degraded: list[str],
        channel_id: str | None,
    ) -> list[VectorHit]:
        for index in (self.index, self.fallback_index):
            if index is None:
                continue
            try:
                await self._ensure_ready(index, query.space)
                return await index.search(query.space, user_id, query.vector, n, types, channel_id)
            except VectorIndexError as exc:
                logger.warning("vector index %s failed, falling back: %s", index.name, exc)
                degraded.append(index.name)
        return []


@dataclass
class _LexicalModel:
    idfs: dict[str, float]
    search_terms: list[str]
    average_length: float
    match_all: bool = False  # select memories holding every search term, not any
    names: list[str] = field(default_factory=list)  # lexemes of the names the query gives (names.py)
    # A query whose capitals name nobody: its words that may be names, with their lexemes the user's memories
    # hold; a name if the candidates write it as one (names.written_as_names).
    possible_names: dict[str, list[str]] = field(default_factory=dict)

    def asked_about(self, texts: Sequence[str]) -> list[str]:
        """The lexemes of the names the query asks about: those it gives, else those of its words ``texts``
        write as names."""
        if self.names or not self.possible_names:
            return self.names
        written = names.written_as_names(list(self.possible_names), texts)
        return list(dict.fromkeys(lexeme for word in written for lexeme in self.possible_names[word]))


@dataclass(frozen=True)
class _Who:
    """Who the query asks about (names.py): the names it gives (their lexemes) and the side of the
    conversation it asks for."""

    names: Sequence[str]
    speaker: Speaker | None

    def miss(self, candidate: Candidate) -> float:
        """The share of them the memory misses: a name it never mentions, the other side's words. 0 when the
        query asks about nobody in particular. A memory of no side (a semantic memory sums up both) misses
        no side."""
        asked = len(self.names) + (self.speaker is not None)
        if not asked:
            return 0.0
        missed = sum(1 for word in self.names if not candidate.term_frequencies.get(word))
        said_by = candidate.row.speaker
        if self.speaker is not None and said_by is not None and said_by != self.speaker.value:
            missed += 1
        return missed / asked


class _Ranking:
    """Candidates with their cosine similarity and BM25, standardised once and fused."""

    def __init__(
        self,
        candidates: Sequence[Candidate],
        query: QueryEmbedding | None,
        lexical: _LexicalModel,
        context_weight: float = 0.0,
    ) -> None:
        self.query = None if query is None else np.asarray(query.vector, dtype=np.float32)
        self.lexical = lexical
        self.context_weight = context_weight
        self.candidates: list[Candidate] = []
        self.similarity: list[float | None] = []
        self.context: list[float | None] = []  # the query against the memory's window in its conversation
        self.bm25: list[float] = []
        self.position: dict[UUID, int] = {}
        self._append(candidates)
        known = [s for s in self.similarity if s is not None]
        self._z_similarity = retrieval.Standardiser.of(known)
        self._z_lexical = retrieval.Standardiser.of(self.bm25)
        self._floor = min(known) if known else 0.0
        in_context = [c for c in self.context if c is not None]
        self._z_context = retrieval.Standardiser.of(in_context)
        self._context_floor = min(in_context) if in_context else 0.0
        self.fused = [self._fuse(i) for i in range(len(self.candidates))]

    def _append(self, candidates: Sequence[Candidate]) -> None:
        similarity, context = retrieval.similarities(
            [c.vector for c in candidates], [c.neighbour_vectors for c in candidates], self.query
        )
        self.similarity += similarity
        self.context += context
        idfs, average_length = self.lexical.idfs, self.lexical.average_length
        for candidate in candidates:
            self.position[candidate.row.id] = len(self.candidates)
            self.candidates.append(candidate)
            self.bm25.append(
                retrieval.bm25(candidate.term_frequencies, candidate.term_count, idfs, average_length)
            )

    def _fuse(self, i: int) -> float:
        similarity = self.similarity[i]
        z_similarity = self._z_similarity(self._floor if similarity is None else similarity)
        context = self.context[i]
        z_context = self._z_context(self._context_floor if context is None else context)
        semantic = (1.0 - self.context_weight) * z_similarity + self.context_weight * z_context
        return retrieval.fuse(semantic, self._z_lexical(self.bm25[i]))

    def add(self, candidates: Sequence[Candidate]) -> None:
        """Late candidates (neighbours), scored on the scale of the first ones."""
        start = len(self.candidates)
        self._append(candidates)
        self.fused += [self._fuse(i) for i in range(start, len(self.candidates))]

    def top(self, count: int) -> list[int]:
        return sorted(range(len(self.fused)), key=lambda i: -self.fused[i])[:count]

    def apply_contiguity(self, pairs: Sequence[tuple[UUID, UUID]]) -> None:
        index_pairs = [
            (self.position[a], self.position[b])
            for a, b in pairs
            if a in self.position and b in self.position
        ]
        self.fused = retrieval.with_contiguity(self.fused, index_pairs)

    def lexical_shares(self) -> list[float]:
        """Each candidate's BM25 against the best one's, in [0, 1]."""
        best = max(self.bm25, default=0.0)
        return [value / best if best > 0 else 0.0 for value in self.bm25]

    def vectors(self, indexes: Sequence[int]) -> tuple[np.ndarray[Any, Any] | None, list[bool]]:
        has_vector = [self.query is not None and self.candidates[i].vector is not None for i in indexes]
        if self.query is None or not any(has_vector):
            return None, has_vector
        matrix = np.zeros((len(indexes), self.query.shape[0]), dtype=np.float32)
        for row, i in enumerate(indexes):
            if has_vector[row]:
                matrix[row] = self.candidates[i].vector
        return matrix, has_vector
