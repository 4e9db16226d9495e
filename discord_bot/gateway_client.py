"""The bot's only way to the companion: the gateway's HTTP API with the service token (admin key for the
/admin commands). Every failure becomes a ``GatewayError`` subclass the cogs map to an in-character line."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict

from companion_common.visible_text import clean_name
from discord_bot import text

logger = logging.getLogger(__name__)

Json = dict[str, Any]

# A chat turn may wait for the user's earlier messages and for the LLM (with its retries and fallback).
CHAT_TIMEOUT_SECONDS = 120.0
DEFAULT_TIMEOUT_SECONDS = 20.0
CONNECT_TIMEOUT_SECONDS = 5.0


class GatewayError(Exception):
    """The gateway did not answer with what was asked for."""

    def __init__(self, detail: str, *, status: int | None = None, error: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.error = error


class GatewayUnavailable(GatewayError):
    """Unreachable, timed out, or a 5xx: nothing the user did."""


class GatewayRateLimited(GatewayError):
    def __init__(self, detail: str, retry_after: float | None) -> None:
        super().__init__(detail, status=429, error="TooManyRequests")
        self.retry_after = retry_after


class GatewayNotFound(GatewayError):
    """404: what was asked for does not exist; ``error`` (the gateway's error name) says what it was."""


class UserNotStarted(GatewayNotFound):
    """404 about the user themselves: the companion has never met them (or has no personality for them)."""


class UserBanned(GatewayError):
    """403: an admin banned the user."""


class GatewayRejected(GatewayError):
    """Another 4xx: the request itself was refused (validation, conflict, too large, bad token)."""


# The gateway's 404s that mean "the companion has never met the user who asked" (every other 404 is about the
# thing asked for: a memory, another user, an incident).
NOT_STARTED_ERRORS = frozenset(
    {"UserNotFoundError", "PersonalityNotInitializedError", "ProactiveUserNotFoundError"}
)
NOT_FOUND_LINES = {
    "MemoryNotFoundError": text.MEMORY_NOT_FOUND,
    "UserNotFoundError": text.OTHER_USER_NOT_FOUND,  # only for admin calls: about someone else
}


def user_message(exc: GatewayError) -> str:
    """The in-character line for a failure, as the user sees it."""
    if isinstance(exc, GatewayUnavailable):
        return text.GATEWAY_DOWN
    if isinstance(exc, GatewayRateLimited):
        return text.rate_limited(exc.retry_after)
    if isinstance(exc, UserNotStarted):
        return text.NOT_STARTED
    if isinstance(exc, GatewayNotFound):
        return NOT_FOUND_LINES.get(exc.error or "", text.NOT_FOUND)
    if isinstance(exc, UserBanned):
        return text.BANNED
    if exc.status == 413:
        return text.too_long(0).replace(" (0 characters)", "")
    if exc.error == "PersonalityAlreadyInitializedError":
        return text.PERSONALITY_SETTLED
    if exc.status == 409:
        return text.ALREADY_DONE
    if exc.status == 401:
        return text.GENERIC_FAILURE
    # The gateway's detail is written for developers (ids, field names, rules): it is logged, not shown.
    return text.NOT_ACCEPTED


class SecurityNotice(BaseModel):
    model_config = ConfigDict(extra="ignore")

    threat_detected: bool = False
    threat_kind: str | None = None
    escalation_level: int = 0
    restricted: bool = False
    suspended_until: AwareDatetime | None = None


class MemoryUsed(BaseModel):
    id: str
    reason: str


class ChatReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    response: str
    emotion_label: str = "neutral"
    memories_used: list[MemoryUsed] = []
    degraded: list[str] = []
    runtime: str = "direct"
    offline: bool = False
    security: SecurityNotice = SecurityNotice()
    first_contact: bool = False

    def display_text(self) -> str:
        return text.compose_reply(
            self.response,
            offline=self.offline,
            escalation_level=self.security.escalation_level,
            restricted=self.security.restricted,
            suspended_until=self.security.suspended_until,
            first_contact=self.first_contact,
        )


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _raise_for(response: httpx.Response, *, about_caller: bool = True) -> None:
    """``about_caller``: the route is the calling user's own (a user-not-found 404 means "never met"); admin
    routes name someone else, so there it is an ordinary not-found."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # FastAPI validation errors
        detail = "; ".join(str(item.get("msg", item)) for item in detail if isinstance(item, dict))
    detail = str(detail or response.reason_phrase or f"HTTP {response.status_code}")
    status = response.status_code
    if status == 429:
        raise GatewayRateLimited(detail, _retry_after(response))
    if status == 404:
        if about_caller and error in NOT_STARTED_ERRORS:
            raise UserNotStarted(detail, status=status, error=error)
        raise GatewayNotFound(detail, status=status, error=error)
    if status == 403 and error == "UserBannedError":
        raise UserBanned(detail, status=status, error=error)
    if status >= 500:
        raise GatewayUnavailable(detail, status=status, error=error)
    raise GatewayRejected(detail, status=status, error=error)


class GatewayClient:
    """Typed calls to the gateway (``{"error", "detail"}`` bodies become exceptions, see above)."""

    def __init__(
        self,
        base_url: str,
        service_token: str,
        *,
        admin_key: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._admin_key = admin_key
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {service_token}", "User-Agent": "companion-discord-bot"},
            timeout=httpx.Timeout(DEFAULT_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Json | None = None,
        params: dict[str, Any] | None = None,
        timeout_seconds: float | None = None,
        admin: bool = False,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        content: bytes | None = None
        if body is not None:
            # Not ASCII-escaped: 4,000 emoji stay 16 kB instead of 48 kB of \ud83d escapes.
            content = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if admin:
            if not self._admin_key:
                raise GatewayRejected(text.ADMIN_NOT_CONFIGURED, status=401)
            headers["Authorization"] = f"Bearer {self._admin_key}"
        try:
            response = await self._http.request(
                method,
                path,
                content=content,
                params=params,
                headers=headers,
                timeout=timeout_seconds if timeout_seconds is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TimeoutException as exc:
            raise GatewayUnavailable(f"gateway timed out: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(f"gateway unreachable: {type(exc).__name__}") from exc
        _raise_for(response, about_caller=not admin)
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._request(method, path, **kwargs)).json()

    # --- chat and users ----------------------------------------------------------------------------------

    async def chat(
        self,
        user_id: int,
        message: str,
        *,
        username: str,
        channel_id: int | None,
        is_dm: bool,
        guild_id: int | None = None,
        message_id: int | None = None,
    ) -> ChatReply:
        """One turn. ``message_id`` (the Discord message or interaction id) makes a retry of the same request
        return the first answer instead of a second turn."""
        body = {
            "message": message,
            "username": clean_name(username, str(user_id)),
            "channel_id": None if channel_id is None else str(channel_id),
            "is_dm": is_dm,
            "guild_id": None if guild_id is None else str(guild_id),
            "message_id": None if message_id is None else str(message_id),
        }
        data = await self._json(
            "POST", f"/api/chat/{user_id}/messages", body=body, timeout_seconds=CHAT_TIMEOUT_SECONDS
        )
        return ChatReply.model_validate(data)

    async def session(self, user_id: int) -> Json:
        data: Json = await self._json("GET", f"/api/chat/{user_id}/session")
        return data

    async def get_user(self, user_id: int) -> Json:
        data: Json = await self._json("GET", f"/api/users/{user_id}")
        return data

    async def update_user(self, user_id: int, **changes: Any) -> Json:
        data: Json = await self._json("PATCH", f"/api/users/{user_id}", body=changes)
        return data

    async def export_user(self, user_id: int) -> bytes:
        response = await self._request("GET", f"/api/users/{user_id}/export", timeout_seconds=60.0)
        return response.content

    async def delete_user(self, user_id: int) -> Json:
        data: Json = await self._json("DELETE", f"/api/users/{user_id}", timeout_seconds=60.0)
        return data

    # --- memory ------------------------------------------------------------------------------------------

    async def search_memories(
        self, user_id: int, query: str, k: int = 5, *, channel_id: int | None = None
    ) -> Json:
        """With ``channel_id`` (shown in a server channel): only the memories said in that channel."""
        body: Json = {"query": query, "k": k}
        if channel_id is not None:
            body["channel_id"] = str(channel_id)
        data: Json = await self._json("POST", f"/api/memory/{user_id}/search", body=body)
        return data

    async def list_memories(
        self, user_id: int, kind: str, *, limit: int, offset: int = 0, channel_id: int | None = None
    ) -> Json:
        """With ``channel_id`` (shown in a server channel): only the memories said in that channel."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if channel_id is not None:
            params["channel_id"] = str(channel_id)
        data: Json = await self._json("GET", f"/api/memory/{user_id}/{kind}", params=params)
        return data

    async def forget_memory(self, user_id: int, memory_id: str) -> None:
        await self._request("DELETE", f"/api/memory/{user_id}/memories/{memory_id}")

    # --- personality -------------------------------------------------------------------------------------

    async def initialize(self, user_id: int, *, profile: str, timezone: str | None, username: str) -> Json:
        """Choose the personality; ``timezone`` None keeps the stored one (UTC for someone new)."""
        body: Json = {"profile": profile, "username": clean_name(username, str(user_id))}
        if timezone is not None:
            body["timezone"] = timezone
        data: Json = await self._json("POST", f"/api/personality/{user_id}/initialize", body=body)
        return data

    async def personality(self, user_id: int) -> Json:
        data: Json = await self._json("GET", f"/api/personality/{user_id}/current")
        return data

    async def personality_history(self, user_id: int, days: int, limit: int = 500) -> Json:
        data: Json = await self._json(
            "GET", f"/api/personality/{user_id}/history", params={"days": days, "limit": limit}
        )
        return data

    async def quirks(self, user_id: int) -> list[Json]:
        data: list[Json] = await self._json("GET", f"/api/personality/{user_id}/quirks")
        return data

    async def needs(self, user_id: int) -> list[Json]:
        data: list[Json] = await self._json("GET", f"/api/personality/{user_id}/needs")
        return data

    async def security_state(self, user_id: int) -> Json:
        data: Json = await self._json("GET", f"/api/security/{user_id}/state")
        return data

    # --- the bot itself and admin ------------------------------------------------------------------------

    async def register(self, push_url: str, *, bot_user_id: int | None, guilds: int | None) -> Json:
        body: Json = {"push_url": push_url, "bot_user_id": None if bot_user_id is None else str(bot_user_id)}
        body["guilds"] = guilds
        data: Json = await self._json("POST", "/api/bot/register", body=body)
        return data

    async def heartbeat(self, push_url: str, *, bot_user_id: int | None, guilds: int | None) -> Json:
        body: Json = {"push_url": push_url, "bot_user_id": None if bot_user_id is None else str(bot_user_id)}
        body["guilds"] = guilds
        data: Json = await self._json("POST", "/api/bot/heartbeat", body=body)
        return data

    async def admin_stats(self) -> Json:
        data: Json = await self._json("GET", "/api/admin/stats", admin=True)
        return data

    async def admin_incidents(self, *, days: int, limit: int, offset: int) -> Json:
        params = {"days": days, "limit": limit, "offset": offset}
        data: Json = await self._json("GET", "/api/admin/security/incidents", params=params, admin=True)
        return data

    async def admin_reset_user(self, user_id: int) -> Json:
        data: Json = await self._json(
            "POST",
            f"/api/admin/users/{user_id}/reset",
            body={"confirm": True},
            admin=True,
            timeout_seconds=60.0,
        )
        return data
