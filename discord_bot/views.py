"""Buttons: paging through a list, and confirming a destructive action. Only the user who ran the command
may press them; everyone else is told so ephemerally. When a view times out its buttons are disabled on the
message; a click on buttons whose view is gone (a restart, a failed edit) gets ``EXPIRED`` from ``Expired``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from discord_bot.gateway_client import GatewayError, user_message
from discord_bot.text import GENERIC_FAILURE

logger = logging.getLogger(__name__)

PageFetcher = Callable[[int], Awaitable[tuple[discord.Embed, int]]]
NOT_YOURS = "Those buttons belong to someone else's command."
EXPIRED = "These buttons have expired. Run the command again."
CONFIRM_EXPIRED = (
    "This confirmation has expired — nothing was deleted. Run the command again if you still want to."
)
CONFIRM_TIMEOUT_SECONDS = 120.0
PAGER_TIMEOUT_SECONDS = 300.0


class OwnedView(discord.ui.View):
    """Buttons on the response to ``interaction``, for its user only; disabled on that message at timeout."""

    expired_content: str | None = None  # replaces the message's text at timeout (None: keep it)

    def __init__(self, interaction: discord.Interaction, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.interaction = interaction
        self.owner_id = interaction.user.id

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        try:
            if self.expired_content is None:
                await self.interaction.edit_original_response(view=self)
            else:
                await self.interaction.edit_original_response(content=self.expired_content, view=self)
        except discord.HTTPException as exc:  # deleted, or the 15-minute token is gone: Expired answers
            logger.warning("could not disable timed-out buttons: %s", exc)

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

    def __init__(
        self,
        interaction: discord.Interaction,
        fetch: PageFetcher,
        pages: int,
        *,
        page: int = 0,
        timeout: float = PAGER_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(interaction, timeout=timeout)
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

    expired_content = CONFIRM_EXPIRED

    def __init__(
        self,
        interaction: discord.Interaction,
        action: Callable[[], Awaitable[str]],
        *,
        confirm_label: str,
        timeout: float = CONFIRM_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(interaction, timeout=timeout)
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


class _ExpiredButton(discord.ui.Button["Expired"]):
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(EXPIRED, ephemeral=True)


class Expired(discord.ui.View):
    """Persistent (no timeout, no message): discord.py falls back to it for a click on pager or confirm
    buttons whose view is gone, so the click is answered instead of showing "This interaction failed"."""

    # Every button of Pager and Confirm, by custom id (what discord.py matches a click on).
    CUSTOM_IDS = ("pager:previous", "pager:next", "confirm:yes", "confirm:no")

    def __init__(self) -> None:
        super().__init__(timeout=None)
        for custom_id in self.CUSTOM_IDS:
            self.add_item(_ExpiredButton(custom_id=custom_id))
