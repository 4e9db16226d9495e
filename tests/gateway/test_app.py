from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.config import AuthSettings, RedisSettings
from gateway.observability import BodySizeLimitMiddleware, JsonFormatter, request_id_var
from scripts.localstack import free_port
from tests.gateway.conftest import ADMIN_KEY, admin_auth, gateway_settings, service_auth


async def test_liveness(client: httpx.AsyncClient) -> None:
    """/health answers without touching any dependency."""
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "gateway"}


async def test_readiness_all_green(client: httpx.AsyncClient) -> None:
    """/health/ready checks Postgres, Redis and the embedding service, each with a latency."""
    body = (await client.get("/health/ready")).json()
    assert body["status"] == "ok"
    assert body["degraded"] == []
    assert set(body["dependencies"]) == {"postgres", "redis", "embedding_service", "pgvector"}
    for status in body["dependencies"].values():
        assert status["ok"] is True
        assert status["latency_ms"] >= 0


async def test_readiness_reports_a_down_dependency(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """With Redis unreachable the gateway stays up and /health/ready names Redis as degraded."""
    settings = gateway_settings(
        database_url,
        redis_url,
        embedding_service_url,
        redis=RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0", _env_file=None),  # type: ignore[call-arg]
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
    ):
        response = await http.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["degraded"] == ["redis"]
    assert body["dependencies"]["redis"]["detail"]
    assert body["dependencies"]["postgres"]["ok"] is True


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    """Unknown routes answer 404 in the error shape, not HTML."""
    response = await client.get("/api/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "Not Found"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {ADMIN_KEY}"},
        {"Authorization": ADMIN_KEY},
    ],
)
async def test_user_route_refuses_bad_tokens(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Missing, wrong or non-bearer credentials get 401 JSON."""
    response = await client.get("/api/users/123", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "AuthenticationError"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_in_query_string_is_not_accepted(client: httpx.AsyncClient) -> None:
    """A key in the query string never authenticates."""
    response = await client.get("/api/admin/migrations", params={"api_key": ADMIN_KEY})
    assert response.status_code == 401


async def test_admin_route_needs_the_admin_key(client: httpx.AsyncClient) -> None:
    """The service token does not open admin routes; the admin key does."""
    assert (await client.get("/api/admin/migrations", headers=service_auth())).status_code == 401
    response = await client.get("/api/admin/migrations", headers=admin_auth())
    assert response.status_code == 200
    body = response.json()
    assert [m["version"] for m in body["applied"]][:5] == [1, 2, 3, 4, 5]
    assert body["pending"] == []


async def test_unset_token_refuses_everyone(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """A gateway without GATEWAY_SERVICE_TOKEN refuses user routes (even an empty bearer) and says why."""
    settings = gateway_settings(
        database_url, redis_url, embedding_service_url,
        auth=AuthSettings(gateway_service_token="", admin_api_key=ADMIN_KEY, _env_file=None),  # type: ignore[call-arg]
    )  # fmt: skip
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
    ):
        response = await http.get("/api/users/1", headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert "GATEWAY_SERVICE_TOKEN is not configured" in response.json()["detail"]


async def test_user_profile_is_scoped_to_its_user(
    client: httpx.AsyncClient, database_url: str, user_id: str
) -> None:
    """A profile is returned under its own id only; another user's id is 404, never someone else's data."""
    other = user_id + "7"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("INSERT INTO user_profiles (user_id, username) VALUES ($1, 'alice')", user_id)
        own = await client.get(f"/api/users/{user_id}", headers=service_auth())
        missing = await client.get(f"/api/users/{other}", headers=service_auth())
    finally:
        await conn.execute("DELETE FROM user_profiles WHERE user_id = $1", user_id)
        await conn.close()
    assert own.status_code == 200
    assert own.json()["username"] == "alice"
    assert own.json()["timezone"] == "UTC"
    assert missing.status_code == 404
    assert missing.json()["error"] == "UserNotFoundError"


async def test_malformed_user_id_is_422(client: httpx.AsyncClient) -> None:
    """A user id that cannot be a Discord id is a validation error, not a database query."""
    response = await client.get("/api/users/a%20b;drop", headers=service_auth())
    assert response.status_code == 422


async def test_oversized_declared_body_is_413(client: httpx.AsyncClient) -> None:
    """A Content-Length over the limit is refused before routing."""
    response = await client.post("/api/users/1", content=b"x" * 40_000, headers=service_auth())
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"


async def test_oversized_streamed_body_is_413() -> None:
    """A chunked body (no Content-Length) that grows past the limit is cut off with 413 while being read."""
    received: list[bytes] = []

    async def echo(request: Request) -> JSONResponse:
        received.append(await request.body())
        return JSONResponse({"size": len(received[-1])})

    app = BodySizeLimitMiddleware(Starlette(routes=[Route("/echo", echo, methods=["POST"])]), max_bytes=4096)

    async def chunks(count: int) -> AsyncIterator[bytes]:
        for _ in range(count):
            yield b"y" * 1000

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        small = await http.post("/echo", content=chunks(3))
        large = await http.post("/echo", content=chunks(10))
    assert small.json() == {"size": 3000}
    assert large.status_code == 413
    assert large.json()["error"] == "PayloadTooLarge"
    assert len(received) == 1


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    """A sane X-Request-ID is kept; a missing or hostile one is replaced."""
    kept = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    made = await client.get("/health", headers={"X-Request-ID": "bad id\nwith newline"})
    assert made.headers["x-request-id"] != "bad id\nwith newline"
    assert len(made.headers["x-request-id"]) == 32


def test_log_lines_are_json_with_the_request_id() -> None:
    """The formatter writes one JSON object carrying the current request id and extra fields."""
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("gateway.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        record.status = 201
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    payload = json.loads(line)
    assert payload["msg"] == "hello world"
    assert payload["request_id"] == "req-42"
    assert payload["status"] == 201


async def test_openapi_docs_are_served_under_api(client: httpx.AsyncClient) -> None:
    """The OpenAPI UI lives at /api/docs and the schema lists the mounted routes once each."""
    assert (await client.get("/api/docs")).status_code == 200
    paths = (await client.get("/api/openapi.json")).json()["paths"]
    assert "/api/users/{user_id}" in paths
    assert "/api/admin/migrations" in paths
    assert not [p for p in paths if p.startswith("/api/api") or "/users/users" in p]


async def test_a_started_gateway_runs_numpys_blas_on_one_thread_and_freezes_its_startup_objects(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """Recall's and the detector's small matrices never wait for BLAS threads on a shared small box
    (gateway/runtime.py); startup objects are out of the collector while the gateway runs, and back after."""
    import gc

    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):  # whatever the machine had, restored afterwards
        app = create_app(gateway_settings(database_url, redis_url, embedding_service_url))
        async with app.router.lifespan_context(app):
            blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
            assert blas and all(pool["num_threads"] == 1 for pool in blas)
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0
