"""Proactive delivery: the push server the gateway calls, registration with the gateway and its heartbeat.

A push goes to the user's DMs; when those are closed (HTTP 403, code 50007) its ``channel_text`` (never its
``text``, which may quote what the user said in private) goes to the push's channel or the last server channel
the user talked in, with a mention, provided the user is still a member there; a push without a
``channel_text`` then fails. The bot keeps its own per-user limit on top of the gateway's rules.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands, tasks

from discord_bot import text
from discord_bot.gateway_client import GatewayError
from discord_bot.push_server import PushRequest, PushResult, PushServer, create_push_app
from discord_bot.ratelimit import SlidingWindowLimiter

if TYPE_CHECKING:
    from discord_bot.bot import CompanionBot

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
# The bot's own safety net (the gateway allows 3 a day, 4 h apart): at most this many pushes per user per hour.
PUSHES_PER_USER_PER_HOUR = 3
CANNOT_DM_USER = 50007


class Delivery(commands.Cog):
    def __init__(self, bot: CompanionBot) -> None:
        self.bot = bot
        self.limiter = SlidingWindowLimiter(PUSHES_PER_USER_PER_HOUR, 3600.0)
        self.registered = False
        app = create_push_app(bot.settings.bot_push_token.get_secret_value(), self.deliver, self.health)
        self.server = PushServer(app, bot.settings.bot_push_host, bot.push_port)

    async def cog_load(self) -> None:
        await self.server.start()
        self.heartbeat.start()

    async def cog_unload(self) -> None:
        self.heartbeat.cancel()
        await self.server.stop()

    def health(self) -> dict[str, object]:
        return {
            "discord_ready": self.bot.is_ready(),
            "registered": self.registered,
            "guilds": len(self.bot.guilds),
        }

    @tasks.loop(seconds=HEARTBEAT_SECONDS)
    async def heartbeat(self) -> None:
        """Register (first time, and after a failure) or heartbeat the push URL; never raises."""
        push_url = self.bot.settings.bot_push_public_url
        bot_id = self.bot.user.id if self.bot.user else None
        guilds = len(self.bot.guilds) if self.bot.is_ready() else None
        try:
            if self.registered:
                await self.bot.gateway.heartbeat(push_url, bot_user_id=bot_id, guilds=guilds)
            else:
                await self.bot.gateway.register(push_url, bot_user_id=bot_id, guilds=guilds)
                logger.info("registered push URL %s with the gateway", push_url)
        except GatewayError as exc:
            if self.registered or not getattr(self, "_warned", False):
                logger.warning(
                    "gateway registration failed (%s); retrying every %.0f s", exc.detail, HEARTBEAT_SECONDS
                )
            self._warned = True
            self.registered = False
            return
        self.registered = True
        self.limiter.forget_idle()

    async def deliver(self, push: PushRequest) -> PushResult:
        user_id = int(push.user_id)
        if not self.bot.is_ready():
            return PushResult("failed", "bot not connected to Discord yet")
        if not self.limiter.try_acquire(push.user_id):
            wait = self.limiter.retry_after(push.user_id)
            return PushResult(
                "failed",
                f"rate limited: {PUSHES_PER_USER_PER_HOUR} pushes per hour per user (retry in {wait:.0f} s)",
            )
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
        except discord.NotFound:
            return PushResult("failed", "unknown Discord user")
        except discord.HTTPException as exc:
            return PushResult("failed", f"Discord error looking up the user: {exc.status} {exc.text}")
        chunks = text.split_message(push.text)
        try:
            channel = user.dm_channel or await user.create_dm()
            sent = await _send_all(channel, chunks)
            return PushResult("delivered_dm", "", str(channel.id), str(sent.id))
        except discord.Forbidden as exc:
            dm_problem = "dms closed" if exc.code == CANNOT_DM_USER else f"dm refused ({exc.code})"
        except discord.HTTPException as exc:
            return PushResult("failed", f"Discord error sending the DM: {exc.status} {exc.text}")
        if push.channel_text is None:
            return PushResult(
                "failed", f"{dm_problem}; the message is for DMs only (not posted in a channel)"
            )
        return await self._deliver_in_channel(user, push, text.split_message(push.channel_text), dm_problem)

    async def _deliver_in_channel(
        self, user: discord.User, push: PushRequest, chunks: list[str], dm_problem: str
    ) -> PushResult:
        """``chunks`` are the push's channel-safe text, never its DM text."""
        candidates: list[int] = []
        for channel_id in (push.channel_id, self.bot.last_channels.get(user.id)):
            if channel_id is not None and int(channel_id) not in candidates:
                candidates.append(int(channel_id))
        reasons: list[str] = []
        for channel_id in candidates:
            channel = await self._guild_channel(channel_id)
            if channel is None:
                reasons.append(f"channel {channel_id} unavailable")
                continue
            if not await _is_member(channel.guild, user.id):
                reasons.append(f"user left the server of channel {channel_id}")
                continue
            try:
                sent = await _send_all(channel, [f"{user.mention} {chunks[0]}", *chunks[1:]])
            except discord.HTTPException as exc:
                reasons.append(f"channel {channel_id}: {exc.status} {exc.text}")
                continue
            return PushResult("delivered_channel", dm_problem, str(channel.id), str(sent.id))
        why = "; ".join(reasons) if reasons else "no channel known"
        return PushResult("failed", f"{dm_problem} and no shared channel ({why})")

    async def _guild_channel(self, channel_id: int) -> discord.TextChannel | discord.Thread | None:
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.bot.fetch_channel(channel_id)
            except discord.HTTPException:
                return None
        return channel if isinstance(channel, discord.TextChannel | discord.Thread) else None


async def _is_member(guild: discord.Guild, user_id: int) -> bool:
    if guild.get_member(user_id) is not None:
        return True
    try:
        await guild.fetch_member(user_id)
    except discord.NotFound:
        return False
    except discord.HTTPException:
        return False
    return True


async def _send_all(channel: discord.abc.Messageable, chunks: list[str]) -> discord.Message:
    """Send every chunk; the first message (what the gateway records) is returned."""
    first: discord.Message | None = None
    for chunk in chunks:
        sent = await channel.send(chunk[: text.DISCORD_MESSAGE_LIMIT])
        first = first or sent
        await asyncio.sleep(0)
    assert first is not None
    return first


async def setup(bot: CompanionBot) -> None:
    await bot.add_cog(Delivery(bot))
