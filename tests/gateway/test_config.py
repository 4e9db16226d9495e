from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from gateway.config import ConfigError, Environment, Settings
from tests.servers import run_main

REPO = Path(__file__).resolve().parents[2]
DB_PASSWORD = secrets.token_hex(32)
DSN = f"postgresql://companion:{DB_PASSWORD}@localhost:5432/companion"
REDIS = f"redis://:{secrets.token_hex(32)}@localhost:6379/0"
STRONG_TOKEN = secrets.token_hex(32)
STRONG_ADMIN = secrets.token_hex(32)
STRONG_PUSH = secrets.token_urlsafe(32)  # the local stack's generator


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", DSN)
    for name in (
        "ENVIRONMENT",
        "GATEWAY_SERVICE_TOKEN",
        "ADMIN_API_KEY",
        "BOT_PUSH_TOKEN",
        "REDIS_URL",
        "QDRANT_API_KEY",
        "PAD_DRIFT_RATE",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def production(env: pytest.MonkeyPatch, token: str = STRONG_TOKEN, admin: str = STRONG_ADMIN) -> None:
    """Production with a strong generated value for every secret of ours."""
    env.setenv("ENVIRONMENT", "production")
    env.setenv("GATEWAY_SERVICE_TOKEN", token)
    env.setenv("ADMIN_API_KEY", admin)
    env.setenv("BOT_PUSH_TOKEN", STRONG_PUSH)
    env.setenv("REDIS_URL", REDIS)


def test_development_defaults_take_the_development_profile(env: pytest.MonkeyPatch) -> None:
    """With only DATABASE_URL set, the gateway runs as development with that profile's numbers."""
    settings = Settings.load(env_file=None)
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.tuning.pad_drift_rate == 0.02


def test_missing_database_url_names_the_variable(env: pytest.MonkeyPatch) -> None:
    """No DATABASE_URL: the error says which variable is missing."""
    env.delenv("DATABASE_URL")
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: is required but not set$"):
        Settings.load(env_file=None)


def test_sqlalchemy_style_dsn_is_rejected(env: pytest.MonkeyPatch) -> None:
    """The plan's postgresql+asyncpg:// URL is refused with the rule stated, and the secret is not echoed."""
    env.setenv("DATABASE_URL", "postgresql+asyncpg://u:hunter2@db/companion")
    with pytest.raises(ConfigError, match="DATABASE_URL: must start with postgresql://") as excinfo:
        Settings.load(env_file=None)
    assert "hunter2" not in str(excinfo.value)


def test_bad_port_names_the_variable(env: pytest.MonkeyPatch) -> None:
    """A malformed number names its variable."""
    env.setenv("GATEWAY_PORT", "eighty")
    with pytest.raises(ConfigError, match=r"^GATEWAY_PORT: "):
        Settings.load(env_file=None)


def test_a_proactive_check_interval_that_does_not_divide_the_hour_is_refused(env: pytest.MonkeyPatch) -> None:
    """Replicas fire the check at the same wall-clock minutes; 7 would not repeat every hour, so it is refused
    with the allowed values named, and a divisor is taken."""
    env.setenv("PROACTIVE_CHECK_MINUTES", "7")
    with pytest.raises(ConfigError, match=r"^PROACTIVE_CHECK_MINUTES: .*must divide 60"):
        Settings.load(env_file=None)
    env.setenv("PROACTIVE_CHECK_MINUTES", "15")
    assert Settings.load(env_file=None).proactive.check_minutes == 15


@pytest.mark.parametrize(
    ("token", "admin", "variable"),
    [
        ("", STRONG_ADMIN, "GATEWAY_SERVICE_TOKEN"),
        ("change-me", STRONG_ADMIN, "GATEWAY_SERVICE_TOKEN"),
        (STRONG_TOKEN, "", "ADMIN_API_KEY"),
        (STRONG_TOKEN, "short-admin-key", "ADMIN_API_KEY"),
        (STRONG_TOKEN, STRONG_TOKEN, "ADMIN_API_KEY"),
    ],
)
def test_production_refuses_weak_secrets(
    env: pytest.MonkeyPatch, token: str, admin: str, variable: str
) -> None:
    """Production refuses empty, default, short or shared secrets and names the variable."""
    production(env, token, admin)
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        Settings.load(env_file=None)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("DATABASE_URL", "postgresql://companion:x@db/companion", "has a password that is shorter than 24"),
        ("DATABASE_URL", "postgresql://companion:change-me@db/companion", "is a placeholder"),
        ("DATABASE_URL", "postgresql://companion:<password>@db/companion", "is a placeholder"),
        ("DATABASE_URL", "postgresql://companion@db/companion", "has no password"),
        ("BOT_PUSH_TOKEN", "", "is empty"),
        ("BOT_PUSH_TOKEN", "changeme", "is a placeholder"),
        ("REDIS_URL", "redis://localhost:6379/0", "has no password"),
        ("REDIS_URL", "redis://:hunter2@redis:6379/0", "has a password that is shorter than 24"),
        ("GATEWAY_SERVICE_TOKEN", "change-me-change-me-change-me", "placeholder word 'changeme'"),
        ("GATEWAY_SERVICE_TOKEN", "a" * 24, "uses only 1 distinct characters"),
        ("ADMIN_API_KEY", "k9Xq2Lm" * 4, "repeats a 7-character unit"),
        ("ADMIN_API_KEY", "your-admin-api-key-goes-here", "is a placeholder"),
        ("ADMIN_API_KEY", "abcdefghijklmnopqrstuvwxyz", "is a run of consecutive characters"),
        ("BOT_PUSH_TOKEN", "my-very-own-push-SECRET-2026", "placeholder word 'secret'"),
        ("QDRANT_API_KEY", "password", "is a placeholder"),
        ("BOT_PUSH_TOKEN", STRONG_TOKEN, "must differ from GATEWAY_SERVICE_TOKEN"),
    ],
)
def test_production_refuses_each_weak_secret(
    env: pytest.MonkeyPatch, variable: str, value: str, reason: str
) -> None:
    """Every weak case is refused in one line naming the variable and why, without echoing the value."""
    production(env)
    env.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"^{variable}: ") as excinfo:
        Settings.load(env_file=None)
    message = str(excinfo.value)
    assert reason in message and "\n" not in message
    if variable.endswith("_URL"):
        assert "hunter2" not in message and ":x@" not in message


def test_development_accepts_weak_secrets(env: pytest.MonkeyPatch) -> None:
    """Outside production anything goes: weak, empty or shared secrets and password-less URLs."""
    env.setenv("DATABASE_URL", "postgresql://companion:x@localhost/companion")
    env.setenv("GATEWAY_SERVICE_TOKEN", "changeme")
    env.setenv("ADMIN_API_KEY", "changeme")
    env.setenv("BOT_PUSH_TOKEN", "")
    env.setenv("REDIS_URL", "redis://localhost:6379/0")
    assert Settings.load(env_file=None).environment is Environment.DEVELOPMENT


def test_production_accepts_a_generated_set_on_unix_sockets(env: pytest.MonkeyPatch) -> None:
    """Strong tokens start production; a database or Redis reached over a Unix socket needs no password."""
    production(env)
    env.setenv("DATABASE_URL", "postgresql:///companion?host=/var/run/postgresql")
    env.setenv("REDIS_URL", "unix:///run/redis/redis.sock?db=0")
    assert Settings.load(env_file=None).environment is Environment.PRODUCTION


def test_gateway_process_refuses_a_weak_secret_in_one_line(tmp_path: os.PathLike[str]) -> None:
    """`python -m gateway` in production with a weak BOT_PUSH_TOKEN prints one line naming it, exits 2."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),  # this checkout's gateway, whatever the installed one
        "ENVIRONMENT": "production",
        "DATABASE_URL": DSN,
        "REDIS_URL": REDIS,
        "GATEWAY_SERVICE_TOKEN": STRONG_TOKEN,
        "ADMIN_API_KEY": STRONG_ADMIN,
        "BOT_PUSH_TOKEN": "changeme",
    }
    result = run_main("gateway", env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: BOT_PUSH_TOKEN: is a placeholder; production needs a strong secret "
        "(generate one with `openssl rand -hex 32`)"
    ]


def test_production_with_real_secrets_uses_production_profile(env: pytest.MonkeyPatch) -> None:
    """Good secrets start production with the production profile's numbers."""
    production(env)
    settings = Settings.load(env_file=None)
    assert settings.tuning.pad_drift_rate == 0.01


def test_testing_profile_drift_sits_on_the_limit(env: pytest.MonkeyPatch) -> None:
    """The testing profile's drift of 0.05 is accepted (the limit rejects only values above it)."""
    env.setenv("ENVIRONMENT", "testing")
    assert Settings.load(env_file=None).tuning.pad_drift_rate == 0.05


def test_explicit_tuning_overrides_profile_and_is_checked(env: pytest.MonkeyPatch) -> None:
    """An explicit value beats the profile, and the limit still applies."""
    env.setenv("PAD_DRIFT_RATE", "0.03")
    assert Settings.load(env_file=None).tuning.pad_drift_rate == 0.03
    env.setenv("PAD_DRIFT_RATE", "0.08")
    with pytest.raises(ConfigError, match=r"PAD_DRIFT_RATE must be at most 0\.05"):
        Settings.load(env_file=None)


REMOVED_VARIABLES = {
    "CHAT_MAX_MESSAGE_CHARS": "10",
    "INJECTION_CONFIDENCE_THRESHOLD": "0.1",
    "MEMORY_CONSOLIDATION_BATCH_SIZE": "500",
    "MEMORY_IMPORTANCE_THRESHOLD": "0.3",
    "RATE_LIMIT_BURST": "500",
    "RATE_LIMIT_REQUESTS_PER_MINUTE": "1",
}


def test_removed_variables_are_ignored(env: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    """Variables the gateway no longer has, left in the environment or in .env, do not stop it starting."""
    env_file = os.path.join(tmp_path, ".env")
    with open(env_file, "w") as handle:
        handle.writelines(f"{name}={value}\n" for name, value in REMOVED_VARIABLES.items())
    for name, value in REMOVED_VARIABLES.items():
        env.setenv(name, value)
    assert Settings.load(env_file=env_file).tuning.pad_drift_rate == 0.02


def test_env_file_is_read(env: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    """Values come from the .env file when the process environment lacks them."""
    env.delenv("DATABASE_URL")
    env_file = os.path.join(tmp_path, ".env")
    with open(env_file, "w") as handle:
        handle.write(f"DATABASE_URL={DSN}\nGATEWAY_PORT=8123\n")
    settings = Settings.load(env_file=env_file)
    assert settings.server.port == 8123


def test_gateway_process_exits_with_one_line(tmp_path: os.PathLike[str]) -> None:
    """`python -m gateway` with a bad setting prints one line naming the variable and exits 2."""
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": "mysql://nope", "HOME": str(tmp_path)}
    result = run_main("gateway", env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: DATABASE_URL: must start with postgresql:// "
        "(a plain libpq URL; no +asyncpg driver suffix)"
    ]


@pytest.mark.parametrize(
    "variable", ["EMBEDDING_SERVICE_URL", "GROQ_BASE_URL", "LLM_BASE_URL", "LETTA_SERVER_URL", "QDRANT_URL"]
)
@pytest.mark.parametrize("url", ["http://[::1", "http://host:99999", "http://:8080", "http://host:8080#x"])
def test_base_urls_httpx_cannot_call_are_refused(env: pytest.MonkeyPatch, variable: str, url: str) -> None:
    """Every base-URL setting goes through one parser: a URL httpx would choke on stops the start."""
    env.setenv(variable, url)
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        Settings.load(env_file=None)
