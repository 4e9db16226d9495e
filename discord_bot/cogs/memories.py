"""``/memories``: search (with why each memory was recalled), recent (paged), forget (autocomplete).

In a server channel every subcommand shows only what was said in that channel; the rest (DMs, other
channels) is shown in a DM with the bot (docs/discord.md).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from discord_bot import text
from discord_bot.gateway_client import GatewayError, Json
from discord_bot.views import Pager

if TYPE_CHECKING:
    from discord_bot.bot import CompanionBot

logger = logging.getLogger(__name__)

PER_PAGE = 5
EMBED_COLOUR = discord.Colour.from_rgb(80, 160, 220)
CHANNEL_ONLY_NOTE = "Only what you said in this channel. DM me /memories to see everything else."


def channel_scope(interaction: discord.Interaction) -> int | None:
    """The channel whose memories may be shown here: None in a DM (all of them)."""
    return interaction.channel_id if interaction.guild_id is not None else None


def memory_line(memory: Json, reason: str | None = None) -> str:
    created = datetime.fromisoformat(memory["created_at"])
    who = {"user": "you", "assistant": "me"}.get(memory.get("speaker") or "", memory["memory_type"])
    line = (
        f"**{text.truncate(memory['content'], 180)}**\n"
        f"-# {who} · <t:{int(created.timestamp())}:R> · importance {memory['importance']:.2f} · "
        f"id `{str(memory['id'])[:8]}`"
    )
    if reason:
        line += f"\n-# why: {text.truncate(reason, 160)}"
    return line


def search_embed(
    query: str, results: list[Json], degraded: list[str], *, channel_only: bool = False
) -> discord.Embed:
    embed = discord.Embed(title=f"Memories about “{text.truncate(query, 80)}”", colour=EMBED_COLOUR)
    if not results:
        embed.description = "Nothing comes to mind."
    else:
        lines = [memory_line(result["memory"], result.get("reason")) for result in results]
        embed.description = text.join_lines(lines, 4000)
    footer = [CHANNEL_ONLY_NOTE] if channel_only else []
    if degraded:
        footer.append(f"partial recall: {', '.join(degraded)} unavailable")
    if footer:
        embed.set_footer(text=" · ".join(footer))
    return embed


def page_embed(
    kind: str, page: Json, page_index: int, pages: int, *, channel_only: bool = False
) -> discord.Embed:
    embed = discord.Embed(title=f"Recent {kind} memories", colour=EMBED_COLOUR)
    items = page["items"]
    embed.description = (
        text.join_lines([memory_line(item) for item in items], 4000) if items else "No memories yet."
    )
    footer = f"page {page_index + 1}/{pages} · {page['total']} in total"
    embed.set_footer(text=f"{footer} · {CHANNEL_ONLY_NOTE}" if channel_only else footer)
    return embed


def memory_choice(memory: Json) -> app_commands.Choice[str]:
    label = f"{text.truncate(memory['content'], 80)} ({str(memory['id'])[:8]})"
    return app_commands.Choice(name=label[:100], value=str(memory["id"]))


class Memories(commands.GroupCog, group_name="memories", group_description="What your companion remembers"):
    def __init__(self, bot: CompanionBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="search")
    @app_commands.describe(query="What to look for")
    async def search(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 500]) -> None:
        """Search your companion's memories of you, and see why each one came up."""
        scope = channel_scope(interaction)
        result = await self.bot.gateway.search_memories(interaction.user.id, query, k=5, channel_id=scope)
        embed = search_embed(
            query, result["results"], result.get("degraded", []), channel_only=scope is not None
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="recent")
    @app_commands.describe(kind="episodic: moments you shared; semantic: what it has learned about you")
    async def recent(
        self, interaction: discord.Interaction, kind: Literal["episodic", "semantic"] = "episodic"
    ) -> None:
        """Your companion's most recent memories of you, page by page."""
        user_id = interaction.user.id
        scope = channel_scope(interaction)

        async def fetch(page_index: int) -> tuple[discord.Embed, int]:
            page = await self.bot.gateway.list_memories(
                user_id, kind, limit=PER_PAGE, offset=page_index * PER_PAGE, channel_id=scope
            )
            clamped, _, pages = text.page_bounds(page["total"], page_index, PER_PAGE)
            return page_embed(kind, page, clamped, pages, channel_only=scope is not None), pages

        embed, pages = await fetch(0)
        view = Pager(interaction, fetch, pages, timeout=self.bot.pager_timeout)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @app_commands.command(name="forget")
    @app_commands.describe(memory="The memory to forget (start typing to pick one)")
    async def forget(self, interaction: discord.Interaction, memory: str) -> None:
        """Make your companion forget one memory."""
        try:
            memory_id = str(uuid.UUID(memory.strip()))
        except ValueError:
            await interaction.response.send_message(
                "Pick a memory from the list (or paste its full id).", ephemeral=True
            )
            return
        await self.bot.gateway.forget_memory(interaction.user.id, memory_id)
        await interaction.response.send_message("Forgotten. It won't come up again.", ephemeral=True)

    @forget.autocomplete("memory")
    async def forget_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            page = await self.bot.gateway.list_memories(
                interaction.user.id, "episodic", limit=50, channel_id=channel_scope(interaction)
            )
        except GatewayError:
            return []
        needle = current.strip().lower()
        items = [
            item
            for item in page["items"]
            if not needle or needle in item["content"].lower() or str(item["id"]).startswith(needle)
        ]
        return [memory_choice(item) for item in items[:25]]


async def setup(bot: CompanionBot) -> None:
    await bot.add_cog(Memories(bot))
