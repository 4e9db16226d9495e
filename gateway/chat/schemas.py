from __future__ import annotations

import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from companion_common.visible_text import MAX_NAME_CHARS, is_invisible_only
from gateway.security.quoting import check_name

MAX_MESSAGE_CHARS = 4000


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, examples=["I got a new puppy today!"])
    username: str = Field(min_length=1, max_length=MAX_NAME_CHARS, examples=["alice"])
    channel_id: str | None = Field(default=None, max_length=100, description="Discord channel of the message")
    is_dm: bool = Field(
        default=True,
        description="whether the message came in a direct message; false: a server channel, whose reply may "
        "use only what was said in that channel (channel_id is then required)",
    )
    guild_id: str | None = Field(default=None, max_length=100, description="Discord server of the channel")
    message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the message's own id (the Discord message id): a retry of the same message returns the "
        "first answer (repeated: true) instead of a second turn",
    )

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # Tag characters and other text-carrying invisibles are content: the security screen decodes them.
        if is_invisible_only(value):
            raise ValueError("the message is empty (only spaces or invisible characters)")
        if "\x00" in value:
            raise ValueError("message must not contain NUL characters")
        return value

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        # Whether it reads as an instruction is decided where it is used (security.service.screen_name):
        # a platform username is not the user's to correct, so it is replaced there, not refused here.
        return check_name("username", value)

    @pydantic.model_validator(mode="after")
    def _channel_of_a_public_message(self) -> ChatMessageIn:
        # A server-channel reply may use only that channel's memories: without the channel there is no scope.
        if not self.is_dm and not self.channel_id:
            raise ValueError("channel_id is required when is_dm is false")
        return self

    @property
    def scope(self) -> str | None:
        """Who will read the reply: None for the user alone (a DM), else the server channel's id."""
        return None if self.is_dm else self.channel_id


class PadRead(BaseModel):
    pleasure: float
    arousal: float
    dominance: float


class MemoryUsed(BaseModel):
    id: str
    reason: str


class SecurityNotice(BaseModel):
    """What the bot needs to tell the user about their security state."""

    threat_detected: bool
    threat_kind: str | None = None
    escalation_level: int = 0  # 0 none, 1 warned, 2 restricted, 3 suspended
    restricted: bool = False
    suspended_until: AwareDatetime | None = None


class ChatResponse(BaseModel):
    response: str
    interaction_id: int | None
    emotion_label: str
    pad: PadRead
    memories_used: list[MemoryUsed]
    degraded: list[str] = Field(description="what was bypassed for this reply (letta, chat_llm, ...)")
    runtime: str = Field(description="letta, direct or template (offline mode)")
    model: str | None
    offline: bool = Field(description="true when the reply came from templates (no chat LLM answered)")
    security: SecurityNotice
    processing_ms: float
    agent_ms: float = Field(default=0.0, description="of processing_ms, the time spent in Letta or the LLM")
    timings_ms: dict[str, float] = Field(default_factory=dict, description="milliseconds per pipeline stage")
    was_proactive: bool = False
    repeated: bool = Field(
        default=False,
        description="true when this message_id was answered before: the first answer again, no new turn",
    )
    first_contact: bool = Field(
        default=False,
        description="true on the turn that met the user: their companion was just created with the default "
        "profile in UTC, and may still be chosen (POST /api/personality/{id}/initialize) while it is new",
    )


class SessionStatus(BaseModel):
    user_id: str
    emotion_label: str
    pad: PadRead
    last_interaction_at: AwareDatetime | None
    interactions_today: int
    session_active: bool = Field(description="a message in the last SESSION_IDLE_MINUTES")


class SessionEnd(BaseModel):
    user_id: str
    memories_consolidated: int
    semantic_memories_created: int
    ended_at: AwareDatetime
