"""Buttons: paging through a list, and confirming a destructive action. Only the user who ran the command
may press them; everyone else is told so ephemerally."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from discord_bot.gateway_client import GatewayError, user_message
from discord_bot.text import GENERIC_FAILURE

logger = logging.getLogger(__name__)

PageFetcher = Callable[[int], Awaitable[tuple[discord.Embed, int]]]
NOT_YOURS = "Those buttons belong to someone else's command."


class OwnedView(discord.ui.View):
    def __init__(self, owner_id: int, *, timeout: float = 300.0) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(NOT_YOURS, ephemeral=True)
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[discord.ui.View]
    ) -> None:
        if isinstance(error, GatewayError):
            message = user_message(error)
            logger.warning("button %s: gateway error: %s", item.custom_id, error.detail)  # type: ignore[attr-defined]
        else:
            message = GENERIC_FAILURE
            logger.exception("button failed", exc_info=error)
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)


class Pager(OwnedView):
    """◀ / ▶ over pages that ``fetch`` renders (it returns the embed and the page count)."""

    def __init__(self, owner_id: int, fetch: PageFetcher, pages: int, *, page: int = 0) -> None:
        super().__init__(owner_id)
        self.fetch = fetch
        self.page = page
        self.pages = pages
        self._sync()

    def _sync(self) -> None:
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= self.pages - 1

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        embed, self.pages = await self.fetch(page)
        self.page = min(page, max(0, self.pages - 1))
        self._sync()
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary, custom_id="pager:previous")
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="▶", style=discord.ButtonStyle.secondary, custom_id="pager:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        await self._show(interaction, self.page + 1)


class Confirm(OwnedView):
    """Confirm / Cancel before something irreversible; ``action`` returns the line shown afterwards."""

    def __init__(self, owner_id: int, action: Callable[[], Awaitable[str]], *, confirm_label: str) -> None:
        super().__init__(owner_id, timeout=120.0)
        self.action = action
        self.confirm.label = confirm_label
        self.result: bool | None = None

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger, custom_id="confirm:yes")
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
        self.result = True
        self.stop()
        await interaction.response.defer()
        try:
            outcome = await self.action()
        except GatewayError as exc:
            logger.warning("confirmed action: gateway said %s %s: %s", exc.status, exc.error, exc.detail)
            outcome = user_message(exc)
        await interaction.edit_original_response(content=outcome, view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="confirm:no")
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
        self.result = False
        self.stop()
        await interaction.response.edit_message(content="Cancelled — nothing was deleted.", view=None)
