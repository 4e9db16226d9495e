from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from gateway.config import http_url


class BotRegistrationCreate(BaseModel):
    """What the bot tells the gateway at start and with every heartbeat."""

    model_config = ConfigDict(extra="forbid")

    push_url: str = Field(min_length=1, max_length=500, examples=["http://discord_bot:8091"])
    bot_user_id: str | None = Field(default=None, max_length=100)
    guilds: int | None = Field(default=None, ge=0)

    @field_validator("push_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # The gateway sends BOT_PUSH_TOKEN here: a plain URL only; the host is checked against
        # BOT_PUSH_ALLOWED_HOSTS by the service.
        return http_url(value, credentials=False, query=False)


class BotRegistrationRead(BaseModel):
    registered: bool = Field(description="a registration or heartbeat arrived within the TTL")
    push_url: str | None = None
    bot_user_id: str | None = None
    guilds: int | None = None
    registered_at: AwareDatetime | None = None
    last_heartbeat_at: AwareDatetime | None = None
    ttl_seconds: int


class BotStatusRead(BotRegistrationRead):
    reachable: bool | None = Field(default=None, description="the push server answered /health (admin view)")
    detail: str | None = None
