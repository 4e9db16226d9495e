"""Conversation: DMs, and mentions or replies in servers (the mention stripped). One lock per user, so a
user's messages are answered one at a time and in order; typing shows while the gateway works."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from companion_common.visible_text import clean_name, is_invisible_only
from discord_bot import text
from discord_bot.gateway_client import GatewayError, user_message
from discord_bot.ratelimit import KeyedLocks

if TYPE_CHECKING:
    from discord_bot.bot import CompanionBot

logger = logging.getLogger(__name__)


@asynccontextmanager
async def typing(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Typing while the body runs; a channel that refuses typing just gets none."""
    indicator = channel.typing()
    try:
        await indicator.__aenter__()
    except discord.HTTPException as exc:
        logger.debug("typing refused: %s", exc)
        yield
        return
    try:
        yield
    finally:
        await indicator.__aexit__(None, None, None)


async def send_reply(message: discord.Message, reply: str) -> list[discord.Message]:
    """The reply in chunks under Discord's limit; in a server the first chunk replies to the message."""
    sent: list[discord.Message] = []
    for index, chunk in enumerate(text.split_message(reply)):
        if index == 0 and message.guild is not None:
            sent.append(await message.reply(chunk, mention_author=False))
        else:
            sent.append(await message.channel.send(chunk))
    return sent


def addressed_to(bot_user: discord.abc.User, message: discord.Message) -> bool:
    """A DM, a mention of the bot, or a reply to one of the bot's messages."""
    if message.guild is None:
        return True
    if any(user.id == bot_user.id for user in message.mentions):
        return True
    reference = message.reference
    resolved = reference.resolved if reference is not None else None
    return isinstance(resolved, discord.Message) and resolved.author.id == bot_user.id


def message_text(bot_user: discord.abc.User, message: discord.Message) -> str:
    """The content without the bot's mention; other users' mentions become their names."""
    content = text.strip_mentions(message.content, bot_user.id)
    for user in message.mentions:
        if user.id != bot_user.id:
            name = clean_name(user.display_name, str(user.id))
            content = content.replace(f"<@{user.id}>", f"@{name}")
            content = content.replace(f"<@!{user.id}>", f"@{name}")
    return content.strip()


class Conversation(commands.Cog):
    def __init__(self, bot: CompanionBot) -> None:
        self.bot = bot
        self.locks = KeyedLocks()

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        bot_user = self.bot.user
        if bot_user is None or message.author.bot or message.author.id == bot_user.id:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        if not addressed_to(bot_user, message):
            return
        if message.guild is not None:
            self.bot.remember_channel(message.author.id, message.channel.id)
        content = message_text(bot_user, message)
        if is_invisible_only(content):
            await send_reply(message, text.ATTACHMENTS_ONLY if message.attachments else text.EMPTY_MESSAGE)
            return
        if len(content) > text.GATEWAY_MESSAGE_LIMIT:
            await send_reply(message, text.too_long(len(content)))
            return
        async with self.locks.hold(str(message.author.id)):
            reply = await self.answer(message, content)
            await send_reply(message, reply)

    async def answer(self, message: discord.Message, content: str) -> str:
        try:
            async with typing(message.channel):
                result = await self.bot.gateway.chat(
                    message.author.id,
                    content,
                    username=message.author.name,
                    channel_id=message.channel.id,
                    is_dm=message.guild is None,
                    guild_id=message.guild.id if message.guild is not None else None,
                    message_id=message.id,
                )
        except GatewayError as exc:
            logger.warning("chat for %s failed: %s %s", message.author.id, exc.status, exc.detail)
            return user_message(exc)
        return result.display_text()


async def setup(bot: CompanionBot) -> None:
    await bot.add_cog(Conversation(bot))
