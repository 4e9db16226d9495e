"""``/personality``: current traits and mood, mood history as a chart, quirks, needs."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import discord
from discord import app_commands
from discord.ext import commands

from discord_bot import text
from discord_bot.charts import PadPoint, render_pad_history
from discord_bot.gateway_client import Json

if TYPE_CHECKING:
    from discord_bot.bot import CompanionBot

EMBED_COLOUR = discord.Colour.from_rgb(240, 140, 90)
TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")


def pad_lines(pad: Json) -> str:
    return "\n".join(
        f"{name[0].upper()} {text.bar(pad[name])} {pad[name]:+.2f}"
        for name in ("pleasure", "arousal", "dominance")
    )


def current_embed(snapshot: Json) -> discord.Embed:
    embed = discord.Embed(
        title=f"Feeling {snapshot['emotion_label']}",
        description=f"Personality: {snapshot['profile'].replace('_', ' ')}",
        colour=EMBED_COLOUR,
    )
    traits = snapshot["big_five"]
    embed.add_field(
        name="Big Five",
        value="\n".join(
            f"`{trait[:5]:<5}` {text.bar(traits[trait], low=0.0)} {traits[trait]:.2f}" for trait in TRAITS
        ),
        inline=False,
    )
    embed.add_field(name="Mood now", value=pad_lines(snapshot["pad_state"]))
    embed.add_field(name="Baseline", value=pad_lines(snapshot["pad_baseline"]))
    return embed


def history_points(history: Json) -> list[PadPoint]:
    return [
        PadPoint(
            at=datetime.fromisoformat(item["timestamp"]),
            pleasure=item["pad_state"]["pleasure"],
            arousal=item["pad_state"]["arousal"],
            dominance=item["pad_state"]["dominance"],
        )
        for item in history["items"]
    ]


def user_time_zone(profile: Json) -> tzinfo:
    """The user's time zone from their gateway profile (the gateway accepts only IANA names)."""
    try:
        return ZoneInfo(profile.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def quirks_embed(quirks: list[Json]) -> discord.Embed:
    embed = discord.Embed(title="Quirks", colour=EMBED_COLOUR)
    active = [quirk for quirk in quirks if quirk.get("is_active", True)]
    if not active:
        embed.description = "No quirks yet — they grow out of our conversations."
        return embed
    lines = [
        f"**{quirk['quirk_type'].replace('_', ' ')}** {text.bar(quirk['strength'], low=0.0, width=5)} "
        f"{text.truncate(quirk['description'], 150)}"
        for quirk in sorted(active, key=lambda quirk: -quirk["strength"])
    ]
    embed.description = text.join_lines(lines, 4000)
    return embed


def needs_embed(needs: list[Json]) -> discord.Embed:
    embed = discord.Embed(title="Needs", colour=EMBED_COLOUR)
    for need in needs:
        marker = " ⚠️" if need.get("urgent") else ""
        embed.add_field(
            name=f"{need['need_type']}{marker}",
            value=f"{text.bar(need['current_level'], low=0.0)} {need['current_level']:.2f}",
            inline=False,
        )
    if not needs:
        embed.description = "No needs recorded yet."
    return embed


class Personality(
    commands.GroupCog, group_name="personality", group_description="Your companion's personality"
):
    def __init__(self, bot: CompanionBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="current")
    async def current(self, interaction: discord.Interaction) -> None:
        """Your companion's traits and how it feels right now."""
        snapshot = await self.bot.gateway.personality(interaction.user.id)
        await interaction.response.send_message(embed=current_embed(snapshot), ephemeral=True)

    @app_commands.command(name="history")
    @app_commands.describe(days="How many days back (1–90)")
    async def history(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 90] = 7
    ) -> None:
        """A chart of your companion's mood (pleasure, arousal, dominance) over the last days."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        history = await self.bot.gateway.personality_history(interaction.user.id, days)
        points = history_points(history)
        if not points:
            await interaction.followup.send(f"No mood changes in the last {days} days.", ephemeral=True)
            return
        title = f"Mood over the last {days} day{'s' if days != 1 else ''}"
        profile = await self.bot.gateway.get_user(interaction.user.id)
        png = await asyncio.to_thread(render_pad_history, points, title=title, tz=user_time_zone(profile))
        embed = discord.Embed(title=title, colour=EMBED_COLOUR, description=f"{len(points)} mood changes")
        embed.set_image(url="attachment://mood.png")
        await interaction.followup.send(
            embed=embed, file=discord.File(io.BytesIO(png), filename="mood.png"), ephemeral=True
        )

    @app_commands.command(name="quirks")
    async def quirks(self, interaction: discord.Interaction) -> None:
        """The little habits your companion has picked up."""
        quirks = await self.bot.gateway.quirks(interaction.user.id)
        await interaction.response.send_message(embed=quirks_embed(quirks), ephemeral=True)

    @app_commands.command(name="needs")
    async def needs(self, interaction: discord.Interaction) -> None:
        """What your companion is longing for right now (social, intellectual, creative, rest, validation)."""
        needs = await self.bot.gateway.needs(interaction.user.id)
        await interaction.response.send_message(embed=needs_embed(needs), ephemeral=True)


async def setup(bot: CompanionBot) -> None:
    await bot.add_cog(Personality(bot))
