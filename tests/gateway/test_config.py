from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gateway.config import ConfigError, Environment, Settings

DSN = "postgresql://companion:a-real-password-123@localhost:5432/companion"
STRONG_TOKEN = "s" * 40
STRONG_ADMIN = "a" * 40


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", DSN)
    for name in (
        "ENVIRONMENT",
        "GATEWAY_SERVICE_TOKEN",
        "ADMIN_API_KEY",
        "PAD_DRIFT_RATE",
        "RATE_LIMIT_BURST",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def production(env: pytest.MonkeyPatch, token: str = STRONG_TOKEN, admin: str = STRONG_ADMIN) -> None:
    env.setenv("ENVIRONMENT", "production")
    env.setenv("GATEWAY_SERVICE_TOKEN", token)
    env.setenv("ADMIN_API_KEY", admin)


def test_development_defaults_take_the_development_profile(env: pytest.MonkeyPatch) -> None:
    """With only DATABASE_URL set, the gateway runs as development with that profile's numbers."""
    settings = Settings.load(env_file=None)
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.tuning.injection_confidence_threshold == 0.5
    assert settings.tuning.memory_consolidation_batch_size == 20


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


def test_production_refuses_default_database_password(env: pytest.MonkeyPatch) -> None:
    """A database password copied from the example file is refused in production."""
    production(env)
    env.setenv("DATABASE_URL", "postgresql://companion:change-me@db/companion")
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: "):
        Settings.load(env_file=None)


def test_production_with_real_secrets_uses_production_profile(env: pytest.MonkeyPatch) -> None:
    """Good secrets start production with the plan's production numbers."""
    production(env)
    settings = Settings.load(env_file=None)
    assert settings.tuning.injection_confidence_threshold == 0.7
    assert settings.tuning.pad_drift_rate == 0.01


def test_testing_profile_drift_sits_on_the_limit(env: pytest.MonkeyPatch) -> None:
    """The testing profile's drift of 0.05 is accepted (the limit rejects only values above it)."""
    env.setenv("ENVIRONMENT", "testing")
    assert Settings.load(env_file=None).tuning.pad_drift_rate == 0.05


def test_explicit_tuning_overrides_profile_and_is_checked(env: pytest.MonkeyPatch) -> None:
    """An explicit value beats the profile, and the plan's cross-field rules still apply."""
    env.setenv("PAD_DRIFT_RATE", "0.03")
    assert Settings.load(env_file=None).tuning.pad_drift_rate == 0.03
    env.setenv("PAD_DRIFT_RATE", "0.08")
    with pytest.raises(ConfigError, match=r"PAD_DRIFT_RATE must be at most 0\.05"):
        Settings.load(env_file=None)
    env.setenv("PAD_DRIFT_RATE", "0.01")
    env.setenv("RATE_LIMIT_BURST", "500")
    with pytest.raises(ConfigError, match="RATE_LIMIT_BURST"):
        Settings.load(env_file=None)


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
    result = subprocess.run(
        [sys.executable, "-m", "gateway"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: DATABASE_URL: must start with postgresql:// "
        "(a plain libpq URL; no +asyncpg driver suffix)"
    ]
