"""Bot registration and heartbeat in Redis, and the admin view of it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gateway.bot import service as bot_service
from gateway.config import BotPushSettings
from tests.gateway.conftest import admin_auth, asgi_client, gateway_settings, running_app, service_auth


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


@pytest.mark.parametrize(
    ("push_url", "reason"),
    [
        ("http://[::1", "not a valid URL"),
        ("http://127.0.0.1:99999", "not a valid URL"),
        ("http://127.0.0.1:0", "port"),
        ("http://:8091", "host"),
        ("http://user:pw@127.0.0.1:8091", "user name or password"),
        ("http://127.0.0.1:8091#frag", "fragment"),
        ("http://127.0.0.1:8091?x=1", "query"),
        ("http://127.0.0.1:80 91", "spaces"),
    ],
)
async def test_malformed_push_url_is_422(client: httpx.AsyncClient, push_url: str, reason: str) -> None:
    """A push URL httpx cannot call, or one carrying credentials, a query or a fragment, is refused."""
    response = await client.post("/api/bot/register", json={"push_url": push_url}, headers=service_auth())
    assert response.status_code == 422
    assert reason in response.text


async def test_push_url_on_a_host_not_allowed_is_422(client: httpx.AsyncClient, redis_client: Any) -> None:
    """A well-formed URL on a host outside BOT_PUSH_ALLOWED_HOSTS is refused and nothing is stored."""
    await redis_client.delete(bot_service.REGISTRATION_KEY)
    body = {"push_url": "https://attacker.example:8443"}
    response = await client.post("/api/bot/register", json=body, headers=service_auth())
    assert response.status_code == 422
    assert response.json() == {
        "error": "PushUrlNotAllowedError",
        "detail": "push_url: host 'attacker.example' is not in BOT_PUSH_ALLOWED_HOSTS (127.0.0.1, ::1, localhost)",
    }
    assert await redis_client.get(bot_service.REGISTRATION_KEY) is None


async def test_allowed_hosts_setting_admits_the_compose_service_name(
    database_url: str, redis_url: str, embedding_service_url: str, redis_client: Any
) -> None:
    """BOT_PUSH_ALLOWED_HOSTS=discord_bot (as compose sets it) admits the bot's service URL, not loopback."""
    settings = gateway_settings(
        database_url,
        redis_url,
        embedding_service_url,
        bot_push=BotPushSettings(allowed_hosts="discord_bot", _env_file=None),  # type: ignore[call-arg]
    )
    async with running_app(settings) as app, asgi_client(app, service_auth()) as http:
        await redis_client.delete(bot_service.REGISTRATION_KEY)
        accepted = await http.post("/api/bot/register", json={"push_url": "http://discord_bot:8091"})
        loopback = await http.post("/api/bot/register", json={"push_url": "http://127.0.0.1:8091"})
        await redis_client.delete(bot_service.REGISTRATION_KEY)
    assert accepted.status_code == 200
    assert loopback.status_code == 422


@pytest.mark.parametrize("stored", ["http://[::1", "http://attacker.example:8091"])
async def test_admin_status_survives_a_stored_bad_push_url(
    client: httpx.AsyncClient, redis_client: Any, stored: str
) -> None:
    """A URL stored before validation existed: the admin view answers 200 and says it is refused."""
    record = {"push_url": stored, "registered_at": "2026-01-01T00:00:00+00:00"}
    await redis_client.set(bot_service.REGISTRATION_KEY, json.dumps(record), ex=60)
    try:
        response = await client.get("/api/admin/bot", headers=admin_auth())
    finally:
        await redis_client.delete(bot_service.REGISTRATION_KEY)
    assert response.status_code == 200
    status = response.json()
    assert status["registered"] is True and status["reachable"] is False
    assert status["detail"].startswith("registered push URL refused")
