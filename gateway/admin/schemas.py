from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.security.schemas import SecurityState
from gateway.users.schemas import UserProfileRead


class AppliedMigration(BaseModel):
    version: int
    name: str
    applied_at: AwareDatetime


class MigrationStatus(BaseModel):
    applied: list[AppliedMigration]
    pending: list[str]


class InteractionStats(BaseModel):
    total: int
    last_24h: int
    today: int = Field(description="since midnight UTC")
    proactive_last_24h: int


class MemoryStats(BaseModel):
    episodic: int
    semantic: int
    without_vector: int = Field(description="waiting to be embedded")


class IncidentStats(BaseModel):
    last_24h: int = Field(description="not marked false positive")
    unreviewed: int


class AdminStats(BaseModel):
    """Real counts across every user (no sampling)."""

    generated_at: AwareDatetime
    users_total: int
    users_by_status: dict[str, int]
    users_active_last_24h: int
    interactions: InteractionStats
    memories: MemoryStats
    security_incidents: IncidentStats
    pending_deletions: int
    bot_registered: bool


class AdminUserSummary(BaseModel):
    user_id: str
    username: str
    display_name: str | None
    status: str
    personality_profile: str
    timezone: str
    proactive_enabled: bool
    total_interactions: int
    created_at: AwareDatetime
    last_active_at: AwareDatetime
    last_proactive_at: AwareDatetime | None


class AdminUserPage(BaseModel):
    items: list[AdminUserSummary]
    total: int
    limit: int
    offset: int


class AdminUserCounts(BaseModel):
    interactions: int
    interactions_today: int
    proactive_messages: int
    episodic_memories: int
    semantic_memories: int
    active_quirks: int
    security_incidents: int


class AdminUserDetail(BaseModel):
    profile: UserProfileRead
    counts: AdminUserCounts
    emotion_label: str | None
    security: SecurityState | None


class UserResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"confirm": True}]})

    confirm: bool = Field(description="must be true: the reset deletes everything about the user, everywhere")


class InteractionRead(BaseModel):
    id: int
    created_at: AwareDatetime
    user_message: str
    assistant_response: str
    emotion_before: str | None
    emotion_after: str | None
    pad_before: dict[str, float] | None
    pad_after: dict[str, float] | None
    memories_retrieved: int
    response_latency_ms: int | None
    tokens_used: int | None
    model_used: str | None
    runtime: str | None
    degraded: list[str]
    was_proactive: bool
    proactive_score: float | None
    proactive_reason: str | None
    security_threat_detected: bool


class InteractionPage(BaseModel):
    items: list[InteractionRead]
    total: int
    limit: int
    offset: int
    days: int
