"""Settings: per-provider defaults, and errors that name the variable and the rule."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from embedding_service.config import ConfigError, Settings
from tests.servers import run_main


def load(**values: object) -> Settings:
    return Settings.load(env_file=None, **values)


def test_local_defaults() -> None:
    """With nothing set, the service runs all-MiniLM-L6-v2 at 384 dims with the documented limits."""
    settings = load()
    assert (settings.provider, settings.model, settings.dimensions) == ("local", "all-MiniLM-L6-v2", 384)
    assert (settings.host, settings.port) == ("127.0.0.1", 8001)
    assert (settings.max_batch, settings.max_text_chars, settings.cache_ttl_seconds) == (100, 8000, 604800)


def test_gemini_defaults() -> None:
    """The gemini provider defaults to gemini-embedding-001 at 1536 dims."""
    settings = load(provider="gemini", gemini_api_key="key")
    assert (settings.model, settings.dimensions) == ("gemini-embedding-001", 1536)


def test_gemini_model_prefix_is_dropped() -> None:
    """The plan's spelling models/gemini-embedding-001 names the same model (and the same cache keys)."""
    assert load(provider="gemini", gemini_api_key="key", model="models/gemini-embedding-001").model == (
        "gemini-embedding-001"
    )


def test_local_rejects_other_dimensions() -> None:
    """The local model only produces 384 dimensions; anything else is refused, naming the variable."""
    with pytest.raises(ConfigError, match=r"^EMBEDDING_DIMENSIONS: must be 384"):
        load(dimensions=512)


@pytest.mark.parametrize("dimensions", [64, 4096])
def test_gemini_dimensions_range(dimensions: int) -> None:
    """Gemini output sizes outside 128..3072 are refused."""
    with pytest.raises(ConfigError, match=r"^EMBEDDING_DIMENSIONS: must be between 128 and 3072"):
        load(provider="gemini", gemini_api_key="key", dimensions=dimensions)


def test_gemini_requires_api_key() -> None:
    """The gemini provider refuses to start without GEMINI_API_KEY."""
    with pytest.raises(ConfigError, match=r"^GEMINI_API_KEY: is required"):
        load(provider="gemini", gemini_api_key="  ")


def test_unknown_provider_names_variable() -> None:
    """An unknown provider names EMBEDDING_PROVIDER and the allowed values."""
    with pytest.raises(ConfigError, match=r"^EMBEDDING_PROVIDER: must be 'local' or 'gemini'"):
        load(provider="openai")


def test_redis_url_value_is_not_echoed() -> None:
    """A bad REDIS_URL is named but its value (which may hold a password) is not printed."""
    with pytest.raises(ConfigError) as caught:
        load(redis_url="http://user:hunter2@redis")
    assert str(caught.value).startswith("REDIS_URL: ")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://[::1", "https://gemini:99999", "https://:443", "https://x/#f"])
def test_unusable_gemini_base_url_is_refused(url: str) -> None:
    """A GEMINI_BASE_URL httpx could not call is refused at start, naming the variable."""
    with pytest.raises(ConfigError, match=r"^GEMINI_BASE_URL: "):
        load(gemini_base_url=url)


@pytest.mark.parametrize(
    ("redis_url", "reason"),
    [
        ("redis://redis:6379/1", "has no password"),
        ("redis://:x@redis:6379/1", "has a password that is shorter than 24 characters"),
        ("redis://:change-me-change-me-change-me@redis:6379/1", "contains the placeholder word 'changeme'"),
    ],
)
def test_production_refuses_a_weak_redis_password(redis_url: str, reason: str) -> None:
    """In production a REDIS_URL without a strong password is refused in one line naming it."""
    with pytest.raises(ConfigError, match=r"^REDIS_URL: ") as caught:
        load(environment="production", redis_url=redis_url)
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_production_accepts_a_generated_redis_password_and_development_anything() -> None:
    """The compose URL with a generated password passes; development accepts a password-less URL."""
    strong = f"redis://:{secrets.token_hex(32)}@redis:6379/1"
    assert load(environment="production", redis_url=strong).environment == "production"
    assert load(redis_url="redis://redis:6379/1").environment == "development"


@pytest.mark.slow
def test_main_exits_2_with_one_line(tmp_path: Path) -> None:
    """`python -m embedding_service` with a bad provider exits 2 printing one line naming the variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMBEDDING_", "GEMINI_", "REDIS_"))}
    env["EMBEDDING_PROVIDER"] = "bogus"
    result = run_main("embedding_service", env, tmp_path)  # no .env there
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "config error: EMBEDDING_PROVIDER: must be 'local' or 'gemini' (got 'bogus')"
    ]
