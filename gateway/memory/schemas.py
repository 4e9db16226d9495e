from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

MAX_QUERY_CHARS = 1000
MAX_CONTENT_CHARS = 8000


class MemoryType(StrEnum):
    EPISODIC = "episodic"
    SEMANTIC = "semantic"


class Speaker(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


class MemoryRead(BaseModel):
    id: UUID
    user_id: str
    memory_type: MemoryType
    content: str
    speaker: Speaker | None
    importance: float
    importance_source: str
    emotion_context: str | None
    conversation_id: str | None
    origin_channel_id: str | None = Field(
        default=None,
        description="the server channel it was said in; null: said privately (a DM), or of unknown origin",
    )
    origin_guild_id: str | None = Field(default=None, description="the server of that channel, when known")
    source_memory_ids: list[UUID]
    consolidated_into: UUID | None
    access_count: int
    last_accessed_at: AwareDatetime | None
    strength: float
    retrieval_weight: float
    embedding_model: str | None
    created_at: AwareDatetime


class MemoryCreate(BaseModel):
    """A memory the user asks the companion to keep ("remember that ...")."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"content": "My sister's birthday is on 3 March.", "importance": 0.8}]
        }
    )

    content: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    memory_type: MemoryType = MemoryType.EPISODIC
    importance: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be blank")
        # Refused, not repaired: the storage filter would otherwise store U+FFFD or "?" in their place, a
        # memory the user never wrote (a chat message with a NUL is a 422 too).
        if "\x00" in value:
            raise ValueError("content must not contain NUL characters")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("content must not contain lone surrogates (invalid Unicode)") from None
        return value.strip()


class MemorySearchRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"query": "what is my dog called?", "k": 5, "mmr_lambda": 0.7}]}
    )

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: int = Field(default=10, ge=1, le=50)
    mmr_lambda: Annotated[float | None, Field(ge=0.0, le=1.0)] = None
    memory_types: list[MemoryType] | None = Field(default=None, min_length=1)
    channel_id: str | None = Field(
        default=None,
        max_length=100,
        description="Only memories said in this server channel (what a reply there may use); "
        "omitted: every memory (a DM)",
    )
    min_importance: float = Field(default=0.0, ge=0.0, le=1.0)
    now: AwareDatetime | None = Field(
        default=None, description="Score retention as of this time (default: now)."
    )

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be blank")
        return value.strip()


class ScoreComponents(BaseModel):
    """Why a memory was recalled: each part of its score, all in [0, 1] except similarity."""

    similarity: float | None = Field(description="cosine similarity to the query (None: no vector yet)")
    lexical: float = Field(description="full-text match, normalised against the best match")
    relevance: float
    importance: float
    retention: float = Field(description="Ebbinghaus retention as of `now`")
    score: float = Field(description="the combined score before diversity")
    mmr: float = Field(description="the score after the MMR diversity penalty")


class MemorySearchResult(BaseModel):
    memory: MemoryRead
    components: ScoreComponents
    reason: str


class MemorySearchResponse(BaseModel):
    results: list[MemorySearchResult]
    degraded: list[str] = Field(description="dependencies bypassed for this answer (e.g. embedding_service)")


class MemoryPage(BaseModel):
    items: list[MemoryRead]
    total: int
    limit: int
    offset: int


class ConflictStatus(StrEnum):
    PENDING = "pending"
    RESOLVED = "resolved"
    IGNORED = "ignored"


class MemoryConflictRead(BaseModel):
    id: int
    memory_id_1: UUID
    memory_id_2: UUID
    conflict_type: str
    description: str | None
    confidence: float | None
    resolution_status: ConflictStatus
    resolution_method: str | None
    winner_memory_id: UUID | None
    resolution_note: str | None
    detected_at: AwareDatetime
    resolved_at: AwareDatetime | None


class ConflictResolution(BaseModel):
    """Keep one memory (the other loses retrieval weight, nothing is deleted), or ignore the conflict."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"action": "keep", "winner_memory_id": "7f0c2a43-8a4e-4f7e-9a51-0c8d3c2b1e11"},
                {"action": "ignore", "note": "both are true"},
            ]
        }
    )

    action: str = Field(pattern="^(keep|ignore)$")
    winner_memory_id: UUID | None = None
    note: str | None = Field(default=None, max_length=500)


class ConsolidationResult(BaseModel):
    semantic_memories_created: int
    episodic_memories_processed: int
    conflicts_detected: int
    semantic_memory_ids: list[UUID]


class MemoryExport(BaseModel):
    user_id: str
    exported_at: AwareDatetime
    memories: list[MemoryRead]
    conflicts: list[MemoryConflictRead]
    extra: dict[str, Any] = Field(default_factory=dict)
