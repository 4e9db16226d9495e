"""Bot settings: URLs the gateway would refuse are refused at start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from discord_bot.config import BotSettings


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
