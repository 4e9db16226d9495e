"""Bot settings. The bot never touches a database: it knows the gateway's URL and its tokens, nothing more."""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from companion_common import weak_secrets


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # Production refuses weak secrets of ours (compose sets it, as for the other services).
    environment: Literal["development", "production", "testing"] = "development"
    discord_token: SecretStr
    discord_guild_id: int | None = None
    # Discord user ids allowed to run /admin commands (comma-separated); empty: nobody.
    discord_admin_ids: str = ""
    gateway_url: str = "http://localhost:8000"
    gateway_service_token: SecretStr
    # Only for the /admin commands (the gateway's /api/admin routes); unset: those commands say so.
    admin_api_key: SecretStr = SecretStr("")
    bot_push_token: SecretStr
    bot_push_host: str = "127.0.0.1"
    bot_push_port: int = Field(default=8091, ge=1, le=65535)
    # The URL the gateway uses to reach the push server (differs from host:port behind Docker networking).
    bot_push_public_url: str = "http://localhost:8091"

    @field_validator("discord_admin_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        raw = str(value) if isinstance(value, int) else value
        if isinstance(raw, str):
            parts = [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]
            if not all(part.isdigit() for part in parts):
                raise ValueError("must be Discord user ids (digits) separated by commas")
            return ",".join(parts)
        return value

    @property
    def admin_ids(self) -> frozenset[int]:
        return frozenset(int(part) for part in self.discord_admin_ids.split(",") if part)

    @field_validator("discord_guild_id", mode="before")
    @classmethod
    def _empty_guild(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("gateway_url", "bot_push_public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # The gateway refuses a push URL that is not a plain http(s)://host:port: say so at start, not at
        # every registration attempt.
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"is not a valid URL ({exc})") from None
        if not parts.hostname or port == 0:
            raise ValueError("must name a host and a port in 1-65535 (http://host:port)")
        if "@" in parts.netloc or "?" in value or "#" in value or any(char.isspace() for char in value):
            raise ValueError("must be a plain URL (no user:password@, ?query, #fragment or spaces)")
        return value

    @field_validator("environment", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _production_secrets(self) -> Self:
        """The gateway's rules for the tokens the bot holds; DISCORD_TOKEN is Discord's to judge."""
        if self.environment != "production":
            return self
        tokens = {
            "GATEWAY_SERVICE_TOKEN": self.gateway_service_token.get_secret_value(),
            "BOT_PUSH_TOKEN": self.bot_push_token.get_secret_value(),
        }
        admin_key = self.admin_api_key.get_secret_value()
        if admin_key:  # optional: empty keeps /admin off Discord
            tokens["ADMIN_API_KEY"] = admin_key
        for variable, value in tokens.items():
            refusal = weak_secrets.secret_refusal(variable, value)
            if refusal is not None:
                raise ValueError(refusal)
        return self
