"""Embedding service settings: one class, read by ``Settings.load()`` (nothing is read at import)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from companion_common import weak_secrets
from companion_common.validation import readable_message

LOCAL_MODEL = "all-MiniLM-L6-v2"
LOCAL_DIMENSIONS = 384
GEMINI_MODEL = "gemini-embedding-001"
GEMINI_DIMENSIONS = 1536
GEMINI_MIN_DIMENSIONS = 128
GEMINI_MAX_DIMENSIONS = 3072


class ProviderName(StrEnum):
    LOCAL = "local"
    GEMINI = "gemini"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TESTING = "testing"


DEFAULT_MODELS = {ProviderName.LOCAL: LOCAL_MODEL, ProviderName.GEMINI: GEMINI_MODEL}
DEFAULT_DIMENSIONS = {ProviderName.LOCAL: LOCAL_DIMENSIONS, ProviderName.GEMINI: GEMINI_DIMENSIONS}


class ConfigError(Exception):
    """Settings are missing or invalid; the message names the variable and the rule."""


class Settings(BaseSettings):
    """Everything the embedding service is configured with.

    ``EMBEDDING_MODEL`` and ``EMBEDDING_DIMENSIONS`` default per provider. The variables shared with the
    rest of the stack (``REDIS_URL``, ``GEMINI_*``, ``ENVIRONMENT``) carry no prefix.
    """

    model_config = SettingsConfigDict(
        env_prefix="EMBEDDING_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    provider: ProviderName = ProviderName.LOCAL
    model: str
    dimensions: int
    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=1, le=65535)
    max_batch: int = Field(default=100, ge=1, le=2048)
    max_text_chars: int = Field(default=8000, ge=1, le=1_000_000)
    cache_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    provider_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    retry_attempts: int = Field(default=3, ge=1, le=10)
    retry_base_delay_seconds: float = Field(default=0.5, ge=0, le=60)
    # Two cores is the target box: one ONNX run at a time, using both.
    local_threads: int = Field(default=2, ge=1, le=64)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")

    redis_url: SecretStr = Field(default=SecretStr("redis://localhost:6379/0"), validation_alias="REDIS_URL")
    gemini_api_key: SecretStr = Field(default=SecretStr(""), validation_alias="GEMINI_API_KEY")
    gemini_base_url: str | None = Field(default=None, validation_alias="GEMINI_BASE_URL")
    environment: Environment = Field(default=Environment.DEVELOPMENT, validation_alias="ENVIRONMENT")

    @model_validator(mode="before")
    @classmethod
    def _provider_defaults(cls, data: Any) -> Any:
        """Fill EMBEDDING_MODEL and EMBEDDING_DIMENSIONS from the provider when they are unset or blank."""
        if not isinstance(data, dict):
            return data
        try:
            provider = ProviderName(str(data.get("provider", ProviderName.LOCAL)).strip().lower())
        except ValueError:
            return data  # the provider field reports it
        filled = dict(data)
        for field, defaults in (("model", DEFAULT_MODELS), ("dimensions", DEFAULT_DIMENSIONS)):
            value = filled.get(field)
            if value is None or (isinstance(value, str) and not value.strip()):
                filled[field] = defaults[provider]
        return filled

    @field_validator("provider", mode="before")
    @classmethod
    def _known_provider(cls, value: Any) -> Any:
        normalised = str(value).strip().lower()
        if normalised not in {p.value for p in ProviderName}:
            raise ValueError("must be 'local' or 'gemini'")
        return normalised

    @field_validator("environment", mode="before")
    @classmethod
    def _known_environment(cls, value: Any) -> Any:
        normalised = str(value).strip().lower()
        if normalised not in {e.value for e in Environment}:
            raise ValueError("must be 'development', 'production' or 'testing'")
        return normalised

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("model")
    @classmethod
    def _bare_model_name(cls, value: str) -> str:
        # The plan writes "models/gemini-embedding-001"; one spelling keeps cache keys and tags stable.
        return value.strip().removeprefix("models/")

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("gemini_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        try:
            parts = urlsplit(value)
            port = parts.port  # raises for a port that is not a number or is out of range
        except ValueError as exc:
            raise ValueError(f"is not a valid URL ({exc})") from None
        if not parts.hostname or port == 0 or "#" in value or any(char.isspace() for char in value):
            raise ValueError("must be an http(s)://host[:port] URL without spaces or a #fragment")
        return value

    @model_validator(mode="after")
    def _provider_rules(self) -> Self:
        if self.provider is ProviderName.LOCAL:
            if self.model != LOCAL_MODEL:
                raise ValueError(f"EMBEDDING_MODEL: the local provider only ships {LOCAL_MODEL}")
            if self.dimensions != LOCAL_DIMENSIONS:
                raise ValueError(
                    f"EMBEDDING_DIMENSIONS: must be {LOCAL_DIMENSIONS} for the local provider "
                    f"(got {self.dimensions})"
                )
        else:
            if not GEMINI_MIN_DIMENSIONS <= self.dimensions <= GEMINI_MAX_DIMENSIONS:
                raise ValueError(
                    f"EMBEDDING_DIMENSIONS: must be between {GEMINI_MIN_DIMENSIONS} and "
                    f"{GEMINI_MAX_DIMENSIONS} for the gemini provider (got {self.dimensions})"
                )
            if not self.gemini_api_key.get_secret_value().strip():
                raise ValueError("GEMINI_API_KEY: is required when EMBEDDING_PROVIDER is 'gemini'")
        return self

    @model_validator(mode="after")
    def _production_secrets(self) -> Self:
        """Production refuses a weak REDIS_URL password (GEMINI_API_KEY is Google's to judge)."""
        if self.environment is Environment.PRODUCTION:
            refusal = weak_secrets.url_refusal("REDIS_URL", self.redis_url.get_secret_value())
            if refusal is not None:
                raise ValueError(refusal)
        return self

    @classmethod
    def load(cls, env_file: str | None = ".env", **values: Any) -> Settings:
        """Read the environment (and ``env_file``) with ``values`` on top; ConfigError names any problem."""
        try:
            return cls(_env_file=env_file, **values)  # type: ignore[call-arg]
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc)) from None


def env_name(field_name: str) -> str:
    """The environment variable that feeds ``Settings.field_name``."""
    field = Settings.model_fields.get(field_name)
    if field is not None and isinstance(field.validation_alias, str):
        return field.validation_alias
    return (str(Settings.model_config.get("env_prefix", "")) + field_name).upper()


def describe_validation_error(error: ValidationError) -> str:
    """One line: the variable, the rule and (for non-secrets) the offending value."""
    first = error.errors()[0]
    message = readable_message(first["msg"])
    loc = [str(part) for part in first["loc"] if isinstance(part, str)]
    if not loc:
        return message  # model-level rules name their variable themselves
    field_name = loc[0]
    if field_name not in Settings.model_fields:
        field_name = next(
            (name for name, f in Settings.model_fields.items() if f.validation_alias == field_name),
            field_name,
        )
    variable = env_name(field_name)
    if first["type"] == "missing":
        return f"{variable}: is required but not set"
    secret = field_name in {"redis_url", "gemini_api_key"}
    shown = "" if secret else f" (got {first.get('input')!r})"
    return f"{variable}: {message}{shown}"
