from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ProactiveMessageRead(BaseModel):
    """One initiation: why (score, components, inner thought), what (the opener) and what became of it."""

    id: int
    created_at: AwareDatetime
    trigger: str
    score: float
    components: dict[str, Any]
    reason: str
    kind: str
    memory_id: UUID | None
    inner_thought: str
    thought_source: str
    message: str
    message_source: str
    status: str = Field(description="pending, delivered_dm, delivered_channel, failed (retried), abandoned")
    delivery_detail: str | None
    attempts: int
    last_attempt_at: AwareDatetime | None
    delivered_at: AwareDatetime | None
    channel_id: str | None
    interaction_id: int | None


class ProactiveStatus(BaseModel):
    """The score as it stands now, each component kept, and every hard limit that blocks a message."""

    user_id: str
    as_of: AwareDatetime
    local_time: AwareDatetime
    timezone: str = Field(description="the zone used (UTC when the stored one is unknown)")
    timezone_warning: str | None
    score: float
    threshold: float
    components: dict[str, Any]
    blocked_by: list[str]
    would_initiate: bool
    recent: list[ProactiveMessageRead]


class ProactiveTrigger(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"force": False}, {"force": True}]})

    force: bool = Field(
        default=False, description="ignore the score threshold (hard limits such as opt-out still apply)"
    )


class ProactiveOutcome(BaseModel):
    """``success`` true with the message, or false with the reason nothing was sent."""

    user_id: str
    success: bool
    reason: str
    score: float
    blocked_by: list[str] = Field(default_factory=list)
    message: ProactiveMessageRead | None = None
