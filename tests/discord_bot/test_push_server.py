"""The push server on its own: auth, validation and the answer's shape (no Discord involved)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from discord_bot.push_server import PushRequest, PushResult, PushServer, authorized, create_push_app


@pytest.fixture
async def server() -> AsyncIterator[tuple[PushServer, list[PushRequest]]]:
    received: list[PushRequest] = []

    async def deliver(push: PushRequest) -> PushResult:
        received.append(push)
        if push.text == "boom":
            raise RuntimeError("boom")
        return PushResult("delivered_dm", "", "1", "2")

    push_server = PushServer(create_push_app("secret", deliver, lambda: {"ready": True}), "127.0.0.1", 0)
    await push_server.start()
    try:
        yield push_server, received
    finally:
        await push_server.stop()


def test_authorized_compares_bearer_tokens() -> None:
    """Only the exact bearer token passes; an empty configured token refuses everything."""
    assert authorized("Bearer secret", "secret")
    assert authorized("bearer secret", "secret")
    assert not authorized("Bearer nope", "secret")
    assert not authorized("Basic secret", "secret")
    assert not authorized(None, "secret")
    assert not authorized("Bearer ", "")


async def test_push_and_health(server: tuple[PushServer, list[PushRequest]]) -> None:
    """A good push is delivered and answered as JSON; /health needs no token."""
    push_server, received = server
    base = f"http://127.0.0.1:{push_server.port}"
    async with httpx.AsyncClient(base_url=base) as http:
        ok = await http.post("/push", json={"user_id": "5", "text": "hi", "reason": "r"},
                             headers={"Authorization": "Bearer secret"})  # fmt: skip
        health = await http.get("/health")
        denied = await http.post("/push", json={"user_id": "5", "text": "hi"})
        crashed = await http.post("/push", json={"user_id": "5", "text": "boom"},
                                  headers={"Authorization": "Bearer secret"})  # fmt: skip
        garbage = await http.post("/push", content=b"{not json", headers={"Authorization": "Bearer secret"})
    assert ok.json() == {"status": "delivered_dm", "detail": "", "channel_id": "1", "message_id": "2"}
    assert health.json() == {"status": "ok", "ready": True}
    assert denied.status_code == 401
    assert crashed.status_code == 200 and crashed.json()["status"] == "failed"
    assert garbage.status_code == 422
    assert [push.text for push in received] == ["hi", "boom"]


@pytest.mark.parametrize(
    "headers",
    [
        b"".join(b"X-H-%d: a\r\n" % i for i in range(5000)),
        b"X-Big: " + b"a" * 1_000_000 + b"\r\n",
    ],
    ids=["5000-headers", "1MB-header"],
)
async def test_oversized_request_heads_are_refused(
    server: tuple[PushServer, list[PushRequest]], headers: bytes
) -> None:
    """5,000 headers or 1 MB of them are refused before the push handler runs (aiohttp's own limits, set
    explicitly and tighter)."""
    import asyncio

    push_server, received = server
    reader, writer = await asyncio.open_connection("127.0.0.1", push_server.port)
    try:
        writer.write(b"POST /push HTTP/1.1\r\nHost: bot\r\nContent-Length: 2\r\n" + headers + b"\r\n{}")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(200), timeout=10)
    finally:
        writer.close()
    assert answer.split(b" ", 2)[1] in (b"400", b"431"), answer
    assert received == []


async def test_two_authorization_headers_are_refused(server: tuple[PushServer, list[PushRequest]]) -> None:
    """A push with a valid and a garbage Authorization header is a 400 and delivers nothing."""
    push_server, received = server
    headers = [("Authorization", "Bearer secret"), ("Authorization", "Bearer garbage")]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{push_server.port}") as http:
        response = await http.post("/push", json={"user_id": "5", "text": "hi"}, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "DuplicateHeader"
    assert received == []
