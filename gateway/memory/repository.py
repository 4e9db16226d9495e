"""All SQL of the memory domain. Every statement is scoped by ``user_id``, except the maintenance scans
(embedding backlog, re-scoring, reindexing) that walk every user's rows; none commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from uuid import UUID

import asyncpg
import numpy as np
import numpy.typing as npt
from pgvector import Vector

from gateway.db import Connection
from gateway.memory.index import EmbeddingSpace, IndexPoint
from gateway.memory.schemas import MemoryConflictRead

# A pooled connection, a pool (one statement per acquire) or a bare connection (scripts, tests).


# memory_words' full-text index holds each row's words with its owner as one more word, 'owner ' + user id
# (migration 020; no word of text holds a space): a query that asks for its words AND its owner finds the
# user's memories inside the index, never reading another user's. Written exactly as the index's expression,
# or the planner cannot use it.
OWNED_WORDS = "(m.content_tsv || array_to_tsvector(ARRAY['owner ' || m.user_id]))"
# The user id is each query's $1 (USER_ID_PATTERN: letters, digits, '_' and '-'; quote_literal quotes it).
OWNER_QUERY = "quote_literal('owner ' || $1)::tsquery"


# Who may hear a memory (docs/memory.md): ``$n::text IS NULL`` is a private reply's scope (every memory);
# a channel id keeps the memories said in that server channel. Memories of a DM (or of unknown origin) have
# no origin channel, so no channel scope ever selects them.
def in_scope(param: int, alias: str = "") -> str:
    """The SQL condition that keeps the memories ``$param`` (a channel id or NULL) may see."""
    column = f"{alias}.origin_channel_id" if alias else "origin_channel_id"
    return f"(${param}::text IS NULL OR {column} = ${param}::text)"


CONFLICT_COLUMNS = """id, memory_id_1, memory_id_2, conflict_type, description, confidence, resolution_status,
    resolution_method, winner_memory_id, resolution_note, detected_at, resolved_at"""


def _array(vector: Vector | None) -> npt.NDArray[np.float32] | None:
    """A stored vector (pgvector's codec decodes ``Vector``) as the float32 array retrieval computes with."""
    return None if vector is None else vector.to_numpy()


@dataclass(frozen=True)
class MemoryRow:
    """A stored memory, as retrieval and consolidation read it."""

    id: UUID
    user_id: str
    memory_type: str
    content: str
    speaker: str | None
    importance: float
    importance_source: str
    emotion_context: str | None
    conversation_id: str | None
    source_memory_ids: list[UUID]
    consolidated_into: UUID | None
    access_count: int
    last_accessed_at: datetime | None
    strength: float
    retrieval_weight: float
    embedding_model: str | None
    origin_channel_id: str | None
    origin_guild_id: str | None
    created_at: datetime


# Every query that reads memory rows selects these columns first, in this order: a row decodes by position.
MEMORY_COLUMNS = ", ".join(f.name for f in fields(MemoryRow))
_MEMORY_WIDTH = len(fields(MemoryRow))
_CANDIDATE_COLUMNS = ", ".join(f"c.{f.name}" for f in fields(MemoryRow))


def _memory(row: asyncpg.Record) -> MemoryRow:
    return MemoryRow(*row[:_MEMORY_WIDTH])


@dataclass(frozen=True)
class DeletedMemory:
    """A memory just soft-deleted: the space its vector is indexed in (None: it had no vector)."""

    space: EmbeddingSpace | None


@dataclass(frozen=True)
class NewMemory:
    """A memory row to insert (ids are made by the caller, so batches keep their order)."""

    id: UUID
    user_id: str
    memory_type: str
    content: str
    speaker: str | None
    importance: float
    importance_source: str
    created_at: datetime
    emotion_context: str | None = None
    pad_context: dict[str, float] | None = None
    interaction_id: int | None = None
    conversation_id: str | None = None
    source_memory_ids: Sequence[UUID] = ()
    confidence: float | None = None
    origin_channel_id: str | None = None  # None: said privately (a DM)
    origin_guild_id: str | None = None


@dataclass(frozen=True)
class StoredVector:
    """A memory's vector as written with its row: its space, and when it was indexed (None: not yet)."""

    vector: Sequence[float] | npt.NDArray[np.float32]
    space: EmbeddingSpace
    indexed_at: datetime | None


@dataclass(frozen=True)
class HeuristicMemory:
    """A memory whose importance the local heuristic scored (the LLM may score it again)."""

    id: UUID
    user_id: str
    content: str
    speaker: str | None


@dataclass(frozen=True)
class Candidate:
    """What retrieval needs of one memory to score it."""

    row: MemoryRow
    vector: npt.NDArray[np.float32] | None
    pad_context: dict[str, float] | None
    term_count: int = 0  # indexed words in the memory (its BM25 length)
    term_frequencies: dict[str, int] = field(default_factory=dict)  # query word -> occurrences
    neighbours: tuple[UUID, ...] = ()  # the memories just before and after it in its conversation, if asked
    neighbour_vectors: tuple[npt.NDArray[np.float32], ...] = ()  # theirs, when made by the same model


def _neighbour(side: str) -> str:
    """The memory just before (``<``) or after (``>``) candidate ``c`` in its conversation, of the types in $6
    and in the scope of $5 (the candidates query's parameters)."""
    order = "DESC" if side == "<" else "ASC"
    return f"""
        SELECT m.id, m.embedding, m.embedding_model FROM memories AS m
        WHERE c.conversation_id IS NOT NULL
          AND m.user_id = $1 AND m.conversation_id = c.conversation_id AND m.deleted_at IS NULL
          AND m.created_at {side} c.created_at AND m.memory_type = ANY($6::text[]) AND {in_scope(5, "m")}
        ORDER BY m.created_at {order} LIMIT 1"""  # noqa: S608


class MemoryRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def insert_many(
        self, memories: Sequence[NewMemory], vectors: Sequence[StoredVector | None] = ()
    ) -> None:
        """Insert ``memories`` (an id already stored is left alone); ``vectors``, when given, one per memory
        (None: none yet), go into the same rows, so a memory with its vector is written once."""
        if not memories:
            return
        if not vectors:
            vectors = [None] * len(memories)
        await self.conn.executemany(
            """
            INSERT INTO memories (id, user_id, memory_type, content, speaker, importance, importance_source,
                                  created_at, updated_at, emotion_context, pad_context, interaction_id,
                                  conversation_id, source_memory_ids, confidence, origin_channel_id,
                                  origin_guild_id, embedding, embedding_model, embedding_dims, indexed_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
                    $20)
            ON CONFLICT (id) DO NOTHING
            """,
            [
                (
                    m.id, m.user_id, m.memory_type, m.content, m.speaker, m.importance, m.importance_source,
                    m.created_at, m.emotion_context, m.pad_context, m.interaction_id, m.conversation_id,
                    list(m.source_memory_ids), m.confidence, m.origin_channel_id, m.origin_guild_id,
                    *((v.vector, v.space.model, v.space.dims, v.indexed_at) if v else (None,) * 4),
                )
                for m, v in zip(memories, vectors, strict=True)
            ],
        )  # fmt: skip

    async def set_embeddings(
        self,
        user_id: str,
        ids: Sequence[UUID],
        vectors: Sequence[list[float]] | npt.NDArray[np.float32],
        model: str,
        dims: int,
        indexed_at: datetime | None,
    ) -> None:
        await self.conn.executemany(
            """
            UPDATE memories SET embedding = $3, embedding_model = $4, embedding_dims = $5, indexed_at = $6,
                                updated_at = now()
            WHERE user_id = $1 AND id = $2
            """,
            [
                (user_id, memory_id, vector, model, dims, indexed_at)
                for memory_id, vector in zip(ids, vectors, strict=True)
            ],
        )

    async def mark_indexed(self, user_id: str, ids: Sequence[UUID], indexed_at: datetime) -> None:
        await self.conn.execute(
            "UPDATE memories SET indexed_at = $3 WHERE user_id = $1 AND id = ANY($2::uuid[])",
            user_id,
            list(ids),
            indexed_at,
        )

    async def get(self, user_id: str, memory_id: UUID) -> MemoryRow | None:
        row = await self.conn.fetchrow(
            f"SELECT {MEMORY_COLUMNS} FROM memories WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL",  # noqa: S608
            user_id,
            memory_id,
        )
        return _memory(row) if row is not None else None

    async def list_page(
        self, user_id: str, memory_type: str, limit: int, offset: int, channel_id: str | None = None
    ) -> tuple[list[MemoryRow], int]:
        """A page of the user's memories of one type, newest first; with ``channel_id``, only those said in
        that server channel."""
        rows = await self.conn.fetch(
            f"""
            SELECT {MEMORY_COLUMNS}, count(*) OVER () AS total FROM memories
            WHERE user_id = $1 AND memory_type = $2 AND deleted_at IS NULL AND {in_scope(5)}
            ORDER BY created_at DESC, id LIMIT $3 OFFSET $4
            """,  # noqa: S608
            user_id,
            memory_type,
            limit,
            offset,
            channel_id,
        )
        if rows:
            return [_memory(r) for r in rows], int(rows[0]["total"])
        total = await self.conn.fetchval(
            "SELECT count(*) FROM memories WHERE user_id = $1 AND memory_type = $2 AND deleted_at IS NULL"  # noqa: S608
            f" AND {in_scope(3)}",
            user_id,
            memory_type,
            channel_id,
        )
        return [], int(total)

    async def all_for_export(self, user_id: str) -> list[MemoryRow]:
        rows = await self.conn.fetch(
            f"SELECT {MEMORY_COLUMNS} FROM memories WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at, id",  # noqa: S608
            user_id,
        )
        return [_memory(r) for r in rows]

    async def soft_delete(self, user_id: str, memory_id: UUID) -> DeletedMemory | None:
        """Mark the memory deleted (its space tells which index entry to drop); None when the user has no
        such live memory."""
        row = await self.conn.fetchrow(
            """UPDATE memories SET deleted_at = now(), updated_at = now()
               WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL
               RETURNING embedding_model, embedding_dims""",
            user_id,
            memory_id,
        )
        if row is None:
            return None
        model = row["embedding_model"]
        return DeletedMemory(EmbeddingSpace(model, row["embedding_dims"]) if model else None)

    async def query_lexemes(self, query: str, names: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
        """The query's words as the full-text index stores them (stemmed, stop words dropped), and those of
        each of ``names`` (gateway/memory/names.py; a stop word has none), in one round trip."""
        row = await self.conn.fetchrow(
            """
            SELECT tsvector_to_array(to_tsvector('english', $1)) AS words,
                   ARRAY(SELECT array_to_string(tsvector_to_array(to_tsvector('english', name)), ' ')
                         FROM unnest($2::text[]) WITH ORDINALITY AS given(name, position)
                         ORDER BY position) AS names
            """,
            query,
            list(names),
        )
        assert row is not None  # a SELECT without FROM returns one row
        lexemes = [str(joined).split() for joined in row["names"] or []]
        return list(row["words"] or []), dict(zip(names, lexemes, strict=True))

    async def term_document_counts(self, user_id: str, lexemes: Sequence[str], cap: int) -> dict[str, int]:
        """How many of the user's memories hold each of ``lexemes``, counting at most ``cap``."""
        if not lexemes:
            return {}
        rows = await self.conn.fetch(
            f"""
            SELECT w AS lexeme,
                   (SELECT count(*) FROM (
                        SELECT 1 FROM memory_words AS m
                        WHERE m.user_id = $1 AND {OWNED_WORDS} @@ (quote_literal(w)::tsquery && {OWNER_QUERY})
                        LIMIT $3) AS capped) AS df
            FROM unnest($2::text[]) AS w
            """,  # noqa: S608
            user_id,
            list(lexemes),
            cap,
        )
        return {row["lexeme"]: int(row["df"]) for row in rows}

    async def corpus_stats(self, user_id: str) -> tuple[int, float]:
        """The user's number of live memories and their mean length in indexed words."""
        row = await self.conn.fetchrow(
            "SELECT count(*) AS n, avg(length(content_tsv)) AS avg_len FROM memories "
            "WHERE user_id = $1 AND deleted_at IS NULL",
            user_id,
        )
        assert row is not None  # an aggregate without GROUP BY always yields one row
        return int(row["n"]), float(row["avg_len"] or 0.0)

    async def fulltext_search(
        self,
        user_id: str,
        lexemes: Sequence[str],
        limit: int,
        memory_types: Sequence[str],
        channel_id: str | None = None,
        *,
        match_all: bool = False,
    ) -> list[tuple[UUID, float]]:
        """The user's memories holding any of ``lexemes`` (already stemmed; every one with ``match_all``),
        best cover-density rank first; with ``channel_id``, only those said in that channel (a filter inside
        the query: ``limit`` holds)."""
        if not lexemes:
            return []
        rows = await self.conn.fetch(
            f"""
            WITH q AS (
                SELECT array_to_string(ARRAY(SELECT quote_literal(w) FROM unnest($2::text[]) AS w), $6)::tsquery
                       AS query
            )
            SELECT m.memory_id, ts_rank_cd(m.content_tsv, q.query, 1) AS rank
            FROM memory_words AS m, q
            WHERE m.user_id = $1 AND m.memory_type = ANY($4::text[])
              AND {OWNED_WORDS} @@ (q.query && {OWNER_QUERY}) AND {in_scope(5, "m")}
            ORDER BY rank DESC, m.created_at DESC
            LIMIT $3
            """,  # noqa: S608
            user_id,
            list(lexemes),
            limit,
            list(memory_types),
            channel_id,
            " & " if match_all else " | ",
        )
        return [(row["memory_id"], float(row["rank"])) for row in rows]

    async def said_between(
        self,
        user_id: str,
        start: datetime,
        end: datetime,
        limit: int,
        memory_types: Sequence[str],
        channel_id: str | None = None,
    ) -> list[UUID]:
        """The user's memories said in [start, end), most important (then latest) first; with ``channel_id``,
        only those said in that channel."""
        rows = await self.conn.fetch(
            f"""
            SELECT id FROM memories
            WHERE user_id = $1 AND deleted_at IS NULL AND memory_type = ANY($4::text[])
              AND created_at >= $2 AND created_at < $3 AND {in_scope(5)}
            ORDER BY importance DESC, created_at DESC
            LIMIT $6
            """,  # noqa: S608
            user_id,
            start,
            end,
            list(memory_types),
            channel_id,
            limit,
        )
        return [row["id"] for row in rows]

    async def candidates(
        self,
        user_id: str,
        ids: Sequence[UUID],
        model: str | None,
        lexemes: Sequence[str],
        channel_id: str | None,
        neighbour_types: Sequence[str],
    ) -> list[Candidate]:
        """The rows to score, with vectors only when made by ``model`` (never compare two models), and how
        often each of ``lexemes`` occurs in each row (for BM25). With ``channel_id``, rows said elsewhere
        are never loaded, whatever ids a source handed in.

        Each row also names its neighbours, with their vectors: the memories of ``neighbour_types`` just before
        and after it in its conversation (with ``channel_id``, said in that channel only: a DM the same day is
        no neighbour). Asked here, they cost no round trip of their own."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_CANDIDATE_COLUMNS}, c.pad_context, length(c.content_tsv) AS term_count, tf.lexemes, tf.counts,
                   CASE WHEN c.embedding_model = $3 THEN c.embedding END AS vector,
                   before.id AS before_id, after.id AS after_id,
                   CASE WHEN before.embedding_model = $3 THEN before.embedding END AS before_vector,
                   CASE WHEN after.embedding_model = $3 THEN after.embedding END AS after_vector
            FROM memories AS c
            LEFT JOIN LATERAL (
                SELECT array_agg(u.lexeme) AS lexemes, array_agg(cardinality(u.positions)) AS counts
                FROM unnest(c.content_tsv) AS u WHERE u.lexeme = ANY($4::text[])
            ) AS tf ON true
            LEFT JOIN LATERAL ({_neighbour("<")}) AS before ON true
            LEFT JOIN LATERAL ({_neighbour(">")}) AS after ON true
            WHERE c.user_id = $1 AND c.id = ANY($2::uuid[]) AND c.deleted_at IS NULL AND {in_scope(5, "c")}
            """,  # noqa: S608
            user_id,
            list(ids),
            model,
            list(lexemes),
            channel_id,
            list(neighbour_types),
        )
        return [
            Candidate(
                _memory(row),
                _array(row["vector"]),
                row["pad_context"],
                int(row["term_count"] or 0),
                dict(zip(row["lexemes"] or [], row["counts"] or [], strict=True)),
                tuple(n for n in (row["before_id"], row["after_id"]) if n is not None),
                tuple(
                    v for v in (_array(row["before_vector"]), _array(row["after_vector"])) if v is not None
                ),
            )
            for row in rows
        ]

    async def record_recall(
        self,
        user_id: str,
        ids: Sequence[UUID],
        recalled_at: datetime,
        strength_growth: float,
        max_strength: float,
    ) -> None:
        """Each recall strengthens a memory (spaced-repetition style): slower forgetting next time.

        The rows are locked in id order first: two recalls of the same user at once, each updating its own
        set of rows in scan order, could lock them in opposite orders and deadlock (Postgres then aborts one).
        """
        await self.conn.execute(
            """
            UPDATE memories AS m SET access_count = m.access_count + 1, last_accessed_at = $3,
                                     strength = LEAST(m.strength * $4, $5)
            FROM (SELECT id FROM memories WHERE user_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE)
                 AS locked
            WHERE m.id = locked.id AND m.user_id = $1
            """,
            user_id,
            list(ids),
            recalled_at,
            strength_growth,
            max_strength,
        )

    # --- consolidation -------------------------------------------------------------------------------------

    async def unconsolidated_episodic(self, user_id: str, model: str, limit: int) -> list[Candidate]:
        rows = await self.conn.fetch(
            f"""
            SELECT {MEMORY_COLUMNS}, pad_context, embedding AS vector FROM memories
            WHERE user_id = $1 AND memory_type = 'episodic' AND consolidated_into IS NULL
              AND deleted_at IS NULL AND embedding_model = $2
            ORDER BY created_at LIMIT $3
            """,  # noqa: S608
            user_id,
            model,
            limit,
        )
        return [Candidate(_memory(row), _array(row["vector"]), row["pad_context"]) for row in rows]

    async def mark_consolidated(self, user_id: str, ids: Sequence[UUID], into: UUID) -> None:
        await self.conn.execute(
            """UPDATE memories SET consolidated_into = $3, updated_at = now()
               WHERE user_id = $1 AND id = ANY($2::uuid[])""",
            user_id,
            list(ids),
            into,
        )

    async def scale_retrieval_weight(self, user_id: str, memory_id: UUID, factor: float) -> None:
        await self.conn.execute(
            """UPDATE memories SET retrieval_weight = GREATEST(0.05, retrieval_weight * $3), updated_at = now()
               WHERE user_id = $1 AND id = $2""",
            user_id,
            memory_id,
            factor,
        )

    async def restore_retrieval_weight(self, user_id: str, memory_id: UUID) -> None:
        await self.conn.execute(
            "UPDATE memories SET retrieval_weight = 1.0, updated_at = now() WHERE user_id = $1 AND id = $2",
            user_id,
            memory_id,
        )

    # --- conflicts -----------------------------------------------------------------------------------------

    async def insert_conflict(
        self,
        user_id: str,
        memory_id_1: UUID,
        memory_id_2: UUID,
        conflict_type: str,
        description: str,
        confidence: float,
    ) -> int | None:
        """Record a conflict once per pair; None when the pair was already recorded."""
        value = await self.conn.fetchval(
            """
            INSERT INTO memory_conflicts (user_id, memory_id_1, memory_id_2, conflict_type, description, confidence)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT DO NOTHING RETURNING id
            """,
            user_id,
            memory_id_1,
            memory_id_2,
            conflict_type,
            description,
            confidence,
        )
        return int(value) if value is not None else None

    async def list_conflicts(self, user_id: str, status: str | None) -> list[MemoryConflictRead]:
        rows = await self.conn.fetch(
            f"""SELECT {CONFLICT_COLUMNS} FROM memory_conflicts
                WHERE user_id = $1 AND ($2::text IS NULL OR resolution_status = $2)
                ORDER BY detected_at DESC, id DESC""",  # noqa: S608
            user_id,
            status,
        )
        return [MemoryConflictRead.model_validate(dict(r)) for r in rows]

    async def get_conflict(self, user_id: str, conflict_id: int) -> MemoryConflictRead | None:
        row = await self.conn.fetchrow(
            f"SELECT {CONFLICT_COLUMNS} FROM memory_conflicts WHERE user_id = $1 AND id = $2",  # noqa: S608
            user_id,
            conflict_id,
        )
        return MemoryConflictRead.model_validate(dict(row)) if row is not None else None

    async def resolve_conflict(
        self,
        user_id: str,
        conflict_id: int,
        status: str,
        method: str | None,
        winner: UUID | None,
        note: str | None,
    ) -> None:
        await self.conn.execute(
            """
            UPDATE memory_conflicts SET resolution_status = $3, resolution_method = $4, winner_memory_id = $5,
                                        resolution_note = $6, resolved_at = now()
            WHERE user_id = $1 AND id = $2
            """,
            user_id,
            conflict_id,
            status,
            method,
            winner,
            note,
        )

    # --- maintenance (every user's rows) ---------------------------------------------------------------------

    async def without_vectors(self, limit: int) -> list[NewMemory]:
        """Live memories stored while the embedding service was down (no vector yet), oldest first."""
        rows = await self.conn.fetch(
            """
            SELECT id, user_id, memory_type, content, speaker, importance, importance_source, created_at,
                   origin_channel_id
            FROM memories WHERE embedding IS NULL AND deleted_at IS NULL
            ORDER BY created_at LIMIT $1
            """,
            limit,
        )
        return [
            NewMemory(
                id=row["id"],
                user_id=row["user_id"],
                memory_type=row["memory_type"],
                content=row["content"],
                speaker=row["speaker"],
                importance=row["importance"],
                importance_source=row["importance_source"],
                created_at=row["created_at"],
                origin_channel_id=row["origin_channel_id"],
            )
            for row in rows
        ]

    async def heuristic_scored(self, user_id: str | None, limit: int) -> list[HeuristicMemory]:
        """Live memories the heuristic scored, newest first; of one user, or of everyone (None)."""
        rows = await self.conn.fetch(
            """
            SELECT id, user_id, content, speaker
            FROM memories
            WHERE importance_source = 'heuristic' AND deleted_at IS NULL
              AND ($1::varchar IS NULL OR user_id = $1)
            ORDER BY created_at DESC
            LIMIT $2
            """,
            user_id,
            limit,
        )
        return [HeuristicMemory(row["id"], row["user_id"], row["content"], row["speaker"]) for row in rows]

    async def set_llm_importance(self, user_id: str, memory_id: UUID, importance: float) -> int:
        """The LLM's score replaces the heuristic's; 0 when the score is no longer the heuristic's."""
        status = await self.conn.execute(
            """
            UPDATE memories
            SET importance = $1, importance_source = 'llm', updated_at = now()
            WHERE id = $2 AND user_id = $3 AND importance_source = 'heuristic'
            """,
            importance,
            memory_id,
            user_id,
        )
        return int(status.split()[-1])

    async def embedding_spaces(self) -> list[EmbeddingSpace]:
        """Every embedding space that has live vectors."""
        rows = await self.conn.fetch(
            """
            SELECT DISTINCT embedding_model, embedding_dims FROM memories
            WHERE embedding IS NOT NULL AND deleted_at IS NULL
            ORDER BY embedding_model, embedding_dims
            """
        )
        return [EmbeddingSpace(row["embedding_model"], row["embedding_dims"]) for row in rows]

    async def index_points(self, space: EmbeddingSpace, after: UUID, limit: int) -> list[IndexPoint]:
        """Live memories of ``space`` with ids above ``after``, in id order (keyset pages)."""
        rows = await self.conn.fetch(
            _SELECT_POINTS + " AND id > $3 ORDER BY id LIMIT $4", space.model, space.dims, after, limit
        )
        return [_point(row) for row in rows]

    async def unindexed_points(self, space: EmbeddingSpace, limit: int) -> list[IndexPoint]:
        """Live memories of ``space`` with a vector but no ``indexed_at``, oldest first."""
        rows = await self.conn.fetch(
            _SELECT_POINTS + " AND indexed_at IS NULL ORDER BY created_at, id LIMIT $3",
            space.model,
            space.dims,
            limit,
        )
        return [_point(row) for row in rows]

    async def mark_indexed_in_space(self, ids: Sequence[UUID], space: EmbeddingSpace) -> None:
        """``indexed_at`` for memories not yet indexed, guarded by the space: a memory re-embedded by another
        model meanwhile is not in this index."""
        await self.conn.execute(
            """
            UPDATE memories SET indexed_at = now()
            WHERE id = ANY($1::uuid[]) AND indexed_at IS NULL AND embedding_model = $2 AND embedding_dims = $3
            """,
            list(ids),
            space.model,
            space.dims,
        )

    async def retention_counts(self, now: datetime) -> dict[str, int]:
        """Live memories, those weakened by a conflict, and those untouched for 30 days."""
        row = await self.conn.fetchrow(
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


_SELECT_POINTS = """
    SELECT id, user_id, memory_type, embedding::real[] AS vector, importance, created_at, origin_channel_id
    FROM memories
    WHERE embedding_model = $1 AND embedding_dims = $2 AND deleted_at IS NULL AND embedding IS NOT NULL
"""


def _point(row: asyncpg.Record) -> IndexPoint:
    return IndexPoint(
        memory_id=row["id"],
        user_id=row["user_id"],
        memory_type=row["memory_type"],
        vector=row["vector"],
        importance=row["importance"],
        created_at=row["created_at"],
        origin_channel_id=row["origin_channel_id"],
    )
