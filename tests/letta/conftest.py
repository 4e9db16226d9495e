"""Fixtures for the Letta tier: a LettaRuntime wired to the real Letta server, the fake chat LLM, the real
embedding service and the session's Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.chat.letta_runtime import LettaRuntime
from gateway.clock import SystemClock
from gateway.config import ChatLLMSettings, LettaSettings, Settings
from gateway.integrations.letta import LettaClient
from gateway.users.service import UsersService
from tests.fakes.openai_server import FakeOpenAIServer
from tests.gateway.conftest import embedding_service_url, gateway_settings  # noqa: F401  (fixture)

CHAT_MODEL = "companion-chat-model"

RuntimeFactory = Callable[..., Awaitable[LettaRuntime]]


@pytest.fixture(scope="session")
async def letta_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def profile(letta_pool: asyncpg.Pool, user_id: str) -> AsyncIterator[str]:
    """A user_profiles row for ``user_id`` (the pipeline creates it before calling the runtime)."""
    await letta_pool.execute(
        "INSERT INTO user_profiles (user_id, username) VALUES ($1, $2)", user_id, f"user{user_id[-4:]}"
    )
    try:
        yield user_id
    finally:
        await letta_pool.execute("DELETE FROM user_profiles WHERE user_id = $1", user_id)


@pytest.fixture
async def letta(letta_server_url: str) -> AsyncIterator[LettaClient]:
    """A plain client on the session's Letta, for checking what the runtime did."""
    client = LettaClient(letta_server_url, 30.0)
    try:
        yield client
    finally:
        await client.aclose()


def letta_settings(
    *,
    letta_url: str,
    llm_url: str,
    embedding_url: str,
    database_url: str,
    redis_url: str,
    model: str = CHAT_MODEL,
    timeout: float = 30.0,
) -> Settings:
    return gateway_settings(
        database_url,
        redis_url,
        embedding_url,
        chat_llm=ChatLLMSettings(llm_base_url=llm_url, primary_llm_model=model, _env_file=None),  # type: ignore[call-arg]
        letta=LettaSettings(server_url=letta_url, timeout_seconds=timeout, _env_file=None),  # type: ignore[call-arg]
    )


@pytest.fixture
async def letta_requests() -> list[httpx.Request]:
    """Every HTTP request the runtimes built by ``make_runtime`` sent to Letta, in order."""
    return []


@pytest.fixture
async def make_runtime(
    letta_server_url: str,
    openai_fake: FakeOpenAIServer,
    embedding_service_url: str,  # noqa: F811
    database_url: str,
    redis_url: str,
    letta_pool: asyncpg.Pool,
    letta_requests: list[httpx.Request],
) -> AsyncIterator[RuntimeFactory]:
    """Build LettaRuntimes (closed after the test) against the real Letta, the fake LLM and the real
    embedding service; keyword arguments override ``letta_settings``'s."""
    runtimes: list[LettaRuntime] = []
    clients: list[httpx.AsyncClient] = []

    async def record(request: httpx.Request) -> None:
        letta_requests.append(request)

    async def factory(**overrides: Any) -> LettaRuntime:
        options: dict[str, Any] = {
            "letta_url": letta_server_url,
            "llm_url": openai_fake.base_url,
            "embedding_url": embedding_service_url,
            "database_url": database_url,
            "redis_url": redis_url,
        }
        options.update(overrides)
        http = httpx.AsyncClient(event_hooks={"request": [record]}, timeout=options.get("timeout", 30.0))
        clients.append(http)
        runtime = LettaRuntime.from_settings(
            letta_settings(**options), UsersService(letta_pool, SystemClock()), http_client=http
        )
        runtimes.append(runtime)
        return runtime

    try:
        yield factory
    finally:
        for runtime in runtimes:
            await runtime.aclose()
        for http in clients:
            await http.aclose()
