"""A fake of the Discord bot's push server (``POST /push``, ``GET /health``) on a real loopback port, so the
gateway's real ``BotPushClient`` delivers to it over HTTP exactly as it would to the bot."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.integrations.discord_push import BotPushClient
from tests.servers import ThreadedServer

PUSH_TOKEN = "push-token-for-tests-0123456789abcdef"


@dataclass
class FakeBot:
    """Records every push; ``dm_open`` False makes it fall back to the user's channel with the push's
    ``channel_text`` (as the real bot does: never its DM ``text``; no ``channel_text``, no channel), recorded in
    ``posted_in_channels``; ``fail_with`` makes it answer 503 with that detail."""

    pushes: list[dict[str, Any]] = field(default_factory=list)
    posted_in_channels: list[str] = field(default_factory=list)
    dm_open: bool = True
    fail_with: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def push(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {PUSH_TOKEN}":
            return JSONResponse({"status": "failed", "detail": "bad token"}, status_code=401)
        body = await request.json()
        with self._lock:
            self.pushes.append(body)
        if self.fail_with is not None:
            return JSONResponse({"status": "failed", "detail": self.fail_with}, status_code=503)
        if self.dm_open:
            return JSONResponse(
                {"status": "delivered_dm", "channel_id": "dm-" + body["user_id"], "message_id": "1"}
            )
        if body.get("channel_id") and body.get("channel_text"):
            with self._lock:
                self.posted_in_channels.append(body["channel_text"])
            return JSONResponse(
                {"status": "delivered_channel", "channel_id": body["channel_id"], "message_id": "2"}
            )
        return JSONResponse({"status": "failed", "detail": "dms closed and no channel"})

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/push", self.push, methods=["POST"]), Route("/health", self.health)])


class BotHandle:
    """The fake bot's server, which can be stopped and started again on the same client (bot restarts)."""

    def __init__(self) -> None:
        self.bot = FakeBot()
        self.server: ThreadedServer | None = None
        self.url: str | None = None

    def start(self) -> None:
        self.server = ThreadedServer(self.bot.app(), name="fake-bot").start()
        self.url = self.server.base_url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.server = None  # the URL stays: the gateway keeps calling it and finds nobody

    def client(self) -> BotPushClient:
        async def locate() -> str | None:
            return self.url

        return BotPushClient(locate, PUSH_TOKEN, timeout_seconds=3.0)
