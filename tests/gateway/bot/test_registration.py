"""Bot registration and heartbeat in Redis, and the admin view of it."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.bot import service as bot_service
from tests.gateway.conftest import admin_auth, service_auth


async def test_register_heartbeat_and_admin_status(client: httpx.AsyncClient, redis_client: Any) -> None:
    """The bot registers, heartbeats keep the first registration time, and admins see it (unreachable here)."""
    await redis_client.delete(bot_service.REGISTRATION_KEY)
    empty = await client.get("/api/admin/bot", headers=admin_auth())
    assert empty.json()["registered"] is False
    body = {"push_url": "http://127.0.0.1:9/", "bot_user_id": "42", "guilds": 3}
    first = (await client.post("/api/bot/register", json=body, headers=service_auth())).json()
    beat = (await client.post("/api/bot/heartbeat", json=body, headers=service_auth())).json()
    assert first["push_url"] == "http://127.0.0.1:9"
    assert beat["registered_at"] == first["registered_at"]
    assert beat["last_heartbeat_at"] >= first["last_heartbeat_at"]
    ttl = await redis_client.ttl(bot_service.REGISTRATION_KEY)
    assert 0 < ttl <= bot_service.REGISTRATION_TTL_SECONDS
    status = (await client.get("/api/admin/bot", headers=admin_auth())).json()
    assert status["registered"] and status["reachable"] is False and "unreachable" in status["detail"]
    await redis_client.delete(bot_service.REGISTRATION_KEY)


async def test_registration_needs_the_service_token_and_a_url(client: httpx.AsyncClient) -> None:
    """No token: 401; a non-HTTP URL: 422; the admin view needs the admin key."""
    body = {"push_url": "http://bot:8091"}
    assert (await client.post("/api/bot/register", json=body)).status_code == 401
    bad = await client.post("/api/bot/register", json={"push_url": "ftp://x"}, headers=service_auth())
    assert bad.status_code == 422
    assert (await client.get("/api/admin/bot", headers=service_auth())).status_code == 401
