"""The push server inside the bot process (aiohttp): the gateway delivers proactive messages here.

``POST /push`` with ``Authorization: Bearer $BOT_PUSH_TOKEN`` and ``{"user_id", "text", "reason",
"channel_id"?}`` answers ``{"status": "delivered_dm" | "delivered_channel" | "failed", "detail", "channel_id",
"message_id"}`` (HTTP 200 whenever the request was understood, even when delivery failed: the gateway
records the outcome). 401 for a missing or wrong token, 400 for two Authorization headers, 422 for a malformed
body. ``GET /health`` is open.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# Request heads: the gateway sends a handful of short headers. aiohttp refuses more (400) before any handler.
MAX_REQUEST_HEADERS = 32
MAX_HEADER_FIELD_BYTES = 4096
PushStatus = Literal["delivered_dm", "delivered_channel", "failed"]


class PushRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: str = Field(pattern=r"^\d{1,25}$")
    text: str = Field(min_length=1, max_length=4000)
    reason: str = Field(default="", max_length=500)
    channel_id: str | None = Field(default=None, pattern=r"^\d{1,25}$")
    # ``text`` goes to the user's DMs only: it may draw on what they told the companion privately. When the
    # DMs are closed, only ``channel_text`` (built by the gateway without memories) may be posted in a server
    # channel; a push without it is delivered by DM or not at all.
    channel_text: str | None = Field(default=None, min_length=1, max_length=4000)


@dataclass(frozen=True)
class PushResult:
    status: PushStatus
    detail: str = ""
    channel_id: str | None = None
    message_id: str | None = None


Deliver = Callable[[PushRequest], Awaitable[PushResult]]
Health = Callable[[], dict[str, object]]

TOKEN_KEY = web.AppKey("token", str)
DELIVER_KEY: web.AppKey[Deliver] = web.AppKey("deliver")
HEALTH_KEY: web.AppKey[Health] = web.AppKey("health")


def authorized(header: str | None, token: str) -> bool:
    """Constant-time check of ``Authorization: Bearer <token>``; an empty configured token refuses all."""
    if not token or not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


def _error(status: int, name: str, detail: str) -> web.Response:
    return web.json_response({"error": name, "detail": detail}, status=status)


async def _push(request: web.Request) -> web.Response:
    # One caller per request, as on the gateway: a repeated Authorization header is ambiguous, never "the
    # first one wins".
    headers = request.headers.getall("Authorization", [])
    if len(headers) > 1:
        return _error(400, "DuplicateHeader", f"the Authorization header was sent {len(headers)} times")
    if not authorized(request.headers.get("Authorization"), request.app[TOKEN_KEY]):
        return _error(401, "Unauthorized", "missing or invalid bearer token (BOT_PUSH_TOKEN)")
    try:
        raw = await request.read()
        body = PushRequest.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "body is not JSON"
        return _error(422, "ValidationError", str(detail))
    try:
        result = await request.app[DELIVER_KEY](body)
    except Exception:  # never a 500 without a status the gateway can record
        logger.exception("push for user %s failed unexpectedly", body.user_id)
        result = PushResult("failed", "bot error while delivering")
    logger.info(
        "push delivered" if result.status != "failed" else "push failed",
        extra={"user_id": body.user_id, "status": result.status, "detail": result.detail},
    )
    return web.json_response(asdict(result))


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", **request.app[HEALTH_KEY]()})


def create_push_app(token: str, deliver: Deliver, health: Health) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[TOKEN_KEY] = token
    app[DELIVER_KEY] = deliver
    app[HEALTH_KEY] = health
    app.router.add_post("/push", _push)
    app.router.add_get("/health", _health)
    return app


class PushServer:
    """The aiohttp app on host:port, started and stopped with the delivery cog."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            max_headers=MAX_REQUEST_HEADERS,
            max_field_size=MAX_HEADER_FIELD_BYTES,
            max_line_size=MAX_HEADER_FIELD_BYTES,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # tests: an ephemeral port, read back
            server = site._server
            if server is not None and getattr(server, "sockets", None):
                self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        logger.info("push server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
