"""``python -m discord_bot``: validate the settings, then run the bot until stopped."""

from __future__ import annotations

import asyncio
import logging
import sys

import aiohttp
import discord
from pydantic import ValidationError

from companion_common.validation import readable_message
from discord_bot.bot import CompanionBot
from discord_bot.config import BotSettings


def main() -> int:
    try:
        settings = BotSettings()  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = readable_message(first["msg"])
        # Rules over several fields (production secrets) name their variable themselves.
        line = f"{str(first['loc'][0]).upper()}: {message}" if first["loc"] else message
        print(f"config error: {line}", file=sys.stderr)
        return 2
    discord.utils.setup_logging(level=logging.INFO, root=True)
    try:
        asyncio.run(run(settings))
    except discord.LoginFailure:
        print("DISCORD_TOKEN was refused by Discord (see docs/discord.md)", file=sys.stderr)
        return 2
    except aiohttp.ClientConnectorError as exc:
        # No route to Discord (DNS, firewall, outage): one line instead of a traceback. Exit 1, so the
        # container's restart policy tries again later; the bot cannot work without Discord.
        reason = exc.os_error.strerror or str(exc.os_error)
        print(
            f"cannot reach Discord at {exc.host}:{exc.port} ({reason}): the bot needs outbound HTTPS to "
            "discord.com; it exits and its restart policy tries again",
            file=sys.stderr,
        )
        return 1
    except discord.PrivilegedIntentsRequired:
        print(
            "Discord refused the Message Content intent: enable it for the bot in the developer portal "
            "(docs/discord.md)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        pass
    return 0


async def run(settings: BotSettings) -> None:
    async with CompanionBot(settings) as bot:
        await bot.start(settings.discord_token.get_secret_value())


if __name__ == "__main__":
    sys.exit(main())
