"""Gateway settings: one section per concern, each read from its own environment variables.

Nothing here touches the environment at import; ``Settings.load()`` reads it once at start.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from companion_common import weak_secrets
from companion_common.validation import readable_message

# Where a bot on the same machine listens; the default of BOT_PUSH_ALLOWED_HOSTS.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TESTING = "testing"


class ConfigError(Exception):
    """Settings are missing or invalid; the message names the variable and the rule."""


def http_url(value: str, *, credentials: bool = True, query: bool = True) -> str:
    """An absolute http(s) URL that httpx can call: a host, a port in 1-65535, no fragment, no whitespace or
    control characters; ``credentials``/``query`` False also refuse ``user:password@`` and ``?query``.
    Returned stripped, without a trailing slash; ValueError says what is wrong."""
    value = value.strip()
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port that is not a number or is out of range
        httpx.URL(value)
    except (ValueError, httpx.InvalidURL) as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if not parts.hostname:
        raise ValueError("must name a host (http://host:port)")
    if port == 0:
        raise ValueError("port must be between 1 and 65535")
    if "#" in value:
        raise ValueError("must not have a #fragment")
    if not credentials and "@" in parts.netloc:
        raise ValueError("must not carry a user name or password")
    if not query and "?" in value:
        raise ValueError("must not have a ?query")
    return value.rstrip("/")


def optional_http_url(value: str | None) -> str | None:
    """A base URL setting: blank means unset; otherwise a valid http(s) URL (``http_url``), without a
    trailing slash."""
    if value is None or not value.strip():
        return None
    return http_url(value)


def url_validator(*fields: str) -> Any:
    """The pydantic validator applying ``optional_http_url`` to ``fields``."""
    return field_validator(*fields)(classmethod(lambda cls, value: optional_http_url(value)))


def required_url_validator(*fields: str) -> Any:
    """The pydantic validator applying ``http_url`` to ``fields`` (settings that are never unset)."""
    return field_validator(*fields)(classmethod(lambda cls, value: http_url(value)))


class _Section(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)


class CoreSettings(_Section):
    environment: Environment = Environment.DEVELOPMENT
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class ServerSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    run_migrations: bool = True


class DatabaseSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="DATABASE_")

    url: SecretStr
    pool_min_size: int = Field(default=2, ge=1, le=100)
    pool_max_size: int = Field(default=10, ge=1, le=200)
    command_timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @field_validator("url")
    @classmethod
    def _asyncpg_dsn(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (a plain libpq URL; no +asyncpg driver suffix)")
        return value

    @model_validator(mode="after")
    def _pool_bounds(self) -> Self:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("DATABASE_POOL_MIN_SIZE must not exceed DATABASE_POOL_MAX_SIZE")
        return self


class RedisSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="REDIS_")

    url: SecretStr = SecretStr("redis://localhost:6379/0")

    @field_validator("url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value


class AuthSettings(_Section):
    gateway_service_token: SecretStr = SecretStr("")
    admin_api_key: SecretStr = SecretStr("")
    # Sent to the Discord bot's push server with every proactive message (empty: nothing is pushed).
    bot_push_token: SecretStr = SecretStr("")


class BotPushSettings(_Section):
    """Where the gateway may push proactive messages: the bot registers its push URL, and the gateway sends
    BOT_PUSH_TOKEN there, so only these hosts are accepted (docs/discord.md)."""

    model_config = SettingsConfigDict(env_prefix="BOT_PUSH_")

    # Comma-separated host names or IP addresses; `*` allows any host. The default fits the local stack and
    # `python -m discord_bot` on the same machine; compose sets `discord_bot`, the bot's service name.
    allowed_hosts: str = ",".join(LOOPBACK_HOSTS)

    @field_validator("allowed_hosts")
    @classmethod
    def _host_list(cls, value: str) -> str:
        hosts = [host.strip().lower().removeprefix("[").removesuffix("]") for host in value.split(",")]
        hosts = [host for host in hosts if host]
        if not hosts:
            raise ValueError("must name at least one host (or * for any)")
        for host in hosts:
            if host != "*" and not all(char.isalnum() or char in "-._:" for char in host):
                raise ValueError(f"{host!r} is not a host name or IP address")
        return ",".join(hosts)

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(self.allowed_hosts.split(","))


class EmbeddingClientSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="EMBEDDING_SERVICE_")

    url: str = "http://localhost:8001"
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    _http_url = required_url_validator("url")


class QdrantSettings(_Section):
    """The Qdrant server holding the memory index. Unset: the index is pgvector inside Postgres."""

    model_config = SettingsConfigDict(env_prefix="QDRANT_")

    url: str | None = None
    # Qdrant's embedded local mode (qdrant-client, one process, no server): a directory, or ":memory:".
    # For a single gateway without a Qdrant server, and for tests; QDRANT_URL wins when both are set.
    path: str | None = None
    api_key: SecretStr = SecretStr("")
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)

    @property
    def enabled(self) -> bool:
        return self.url is not None or bool(self.path and self.path.strip())

    _http_url = url_validator("url")


class GroqSettings(_Section):
    """The fast LLM (Groq, through its official SDK). No key: every use falls back to local heuristics."""

    model_config = SettingsConfigDict(env_prefix="GROQ_")

    api_key: SecretStr = SecretStr("")
    base_url: str = "https://api.groq.com"
    model: str = "meta-llama/llama-4-maverick-17b-128e-instruct"
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_retries: int = Field(default=2, ge=0, le=5)

    _http_url = required_url_validator("base_url")

    @property
    def enabled(self) -> bool:
        return bool(self.api_key.get_secret_value().strip())


class ChatLLMSettings(_Section):
    """The chat LLM: Chutes (primary model, then the fallback model), or any OpenAI-compatible server at
    ``LLM_BASE_URL`` (Ollama, llama.cpp, vLLM). Neither set: offline mode, personality-aware templates."""

    chutes_api_key: SecretStr = SecretStr("")
    chutes_base_url: str = "https://llm.chutes.ai"
    llm_base_url: str | None = None
    llm_api_key: SecretStr = SecretStr("")
    primary_llm_model: str = "Qwen/Qwen3-Next-80B-A3B-Instruct"
    fallback_llm_model: str | None = "zai-org/GLM-4.5-Air"
    llm_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    llm_max_retries: int = Field(default=2, ge=0, le=5)
    llm_temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    llm_max_tokens: int = Field(default=600, ge=16, le=8192)

    _http_url = url_validator("chutes_base_url", "llm_base_url")

    @property
    def base_url(self) -> str | None:
        """Where chat completions go: ``LLM_BASE_URL`` wins; Chutes when its key is set; else nowhere."""
        if self.llm_base_url:
            return self.llm_base_url
        if self.chutes_api_key.get_secret_value().strip() and self.chutes_base_url:
            return self.chutes_base_url
        return None

    @property
    def api_key(self) -> str:
        if self.llm_base_url:
            return self.llm_api_key.get_secret_value()
        return self.chutes_api_key.get_secret_value()

    @property
    def enabled(self) -> bool:
        return self.base_url is not None


class LettaSettings(_Section):
    """The Letta server (one agent per user). Unset ``LETTA_SERVER_URL``: the ``direct`` runtime only."""

    model_config = SettingsConfigDict(env_prefix="LETTA_")

    server_url: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    # How Letta reaches the chat LLM and the embedding service (they differ from the gateway's view inside
    # compose); unset: the gateway's own chat LLM base URL and EMBEDDING_SERVICE_URL + /v1.
    llm_endpoint: str | None = None
    embedding_endpoint: str | None = None
    context_window: int = Field(default=16384, ge=2048, le=262144)

    _http_url = url_validator("server_url", "llm_endpoint", "embedding_endpoint")


class ChatSettings(_Section):
    """The conversation pipeline (docs/conversation.md#the-pipeline): which agent runtime answers, and how
    much context it gets."""

    model_config = SettingsConfigDict(env_prefix="CHAT_")

    runtime: str = Field(default="auto", pattern=r"^(auto|letta|direct)$")
    history_turns: int = Field(default=8, ge=0, le=50)
    memories_k: int = Field(default=6, ge=0, le=20)
    lock_timeout_seconds: float = Field(default=120.0, gt=0, le=900)
    # The Redis lock's lease, renewed while the turn runs: a lock orphaned by a crash expires this soon.
    lock_lease_seconds: float = Field(default=10.0, ge=1, le=120)


class MemorySettings(_Section):
    """Retrieval knobs (docs/memory.md#recall); defaults are the ones the LoCoMo benchmark was measured
    with."""

    model_config = SettingsConfigDict(env_prefix="MEMORY_")

    candidates: int = Field(default=60, ge=10, le=500)
    mmr_lambda: float = Field(default=0.95, ge=0.0, le=1.0)
    # A memory said in the span of days the query names ("last week", "in May 2023") gains this many standard
    # deviations of relevance (gateway/memory/when.py); 0 turns it off.
    time_weight: float = Field(default=5.0, ge=0.0, le=10.0)
    # Share of the semantic z-score taken from a memory's window in its conversation (it and the memories just
    # before and after it) rather than from the memory alone; 0 turns it off (docs/memory.md#recall).
    context_weight: float = Field(default=0.75, ge=0.0, le=1.0)
    # Who the query asks about (gateway/memory/names.py): a memory that mentions none of the names it gives
    # ("What does Caroline like?"), or was said by the other side than the one it asks for ("What did you
    # promise me?"), loses this many standard deviations of relevance, one that misses some a share of it;
    # 0 turns it off.
    who_weight: float = Field(default=2.0, ge=0.0, le=10.0)
    importance_cache_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)


class SecuritySettings(_Section):
    """Injection detection, escalation and abuse limits; see docs/security.md."""

    model_config = SettingsConfigDict(env_prefix="SECURITY_")

    threshold: float = Field(default=0.7, ge=0.05, le=1.0)
    # Below the threshold but at least this: the Groq judge is asked (when configured).
    grey_zone_low: float = Field(default=0.4, ge=0.0, le=1.0)
    judge_cache_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    offence_window_days: int = Field(default=7, ge=1, le=90)
    # Only detections at least this sure count as offences (raise the level); a flag between the threshold and
    # this is refused and recorded as an incident, but never escalates a user (docs/security.md).
    escalation_min_confidence: float = Field(default=0.95, ge=0.05, le=1.0)
    restrict_after_offences: int = Field(default=3, ge=1)
    suspend_after_offences: int = Field(default=6, ge=1)
    suspension_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    rate_limit_enabled: bool = True
    user_requests_per_minute: int = Field(default=120, ge=1)
    user_burst: int = Field(default=60, ge=1)
    global_requests_per_minute: int = Field(default=6000, ge=1)
    global_burst: int = Field(default=600, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.grey_zone_low > self.threshold:
            raise ValueError("SECURITY_GREY_ZONE_LOW must not exceed SECURITY_THRESHOLD")
        if self.escalation_min_confidence < self.threshold:
            raise ValueError("SECURITY_ESCALATION_MIN_CONFIDENCE must not be below SECURITY_THRESHOLD")
        if self.restrict_after_offences > self.suspend_after_offences:
            raise ValueError(
                "SECURITY_RESTRICT_AFTER_OFFENCES must not exceed SECURITY_SUSPEND_AFTER_OFFENCES"
            )
        return self


class PersonalitySettings(_Section):
    """The mood dynamics (docs/personality.md#mood-pad); the nightly baseline drift rate is PAD_DRIFT_RATE
    (tuning)."""

    model_config = SettingsConfigDict(env_prefix="PERSONALITY_")

    # Hours for the distance between the current mood and the baseline to halve.
    pad_half_life_hours: float = Field(default=4.0, gt=0.0, le=168.0)
    # Moods closer than this (Euclidean, in PAD space) to the baseline are labelled `neutral`.
    neutral_radius: float = Field(default=0.1, ge=0.0, le=1.0)
    appraisal_cache_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)


class SchedulerSettings(_Section):
    """The jobs (APScheduler inside the gateway, each behind a Redis lock); see docs/proactive.md#jobs."""

    model_config = SettingsConfigDict(env_prefix="SCHEDULER_")

    # Off: no job runs on its own (tests, benchmarks, a replica kept out of the rota); admins can still
    # trigger one through /api/admin/jobs.
    enabled: bool = True
    # The time zone of the nightly jobs (reflection 03:00, maintenance 04:00).
    timezone: str = "UTC"
    # How long shutdown waits for running jobs before interrupting them.
    shutdown_timeout_seconds: float = Field(default=30.0, ge=0, le=3600)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'UTC', 'Europe/Paris')") from exc
        return value


class ProactiveSettings(_Section):
    """When the companion writes first (docs/proactive.md#hard-limits): the score threshold and the hard
    limits."""

    model_config = SettingsConfigDict(env_prefix="PROACTIVE_")

    # How often the check runs, at the same wall-clock minutes on every replica (so a divisor of 60).
    check_minutes: int = Field(default=5, ge=1, le=60)
    threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    max_per_day: int = Field(default=3, ge=0, le=24)
    min_hours_between: float = Field(default=4.0, ge=0.0, le=168.0)
    quiet_minutes_after_user: float = Field(default=30.0, ge=0.0, le=24 * 60)
    # Back off after this many proactive messages in a row without an answer.
    max_unanswered: int = Field(default=2, ge=1, le=10)
    # Messages started per check at most (highest scores first); the rest wait for the next check.
    max_per_cycle: int = Field(default=100, ge=1, le=10000)

    @field_validator("check_minutes")
    @classmethod
    def _divides_the_hour(cls, value: int) -> int:
        if 60 % value:
            raise ValueError(f"must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60), not {value}")
        return value


class ReflectionSettings(_Section):
    """The nightly reflection (docs/proactive.md#nightly-reflection): users active in the last few days, in
    batches, LLM calls capped."""

    model_config = SettingsConfigDict(env_prefix="REFLECTION_")

    batch_size: int = Field(default=50, ge=1, le=1000)
    max_concurrent_llm_calls: int = Field(default=5, ge=1, le=50)
    active_days: int = Field(default=7, ge=1, le=90)


class RetentionSettings(_Section):
    """The retention policy run by ``python -m scripts retention`` (criteria in docs/operations.md); 0 switches
    a day-based rule off."""

    model_config = SettingsConfigDict(env_prefix="RETENTION_")

    deleted_memory_days: int = Field(default=30, ge=0, le=36500)
    forget_after_days: int = Field(default=90, ge=0, le=36500)
    forget_below: float = Field(default=0.05, ge=0.0, le=1.0)
    forgotten_weight: float = Field(default=0.2, ge=0.0, le=1.0)
    false_positive_incident_days: int = Field(default=90, ge=0, le=36500)
    interaction_days: int = Field(default=0, ge=0, le=36500)
    inactive_user_days: int = Field(default=30, ge=0, le=36500)


class TuningSettings(_Section):
    """Numbers that vary by ENVIRONMENT profile (docs/architecture.md#decisions, D14); unset ones take the
    profile's value (see PROFILES)."""

    pad_drift_rate: float | None = Field(default=None, ge=0.0, le=0.1)
    max_security_violations_per_day: int = Field(default=10, ge=1)


class Profile(BaseModel):
    pad_drift_rate: float


PROFILES: dict[Environment, Profile] = {
    Environment.DEVELOPMENT: Profile(pad_drift_rate=0.02),
    Environment.PRODUCTION: Profile(pad_drift_rate=0.01),
    Environment.TESTING: Profile(pad_drift_rate=0.05),
}


class Tuning(Profile):
    """Resolved tuning: the profile's numbers with explicit settings on top, checked as a whole."""

    model_config = {"frozen": True}

    max_security_violations_per_day: int

    @model_validator(mode="after")
    def _plan_rules(self) -> Self:
        if self.pad_drift_rate > 0.05:
            raise ValueError("PAD_DRIFT_RATE must be at most 0.05")
        return self


# Section attribute -> (settings class, prefix used to name its variables in errors).
_SECTIONS: dict[str, type[_Section]] = {
    "core": CoreSettings,
    "server": ServerSettings,
    "database": DatabaseSettings,
    "redis": RedisSettings,
    "auth": AuthSettings,
    "bot_push": BotPushSettings,
    "embedding": EmbeddingClientSettings,
    "qdrant": QdrantSettings,
    "groq": GroqSettings,
    "chat_llm": ChatLLMSettings,
    "letta": LettaSettings,
    "chat": ChatSettings,
    "memory": MemorySettings,
    "personality": PersonalitySettings,
    "security": SecuritySettings,
    "tuning": TuningSettings,
    "scheduler": SchedulerSettings,
    "proactive": ProactiveSettings,
    "reflection": ReflectionSettings,
}


def env_name(section: type[BaseSettings], field_name: str) -> str:
    """The environment variable that feeds ``section.field_name``."""
    return (str(section.model_config.get("env_prefix", "")) + field_name).upper()


def describe_validation_error(section: type[BaseSettings], error: ValidationError) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"] if isinstance(part, str)]
    message = readable_message(first["msg"])
    if not loc:
        return message
    variable = env_name(section, loc[0])
    if first["type"] == "missing":
        return f"{variable}: is required but not set"
    value = first.get("input")
    shown = "" if "url" in loc[0] or "key" in loc[0] or "token" in loc[0] else f" (got {value!r})"
    return f"{variable}: {message}{shown}"


class Settings(BaseModel):
    """Everything the gateway is configured with, built by ``Settings.load()``."""

    model_config = {"frozen": True}

    core: CoreSettings
    server: ServerSettings
    database: DatabaseSettings
    redis: RedisSettings
    auth: AuthSettings
    embedding: EmbeddingClientSettings
    qdrant: QdrantSettings
    groq: GroqSettings
    chat_llm: ChatLLMSettings
    letta: LettaSettings
    chat: ChatSettings
    memory: MemorySettings
    personality: PersonalitySettings
    security: SecuritySettings
    tuning: Tuning
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    proactive: ProactiveSettings = Field(default_factory=ProactiveSettings)
    reflection: ReflectionSettings = Field(default_factory=ReflectionSettings)
    bot_push: BotPushSettings = Field(default_factory=BotPushSettings)

    @property
    def environment(self) -> Environment:
        return self.core.environment

    @classmethod
    def load(cls, env_file: str | None = ".env", **overrides: Any) -> Settings:
        """Read every section from the environment (and ``env_file``); raise ConfigError on the first problem.

        ``overrides`` replace whole sections (``database=DatabaseSettings(url=...)``), for tests and tools.
        """
        sections: dict[str, Any] = {}
        for name, section_cls in _SECTIONS.items():
            if name in overrides:
                sections[name] = overrides[name]
                continue
            try:
                sections[name] = section_cls(_env_file=env_file)  # type: ignore[call-arg]
            except ValidationError as exc:
                raise ConfigError(describe_validation_error(section_cls, exc)) from None
        raw_tuning: TuningSettings = sections["tuning"]
        if not isinstance(raw_tuning, Tuning):
            profile = PROFILES[sections["core"].environment]
            explicit = raw_tuning.model_dump(exclude_none=True)
            try:
                sections["tuning"] = Tuning(**{**profile.model_dump(), **explicit})
            except ValidationError as exc:
                raise ConfigError(readable_message(exc.errors()[0]["msg"])) from None
        settings = cls(**sections)
        settings.check_production_secrets()
        return settings

    def check_production_secrets(self) -> None:
        """Refuse weak secrets of ours in production (companion_common.weak_secrets), naming the variable and the rule.

        Keys issued by providers (Groq, Chutes, an LLM server, Gemini) are theirs to judge and not checked.
        """
        if self.environment is not Environment.PRODUCTION:
            return
        tokens = {
            "GATEWAY_SERVICE_TOKEN": self.auth.gateway_service_token.get_secret_value(),
            "ADMIN_API_KEY": self.auth.admin_api_key.get_secret_value(),
            "BOT_PUSH_TOKEN": self.auth.bot_push_token.get_secret_value(),
        }
        qdrant_key = self.qdrant.api_key.get_secret_value()
        if qdrant_key:  # optional: compose's Qdrant runs without one, inside the internal network
            tokens["QDRANT_API_KEY"] = qdrant_key
        for variable, value in tokens.items():
            refusal = weak_secrets.secret_refusal(variable, value)
            if refusal is not None:
                raise ConfigError(refusal)
        seen: dict[str, str] = {}
        for variable, value in tokens.items():
            if value in seen:
                raise ConfigError(f"{variable}: must differ from {seen[value]} (one secret per purpose)")
            seen[value] = variable
        for variable, url in (
            ("DATABASE_URL", self.database.url.get_secret_value()),
            ("REDIS_URL", self.redis.url.get_secret_value()),
        ):
            refusal = weak_secrets.url_refusal(variable, url)
            if refusal is not None:
                raise ConfigError(refusal)
