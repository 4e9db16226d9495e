"""``CompanionBot``: a ``commands.Bot`` whose ``setup_hook`` loads one cog per feature and syncs the slash
commands (to ``DISCORD_GUILD_ID`` when set, globally otherwise). App-command errors answer ephemerally."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from discord_bot import text
from discord_bot.config import BotSettings
from discord_bot.gateway_client import GatewayClient, GatewayError, user_message
from discord_bot.views import CONFIRM_TIMEOUT_SECONDS, PAGER_TIMEOUT_SECONDS, Expired

logger = logging.getLogger(__name__)

EXTENSIONS = (
    "discord_bot.cogs.conversation",
    "discord_bot.cogs.companion",
    "discord_bot.cogs.memories",
    "discord_bot.cogs.personality",
    "discord_bot.cogs.admin",
    "discord_bot.cogs.delivery",
)
# Users whose last server channel the bot remembers (for proactive fallbacks); the oldest are dropped.
MAX_REMEMBERED_CHANNELS = 100_000


def bot_intents() -> discord.Intents:
    intents = discord.Intents.default()  # guilds, guild and DM messages; no members or presences
    intents.message_content = True  # read replies to the bot in servers (docs/discord.md)
    return intents


async def tell_privately(interaction: discord.Interaction, message: str) -> None:
    """An ephemeral answer, whatever the command did first. After a public deferral (``/companion chat``)
    the first follow-up would replace the public "thinking…" message and stay public (Discord keeps the
    deferral's visibility), so that message is deleted first and the follow-up is a new, ephemeral one. Where
    Discord takes that follow-up for an edit of the deleted message (10008 Unknown Message), the user is told
    in a DM instead: private either way, never silence."""
    if not interaction.response.is_done():
        await interaction.response.send_message(message, ephemeral=True)
        return
    deleted = False
    if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
        original = await interaction.original_response()
        if original.flags.loading and not original.flags.ephemeral:
            await original.delete()
            deleted = True
    try:
        await interaction.followup.send(message, ephemeral=True)
    except discord.NotFound:
        if not deleted:
            raise
        await interaction.user.send(message)


class CompanionTree(app_commands.CommandTree["CompanionBot"]):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await self.client.on_app_command_error(interaction, error)


class CompanionBot(commands.Bot):
    def __init__(
        self,
        settings: BotSettings,
        *,
        gateway: GatewayClient | None = None,
        push_port: int | None = None,
        confirm_timeout: float = CONFIRM_TIMEOUT_SECONDS,
        pager_timeout: float = PAGER_TIMEOUT_SECONDS,
        **options: Any,
    ) -> None:
        options.setdefault("intents", bot_intents())
        options.setdefault("chunk_guilds_at_startup", False)
        options.setdefault(
            "allowed_mentions", discord.AllowedMentions(everyone=False, roles=False, users=True)
        )
        super().__init__(
            command_prefix=commands.when_mentioned, help_command=None, tree_cls=CompanionTree, **options
        )
        self.settings = settings
        self.gateway = gateway or GatewayClient(
            settings.gateway_url,
            settings.gateway_service_token.get_secret_value(),
            admin_key=settings.admin_api_key.get_secret_value(),
        )
        self.push_port = settings.bot_push_port if push_port is None else push_port
        # How long confirmation and pager buttons work (seconds); then they are disabled on the message.
        self.confirm_timeout = confirm_timeout
        self.pager_timeout = pager_timeout
        self.last_channels: OrderedDict[int, int] = OrderedDict()
        self.failed_extensions: list[str] = []

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            try:
                await self.load_extension(extension)
            except Exception:
                self.failed_extensions.append(extension)
                logger.exception("failed to load extension %s", extension)
        self.add_view(Expired())
        await self.sync_commands()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        guild_id = self.settings.discord_guild_id
        if guild_id is None:
            synced = await self.tree.sync()
        else:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        logger.info("synced %d slash commands to %s", len(synced), guild_id or "every guild (global)")
        return synced

    async def on_ready(self) -> None:
        logger.info("Bot is ready as %s in %d guilds", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: the conversation cog answers messages (so nothing runs twice)."""

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.admin_ids

    def remember_channel(self, user_id: int, channel_id: int) -> None:
        """The last server channel a user talked to the bot in: the fallback when their DMs are closed."""
        self.last_channels[user_id] = channel_id
        self.last_channels.move_to_end(user_id)
        while len(self.last_channels) > MAX_REMEMBERED_CHANNELS:
            self.last_channels.popitem(last=False)

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, GatewayError):
            message = user_message(original)
            logger.warning(
                "/%s: gateway said %s %s: %s",
                interaction.command.qualified_name if interaction.command else "?",
                original.status,
                original.error,
                original.detail,
            )
        elif isinstance(error, app_commands.CheckFailure):
            message = text.ADMIN_ONLY
        else:
            message = text.GENERIC_FAILURE
            logger.exception("app command failed", exc_info=original)
        try:
            await tell_privately(interaction, message)
        except discord.HTTPException as exc:
            logger.warning("could not tell the user about the error: %s", exc)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self.gateway.aclose()
