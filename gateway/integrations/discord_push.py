"""Proactive delivery: the gateway asks the Discord bot to write to a user (docs/discord.md).

The bot runs a small HTTP server (``POST /push`` with ``Authorization: Bearer $BOT_PUSH_TOKEN``) and
registers its URL with the gateway at start, then heartbeats it. ``Deliverer`` is what the proactive
manager depends on; ``BotPushClient`` implements it over HTTP.

A push has two texts: ``text`` for the user's DMs (it may draw on their memories) and ``channel_text``, the
only text the bot may post in a server channel when the DMs are closed (built without memories; None: the
push goes to the DMs or nowhere). docs/proactive.md, "Delivery".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from gateway.config import LOOPBACK_HOSTS, http_url

logger = logging.getLogger(__name__)

DeliveryStatus = Literal["delivered_dm", "delivered_channel", "failed"]


@dataclass(frozen=True)
class Delivery:
    """What the bot did with one push (recorded by the gateway with the proactive interaction)."""

    status: DeliveryStatus
    detail: str = ""  # why it failed ("bot unreachable", "dms closed and no channel", "rate limited", ...)
    channel_id: str | None = None
    message_id: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status != "failed"


class Deliverer(Protocol):
    async def deliver(
        self,
        user_id: str,
        text: str,
        reason: str,
        channel_id: str | None = None,
        channel_text: str | None = None,
    ) -> Delivery:
        """Ask the bot to send ``text`` in a DM, or ``channel_text`` (never ``text``) in a server channel when
        the DMs are closed; never raises for delivery problems (returns a failed Delivery)."""
        ...


PushLocator = Callable[[], Awaitable[str | None]]

# Loopback: the bot on the same machine (the local stack, `python -m discord_bot`). BOT_PUSH_ALLOWED_HOSTS.
DEFAULT_ALLOWED_HOSTS: frozenset[str] = frozenset(LOOPBACK_HOSTS)


def check_push_url(url: str, allowed_hosts: frozenset[str]) -> str:
    """``url`` normalised when it is a push URL the gateway may send BOT_PUSH_TOKEN to: a plain http(s) URL
    (no credentials, query or fragment) whose host is in ``allowed_hosts`` (``*``: any). ValueError says why
    not."""
    url = http_url(url, credentials=False, query=False)
    host = (httpx.URL(url).host or "").lower()
    if "*" not in allowed_hosts and host not in allowed_hosts:
        allowed = ", ".join(sorted(allowed_hosts))
        raise ValueError(f"host {host!r} is not in BOT_PUSH_ALLOWED_HOSTS ({allowed})")
    return url


# How long one push may take: the bot opens a DM (one or two Discord calls) and sends one message.
PUSH_TIMEOUT_SECONDS = 15.0
_STATUSES: frozenset[str] = frozenset({"delivered_dm", "delivered_channel", "failed"})


class BotPushClient:
    """``Deliverer`` over HTTP: ``POST {push_url}/push`` with ``Authorization: Bearer $BOT_PUSH_TOKEN``.

    The push URL is looked up on every call (``locate``, normally the bot's live registration in Redis), so
    a restarted bot is found again without restarting the gateway. Every problem — no registered bot, the
    bot unreachable, a refused token, a malformed answer — comes back as a failed ``Delivery``.
    """

    def __init__(
        self,
        locate: PushLocator,
        token: str,
        *,
        allowed_hosts: frozenset[str] = DEFAULT_ALLOWED_HOSTS,
        timeout_seconds: float = PUSH_TIMEOUT_SECONDS,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._locate = locate
        self._token = token
        self._allowed_hosts = allowed_hosts
        self._http = http or httpx.AsyncClient(timeout=timeout_seconds)
        self._owns_http = http is None

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def deliver(
        self,
        user_id: str,
        text: str,
        reason: str,
        channel_id: str | None = None,
        channel_text: str | None = None,
    ) -> Delivery:
        if not self._token:
            return Delivery("failed", "BOT_PUSH_TOKEN is not configured on the gateway")
        try:
            url = await self._locate()
        except Exception as exc:  # Redis down: no registration to read
            logger.warning("bot registration unreadable: %s", exc)
            return Delivery("failed", f"bot registration unreadable: {type(exc).__name__}")
        if url is None:
            return Delivery("failed", "no bot registered (or its heartbeats stopped)")
        try:
            # Checked again here, not only at registration: a URL stored before the check existed, or one
            # whose host was since taken off BOT_PUSH_ALLOWED_HOSTS, never receives the token.
            url = check_push_url(url, self._allowed_hosts)
        except ValueError as exc:
            logger.warning("registered push URL refused: %s", exc)
            return Delivery("failed", f"registered push URL refused: {exc}")
        body = {
            "user_id": user_id,
            "text": text,
            "reason": reason,
            "channel_id": channel_id,
            "channel_text": channel_text,  # the only text the bot may post in a server channel
        }
        try:
            response = await self._http.post(
                f"{url}/push", json=body, headers={"Authorization": f"Bearer {self._token}"}
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            logger.warning("bot unreachable at %s: %s", url, exc)
            return Delivery("failed", f"bot unreachable: {type(exc).__name__}")
        return _parse_delivery(response)

    async def probe(self) -> tuple[bool | None, str | None]:
        """Whether the registered bot's push server answers ``GET /health`` (None: no bot registered)."""
        try:
            url = await self._locate()
        except Exception as exc:
            return None, f"bot registration unreadable: {type(exc).__name__}"
        if url is None:
            return None, "no bot registered"
        try:
            url = check_push_url(url, self._allowed_hosts)
        except ValueError as exc:
            return False, f"registered push URL refused: {exc}"
        try:
            response = await self._http.get(f"{url}/health", timeout=3.0)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return False, f"bot unreachable: {type(exc).__name__}"
        return response.status_code == 200, f"HTTP {response.status_code}"


def _parse_delivery(response: httpx.Response) -> Delivery:
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Delivery("failed", f"bot answered HTTP {response.status_code} without a JSON body")
    status = data.get("status")
    detail = str(data.get("detail") or data.get("error") or "")
    if response.status_code == 401:
        return Delivery("failed", "bot refused the push token (BOT_PUSH_TOKEN differs)")
    if status not in _STATUSES:
        return Delivery("failed", f"bot answered HTTP {response.status_code}: {detail or 'no status'}")
    channel = data.get("channel_id")
    message = data.get("message_id")
    return Delivery(
        status,
        detail,
        channel_id=None if channel is None else str(channel),
        message_id=None if message is None else str(message),
    )
