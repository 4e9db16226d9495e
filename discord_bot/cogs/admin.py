"""``/admin``: stats, incidents and resetting a user, for the ids in ``DISCORD_ADMIN_IDS`` only (the bot
calls the gateway's /api/admin routes with ``ADMIN_API_KEY``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from discord_bot import text
from discord_bot.gateway_client import Json
from discord_bot.views import Confirm, Pager

if TYPE_CHECKING:
    from discord_bot.bot import CompanionBot

PER_PAGE = 5
EMBED_COLOUR = discord.Colour.dark_red()


def stats_embed(stats: Json) -> discord.Embed:
    embed = discord.Embed(title="Companion stats", colour=EMBED_COLOUR)
    statuses = ", ".join(f"{name} {count}" for name, count in stats["users_by_status"].items())
    embed.add_field(name="Users", value=f"{stats['users_total']} ({statuses})", inline=False)
    embed.add_field(name="Active (24 h)", value=str(stats["users_active_last_24h"]))
    interactions = stats["interactions"]
    embed.add_field(
        name="Interactions",
        value=f"{interactions['total']} total · {interactions['today']} today · "
        f"{interactions['proactive_last_24h']} proactive (24 h)",
        inline=False,
    )
    memories = stats["memories"]
    embed.add_field(
        name="Memories",
        value=f"{memories['episodic']} episodic · {memories['semantic']} semantic · "
        f"{memories['without_vector']} awaiting vectors",
        inline=False,
    )
    incidents = stats["security_incidents"]
    embed.add_field(
        name="Incidents (24 h)", value=f"{incidents['last_24h']} ({incidents['unreviewed']} unreviewed)"
    )
    embed.add_field(name="Pending deletions", value=str(stats["pending_deletions"]))
    embed.add_field(name="Bot registered", value="yes" if stats["bot_registered"] else "no")
    return embed


def incident_line(incident: Json) -> str:
    created = datetime.fromisoformat(incident["created_at"])
    return (
        f"**#{incident['id']}** {incident['threat_type']} ({incident['severity']}, {incident['confidence']:.2f}) "
        f"· user `{incident['user_id']}` · <t:{int(created.timestamp())}:R>\n"
        f"-# {text.truncate(incident['message'], 160)}"
    )


# Hidden from members without Administrator in a server's command list (server admins can change who sees it
# under Integrations); the run-time check below is what actually keeps /admin to DISCORD_ADMIN_IDS.
@app_commands.default_permissions(administrator=True)
class Admin(commands.GroupCog, group_name="admin", group_description="Companion administration"):
    def __init__(self, bot: CompanionBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only DISCORD_ADMIN_IDS; anyone else gets an ephemeral refusal (bot.on_app_command_error)."""
        return self.bot.is_admin(interaction.user.id)

    @app_commands.command(name="stats")
    async def stats(self, interaction: discord.Interaction) -> None:
        """Users, interactions, memories and incidents across the whole companion."""
        stats = await self.bot.gateway.admin_stats()
        await interaction.response.send_message(embed=stats_embed(stats), ephemeral=True)

    @app_commands.command(name="incidents")
    @app_commands.describe(days="How many days back (1–365)")
    async def incidents(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 365] = 7
    ) -> None:
        """Recent security incidents, newest first, page by page."""

        async def fetch(page_index: int) -> tuple[discord.Embed, int]:
            page = await self.bot.gateway.admin_incidents(
                days=days, limit=PER_PAGE, offset=page_index * PER_PAGE
            )
            clamped, _, pages = text.page_bounds(page["total"], page_index, PER_PAGE)
            embed = discord.Embed(title=f"Security incidents ({days} days)", colour=EMBED_COLOUR)
            embed.description = (
                text.join_lines([incident_line(item) for item in page["items"]], 4000) or "No incidents."
            )
            embed.set_footer(text=f"page {clamped + 1}/{pages} · {page['total']} in total")
            return embed, pages

        embed, pages = await fetch(0)
        await interaction.response.send_message(
            embed=embed, view=Pager(interaction, fetch, pages, timeout=self.bot.pager_timeout), ephemeral=True
        )

    @app_commands.command(name="reset-user")
    @app_commands.describe(user="The user whose data is deleted everywhere")
    async def reset_user(self, interaction: discord.Interaction, user: discord.User) -> None:
        """Delete everything about a user, everywhere (asks first)."""
        target = user.id

        async def reset() -> str:
            result = await self.bot.gateway.admin_reset_user(target)
            pending = result.get("pending") or []
            return f"Reset {user.mention}: removed from {', '.join(result.get('removed', []))}" + (
                f"; pending {', '.join(pending)}" if pending else ""
            )

        await interaction.response.send_message(
            f"Delete everything about {user.mention} (`{target}`)? This cannot be undone.",
            view=Confirm(interaction, reset, confirm_label="Reset user", timeout=self.bot.confirm_timeout),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


async def setup(bot: CompanionBot) -> None:
    await bot.add_cog(Admin(bot))
