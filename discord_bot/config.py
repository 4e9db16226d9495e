"""Bot settings. The bot never touches a database: it knows the gateway's URL and its tokens, nothing more."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    discord_token: SecretStr
    discord_guild_id: int | None = None
    gateway_url: str = "http://localhost:8000"
    gateway_service_token: SecretStr
    bot_push_token: SecretStr
    bot_push_host: str = "127.0.0.1"
    bot_push_port: int = Field(default=8091, ge=1, le=65535)
    # The URL the gateway uses to reach the push server (differs from host:port behind Docker networking).
    bot_push_public_url: str = "http://localhost:8091"
