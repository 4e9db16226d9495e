"""``python -m discord_bot``: validate the settings, then run the bot until stopped."""

from __future__ import annotations

import asyncio
import logging
import sys

import discord
from pydantic import ValidationError

from discord_bot.bot import CompanionBot
from discord_bot.config import BotSettings


def main() -> int:
    try:
        settings = BotSettings()  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
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
