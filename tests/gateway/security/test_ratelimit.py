"""Rate limits: per-user and global token buckets in Redis, 429 with Retry-After, admin routes exempt."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from gateway.app import create_app
from gateway.config import SecuritySettings
from gateway.security.ratelimit import path_user_id
from tests.gateway.conftest import SERVICE_TOKEN, admin_auth, gateway_settings, service_auth
from tests.gateway.memory.service_fixtures import add_user


async def limited_client(
    database_url: str, redis_url: str, embedding_url: str, **limits: object
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    security = SecuritySettings(_env_file=None, **limits)  # type: ignore[arg-type]
    app = create_app(gateway_settings(database_url, redis_url, embedding_url, security=security))
    async with app.router.lifespan_context(app):
        # Each test gets its own global bucket: the key is shared by the whole session's Redis.
        await app.state.services.redis.delete("ratelimit:global")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client:
            yield app, client


@pytest.fixture
async def user_limited(
    database_url: str, redis_url: str, embedding_service_url: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async for pair in limited_client(
        database_url, redis_url, embedding_service_url, user_requests_per_minute=1, user_burst=3
    ):
        yield pair


async def test_user_limit_answers_429_with_retry_after(
    user_limited: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    """A user's burst is served, the next call is 429 with Retry-After; another user is unaffected."""
    app, client = user_limited
    alice, bob = (str(10**17 + uuid.uuid4().int % 10**17) for _ in range(2))
    for user in (alice, bob):
        await add_user(app.state.services.pool, user)
    statuses = [
        (await client.get(f"/api/users/{alice}", headers=service_auth())).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    refused = await client.get(f"/api/users/{alice}", headers=service_auth())
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"] == "TooManyRequests"
    assert (await client.get(f"/api/users/{bob}", headers=service_auth())).status_code == 200
    # Admin routes and calls without the token do not spend (or meet) the user's bucket.
    assert (await client.get("/api/admin/security/incidents", headers=admin_auth())).status_code == 200
    assert (await client.get(f"/api/users/{alice}")).status_code == 401


async def test_global_limit_covers_every_user(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """The global bucket refuses once the whole gateway's burst is spent, whatever the user."""
    async for app, client in limited_client(
        database_url, redis_url, embedding_service_url, global_requests_per_minute=1, global_burst=2
    ):
        users = [str(10**17 + uuid.uuid4().int % 10**17) for _ in range(3)]
        for user in users:
            await add_user(app.state.services.pool, user)
        statuses = [(await client.get(f"/api/users/{u}", headers=service_auth())).status_code for u in users]
        assert statuses == [200, 200, 429]


async def test_rate_limit_can_be_disabled(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """SECURITY_RATE_LIMIT_ENABLED=false lets every call through."""
    async for app, client in limited_client(
        database_url, redis_url, embedding_service_url, rate_limit_enabled=False, user_requests_per_minute=1,
        user_burst=1,
    ):  # fmt: skip
        user = str(10**17 + uuid.uuid4().int % 10**17)
        await add_user(app.state.services.pool, user)
        for _ in range(3):
            assert (await client.get(f"/api/users/{user}", headers=service_auth())).status_code == 200


@pytest.mark.parametrize("order", ["valid first", "valid last"])
async def test_two_authorization_headers_never_bypass_the_user_limit(
    user_limited: tuple[FastAPI, httpx.AsyncClient], order: str
) -> None:
    """100 concurrent messages with a valid and a garbage Authorization header are all refused with a 400."""
    _, client = user_limited
    user = str(10**17 + uuid.uuid4().int % 10**17)
    valid, garbage = ("Authorization", f"Bearer {SERVICE_TOKEN}"), ("Authorization", "Bearer garbage")
    headers = [valid, garbage] if order == "valid first" else [garbage, valid]
    body = {"message": "hello there", "username": "mallory"}

    async def send() -> httpx.Response:
        return await client.post(f"/api/chat/{user}/messages", json=body, headers=headers)

    responses = await asyncio.gather(*(send() for _ in range(100)))
    assert {response.status_code for response in responses} == {400}
    assert responses[0].json() == {
        "error": "DuplicateHeader",
        "detail": "the Authorization header was sent 2 times; send it once",
    }


def test_path_user_id() -> None:
    """The user id is the third segment of /api/<domain>/<user_id>/..."""
    assert path_user_id("/api/memory/123/search") == "123"
    assert path_user_id("/api/users/42") == "42"
    assert path_user_id("/api/admin") is None
    assert path_user_id("/api/memory/../x") is None
