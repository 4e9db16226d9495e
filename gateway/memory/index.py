"""The vector index behind memory search: one interface, two backends (pgvector, Qdrant).

Postgres is the source of truth for every memory, vector included; an index only answers "which of this
user's memories are nearest to this vector" and can be rebuilt from Postgres at any time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from gateway.integrations.embedding import EmbeddingSpace

__all__ = ["EmbeddingSpace", "IndexPoint", "VectorHit", "VectorIndex", "VectorIndexError"]

MEMORY_TYPES = ("episodic", "semantic")


@dataclass(frozen=True)
class IndexPoint:
    """What the index keeps of one memory (its id is the memory's UUID in Postgres)."""

    memory_id: UUID
    user_id: str
    memory_type: str  # "episodic" | "semantic"
    vector: Sequence[float]
    importance: float
    created_at: datetime
    origin_channel_id: str | None = None  # the server channel it was said in; None: private (a DM)


@dataclass(frozen=True)
class VectorHit:
    memory_id: UUID
    similarity: float  # cosine similarity in [-1, 1]


class VectorIndexError(Exception):
    """The index backend failed; callers fall back to another backend or to full-text search."""


def selected_memory_types(memory_types: Sequence[str] | None) -> list[str]:
    """The memory types a search covers: all when None, else these (deduplicated, checked)."""
    if memory_types is None:
        return list(MEMORY_TYPES)
    unknown = set(memory_types) - set(MEMORY_TYPES)
    if unknown:
        raise ValueError(f"unknown memory types: {sorted(unknown)}")
    return list(dict.fromkeys(memory_types))


def checked_vector(vector: Sequence[float], dims: int) -> list[float]:
    """The vector as a list of floats, refused when its length is not the space's."""
    values = [float(x) for x in vector]
    if len(values) != dims:
        raise ValueError(f"vector has {len(values)} dimensions, the embedding space has {dims}")
    return values


class VectorIndex(Protocol):
    name: str
    # True when the index reads the vectors the memory rows already hold (pgvector): writing the vector
    # to Postgres is then indexing it.
    in_postgres: bool

    async def ensure_ready(self, space: EmbeddingSpace) -> None:
        """Create collections / indexes for this embedding space if missing (idempotent)."""
        ...

    async def upsert(self, space: EmbeddingSpace, points: Sequence[IndexPoint]) -> None: ...

    async def search(
        self,
        space: EmbeddingSpace,
        user_id: str,
        vector: Sequence[float],
        limit: int,
        memory_types: Sequence[str] | None = None,
        channel_id: str | None = None,
    ) -> list[VectorHit]:
        """The user's nearest memories, best first; never another user's. With ``channel_id``, only the
        memories said in that server channel (filtered inside the search, so ``limit`` still holds)."""
        ...

    async def delete(self, space: EmbeddingSpace, user_id: str, memory_ids: Sequence[UUID]) -> None:
        """Remove these memories of this user (ids of another user are left untouched)."""
        ...

    async def delete_user(self, user_id: str) -> None:
        """Remove every point of this user in every embedding space."""
        ...

    async def health(self) -> None:
        """Raise VectorIndexError when the backend cannot answer."""
        ...
