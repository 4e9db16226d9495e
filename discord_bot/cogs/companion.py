"""``/companion``: start, chat in a server channel, status, time zone, proactive opt-in, quiet hours, export,
reset."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from companion_common.visible_text import clean_name
from discord_bot import text
from discord_bot.gateway_client import Json, UserNotStarted
from discord_bot.views import Confirm

if TYPE_CHECKING:
    from discord_bot.bot import CompanionBot

Profile = Literal["curious_companion", "supportive_friend", "intellectual_mentor", "creative_collaborator"]


def profile_name(profile: str) -> str:
    """``creative_collaborator`` → ``Creative Collaborator``."""
    return profile.replace("_", " ").title()


EMBED_COLOUR = discord.Colour.from_rgb(125, 95, 255)


def _when(value: str | None) -> str:
    if not value:
        return "never"
    return f"<t:{int(datetime.fromisoformat(value).timestamp())}:R>"


def quiet_hours(start: int, end: int) -> str:
    """As the gateway reads them: from ``start`` to ``end``, wrapping midnight; equal hours mean none."""
    return "no quiet hours" if start == end else f"quiet {start:02d}:00–{end:02d}:00"


def status_embed(
    user: discord.abc.User, profile: Json, session: Json | None, security: Json | None
) -> discord.Embed:
    embed = discord.Embed(
        title=f"Your companion, {clean_name(user.display_name, 'friend')}", colour=EMBED_COLOUR
    )
    embed.add_field(name="Personality", value=profile_name(profile["personality_profile"]))
    embed.add_field(name="Time zone", value=profile["timezone"])
    embed.add_field(name="Messages", value=str(profile["total_interactions"]))
    proactive = "on" if profile["proactive_enabled"] else "off"
    embed.add_field(
        name="Proactive messages",
        value=f"{proactive} ({quiet_hours(profile['quiet_hours_start'], profile['quiet_hours_end'])})",
    )
    last_talked = _when(profile.get("last_active_at")) if profile["total_interactions"] else "not yet"
    embed.add_field(name="Last talked", value=last_talked)
    if session is not None:
        pad = session["pad"]
        embed.add_field(
            name=f"Mood: {session['emotion_label']}",
            value=(
                f"P {text.bar(pad['pleasure'])} {pad['pleasure']:+.2f}\n"
                f"A {text.bar(pad['arousal'])} {pad['arousal']:+.2f}\n"
                f"D {text.bar(pad['dominance'])} {pad['dominance']:+.2f}"
            ),
            inline=False,
        )
        embed.add_field(name="Today", value=f"{session['interactions_today']} messages")
    if security is not None and security.get("level", 0):
        embed.add_field(
            name="Standing", value=security.get("message") or security.get("label", ""), inline=False
        )
    return embed


class Companion(commands.GroupCog, group_name="companion", group_description="Your companion"):
    def __init__(self, bot: CompanionBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="init")
    @app_commands.describe(
        profile="The companion's personality",
        timezone="Your IANA time zone, e.g. Europe/Paris (start typing a city)",
    )
    async def init(
        self,
        interaction: discord.Interaction,
        profile: Profile = "curious_companion",
        timezone: str | None = None,
    ) -> None:
        """Meet your companion: choose its personality (while it's new) and tell it your time zone."""
        zone = None if timezone is None else text.resolve_timezone(timezone)
        if timezone is not None and zone is None:
            await interaction.response.send_message(text.unknown_timezone(timezone), ephemeral=True)
            return
        data = await self.bot.gateway.initialize(
            interaction.user.id, profile=profile, timezone=zone, username=interaction.user.name
        )
        snapshot = data["personality"]
        name = profile_name(snapshot.get("profile") or profile)
        embed = discord.Embed(
            title="Nice to meet you!",
            description=f"I'll be your {name.lower()} from now on.",
            colour=EMBED_COLOUR,
        )
        embed.add_field(name="Personality", value=name)
        embed.add_field(name="Mood", value=snapshot["emotion_label"])
        embed.add_field(name="Time zone", value=data["timezone"])
        embed.set_footer(text="Send me a DM any time — that's where I'm most myself.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="timezone")
    @app_commands.describe(zone="Your IANA time zone, e.g. Europe/Paris (start typing a city)")
    async def timezone(self, interaction: discord.Interaction, zone: str) -> None:
        """Your time zone: quiet hours and when your companion writes first follow it."""
        resolved = text.resolve_timezone(zone)
        if resolved is None:
            await interaction.response.send_message(text.unknown_timezone(zone), ephemeral=True)
            return
        profile = await self.bot.gateway.update_user(interaction.user.id, timezone=resolved)
        local = datetime.now(ZoneInfo(resolved)).strftime("%H:%M")
        await interaction.response.send_message(
            f"Got it — your time zone is {resolved} (it's {local} there now). Your quiet hours "
            f"({profile['quiet_hours_start']:02d}:00–{profile['quiet_hours_end']:02d}:00) and when I write "
            "first follow it.",
            ephemeral=True,
        )

    @init.autocomplete("timezone")
    @timezone.autocomplete("zone")
    async def _zones(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=zone, value=zone) for zone in text.timezone_choices(current)]

    @app_commands.command(name="chat")
    @app_commands.describe(message="What you want to say")
    async def chat(self, interaction: discord.Interaction, message: app_commands.Range[str, 1, 4000]) -> None:
        """Talk to your companion here, in this channel."""
        await interaction.response.defer(thinking=True)
        if interaction.guild is not None and interaction.channel_id is not None:
            self.bot.remember_channel(interaction.user.id, interaction.channel_id)
        reply = await self.bot.gateway.chat(
            interaction.user.id,
            message,
            username=interaction.user.name,
            channel_id=interaction.channel_id,
            is_dm=interaction.guild is None,
            guild_id=interaction.guild_id,
            message_id=interaction.id,
        )
        chunks = text.split_message(reply.display_text())
        quoted = f"> {text.truncate(message, 200)}\n"
        first = (
            quoted + chunks[0] if len(quoted) + len(chunks[0]) <= text.DISCORD_MESSAGE_LIMIT else chunks[0]
        )
        await interaction.followup.send(first)
        for chunk in chunks[1:]:
            await interaction.followup.send(chunk)

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Your companion's mood, your settings and how much you've talked."""
        profile = await self.bot.gateway.get_user(interaction.user.id)
        try:
            session: Json | None = await self.bot.gateway.session(interaction.user.id)
        except UserNotStarted:
            session = None
        try:
            security: Json | None = await self.bot.gateway.security_state(interaction.user.id)
        except UserNotStarted:
            security = None
        await interaction.response.send_message(
            embed=status_embed(interaction.user, profile, session, security), ephemeral=True
        )

    @app_commands.command(name="proactive")
    @app_commands.describe(state="on: your companion may write first; off: only when you write")
    async def proactive(self, interaction: discord.Interaction, state: Literal["on", "off"]) -> None:
        """Let your companion write to you first now and then (or not)."""
        await self.bot.gateway.update_user(interaction.user.id, proactive_enabled=state == "on")
        line = (
            "I'll reach out now and then — never during your quiet hours."
            if state == "on"
            else "Got it — I'll only write when you do."
        )
        await interaction.response.send_message(line, ephemeral=True)

    @app_commands.command(name="quiet-hours")
    @app_commands.rename(start="from", end="to")
    @app_commands.describe(
        start="Start hour in your time zone (e.g. 22 or 10pm)", end="End hour (e.g. 8 or 8am)"
    )
    async def quiet_hours(self, interaction: discord.Interaction, start: str, end: str) -> None:
        """Hours (in your time zone) when your companion never writes first; the same hour twice: none."""
        try:
            first, last = text.parse_hour(start), text.parse_hour(end)
        except ValueError as exc:
            await interaction.response.send_message(f"Hmm, {exc}.", ephemeral=True)
            return
        profile = await self.bot.gateway.update_user(
            interaction.user.id, quiet_hours_start=first, quiet_hours_end=last
        )
        line = (
            "No quiet hours, then (from and to are the same hour): I may write at any time of day."
            if first == last
            else f"Quiet from {first:02d}:00 to {last:02d}:00 ({profile['timezone']}). Sleep well!"
        )
        await interaction.response.send_message(line, ephemeral=True)

    @app_commands.command(name="export")
    async def export(self, interaction: discord.Interaction) -> None:
        """Everything your companion keeps about you, as a JSON file (only you see it)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        raw = await self.bot.gateway.export_user(interaction.user.id)
        pretty = json.dumps(json.loads(raw), indent=2, ensure_ascii=False).encode()
        limit = interaction.filesize_limit or 8 * 1024 * 1024
        data = pretty if len(pretty) <= limit else raw
        if len(data) > limit:
            await interaction.followup.send(
                f"Your export is {len(data) / 1e6:.1f} MB, over Discord's {limit / 1e6:.0f} MB limit for files. "
                "Ask the administrator for it (GET /api/users/<id>/export).",
                ephemeral=True,
            )
            return
        file = discord.File(io.BytesIO(data), filename=f"companion-export-{interaction.user.id}.json")
        await interaction.followup.send("Here's everything I keep about you.", file=file, ephemeral=True)

    @app_commands.command(name="reset")
    async def reset(self, interaction: discord.Interaction) -> None:
        """Delete everything your companion knows about you — memories, mood, history. Asks first."""
        await self.bot.gateway.get_user(interaction.user.id)  # 404 for someone never met: nothing to delete
        user_id = interaction.user.id

        async def delete() -> str:
            result = await self.bot.gateway.delete_user(user_id)
            pending = result.get("pending") or []
            note = f" ({', '.join(pending)} will be retried)" if pending else ""
            return f"Done. Everything about you is gone{note}. If you write again, we'll start fresh."

        view = Confirm(
            interaction, delete, confirm_label="Delete everything", timeout=self.bot.confirm_timeout
        )
        await interaction.response.send_message(
            "This deletes **everything** I know about you — memories, mood, history. It can't be undone. Sure?",
            view=view,
            ephemeral=True,
        )


async def setup(bot: CompanionBot) -> None:
    await bot.add_cog(Companion(bot))
