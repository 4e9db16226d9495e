"""Bot settings: URLs the gateway would refuse, and weak tokens in production, are refused at start."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from discord_bot.config import BotSettings
from tests.servers import run_main

REPO = Path(__file__).resolve().parents[2]


def bot_settings(**values: object) -> BotSettings:
    required: dict[str, object] = {
        "discord_token": "discord-token",
        "gateway_service_token": "service-token",
        "bot_push_token": "push-token",
    }
    return BotSettings(_env_file=None, **{**required, **values})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://discord_bot:99999", "http://u:p@discord_bot:8091", "http://:8091"]
)
def test_unusable_push_public_url_is_refused(url: str) -> None:
    """A BOT_PUSH_PUBLIC_URL the gateway could not call (or would refuse) stops the bot at start."""
    with pytest.raises(ValidationError, match="bot_push_public_url"):
        bot_settings(bot_push_public_url=url)


def test_plain_push_public_url_is_kept() -> None:
    """The compose URL passes, without its trailing slash."""
    assert bot_settings(bot_push_public_url="http://discord_bot:8091/").bot_push_public_url == (
        "http://discord_bot:8091"
    )


STRONG = {
    "gateway_service_token": secrets.token_hex(32),
    "bot_push_token": secrets.token_hex(32),
    "admin_api_key": secrets.token_hex(32),
}


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("bot_push_token", "changeme", "is a placeholder"),
        ("bot_push_token", "b" * 24, "uses only 1 distinct characters"),
        ("gateway_service_token", "change-me-change-me-change-me", "contains the placeholder word"),
        ("admin_api_key", "short", "is shorter than 24"),
    ],
)
def test_production_refuses_weak_tokens(variable: str, value: str, reason: str) -> None:
    """In production each weak token the bot holds is refused with its variable named."""
    with pytest.raises(ValidationError, match=f"{variable.upper()}: {reason}"):
        bot_settings(environment="production", **{**STRONG, variable: value})


def test_production_accepts_generated_tokens_and_no_admin_key() -> None:
    """Generated tokens pass; an empty ADMIN_API_KEY (admin off Discord) is allowed."""
    settings = bot_settings(environment="production", **{**STRONG, "admin_api_key": ""})
    assert settings.environment == "production"


def test_development_accepts_weak_tokens() -> None:
    """Outside production the bot starts with any token (the tests' own, for one)."""
    assert bot_settings(bot_push_token="changeme").environment == "development"


def test_bot_process_names_the_weak_variable_in_one_line(tmp_path: Path) -> None:
    """`python -m discord_bot` in production with a weak BOT_PUSH_TOKEN prints one line and exits 2."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "ENVIRONMENT": "production",
        "DISCORD_TOKEN": "discord-token",
        "GATEWAY_SERVICE_TOKEN": STRONG["gateway_service_token"],
        "BOT_PUSH_TOKEN": "changeme",
    }
    result = run_main("discord_bot", env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: BOT_PUSH_TOKEN: is a placeholder; production needs a strong secret "
        "(generate one with `openssl rand -hex 32`)"
    ]
