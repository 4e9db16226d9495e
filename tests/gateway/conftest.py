"""Gateway fixtures: the real app (lifespan and all) over ASGI, wired to the session's Postgres, Redis and a
real embedding service on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from gateway.app import create_app
from gateway.config import (
    AuthSettings,
    DatabaseSettings,
    EmbeddingClientSettings,
    RedisSettings,
    SchedulerSettings,
    ServerSettings,
    Settings,
)
from tests.servers import ThreadedServer

SERVICE_TOKEN = "service-token-for-tests-0123456789"
ADMIN_KEY = "admin-key-for-tests-0123456789abcd"


@pytest.fixture(scope="session")
def embedding_service_url(redis_url: str) -> Iterator[str]:
    from embedding_service.app import create_app as create_embedding_app
    from embedding_service.config import Settings as EmbeddingSettings

    settings = EmbeddingSettings.load(env_file=None, provider="local", redis_url=redis_url)
    with ThreadedServer(create_embedding_app(settings), name="embedding-service") as server:
        yield server.base_url


def gateway_settings(database_url: str, redis_url: str, embedding_url: str, **overrides: object) -> Settings:
    sections: dict[str, object] = {
        "database": DatabaseSettings(url=database_url, _env_file=None),  # type: ignore[call-arg]
        "redis": RedisSettings(url=redis_url, _env_file=None),  # type: ignore[call-arg]
        "auth": AuthSettings(
            gateway_service_token=SERVICE_TOKEN,
            admin_api_key=ADMIN_KEY,
            _env_file=None,  # type: ignore[call-arg]
        ),
        "embedding": EmbeddingClientSettings(url=embedding_url, _env_file=None),  # type: ignore[call-arg]
        "server": ServerSettings(max_body_bytes=32768, _env_file=None),  # type: ignore[call-arg]
        # Off unless a test turns it on: every test gateway shares one Redis and one database, and a scheduler
        # firing at wall-clock times (:00, :05, ...) would run real jobs over other tests' data and hold the
        # job locks those tests take themselves.
        "scheduler": SchedulerSettings(enabled=False, _env_file=None),  # type: ignore[call-arg]
    }
    sections.update(overrides)
    return Settings.load(env_file=None, **sections)


@pytest.fixture
def settings(database_url: str, redis_url: str, embedding_service_url: str) -> Settings:
    return gateway_settings(database_url, redis_url, embedding_service_url)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real gateway app for ``settings``, its lifespan (clients, services, scheduler) running."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def asgi_client(
    app: FastAPI, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to ``app`` in process (ASGI), optionally with auth headers on every call."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=headers) as http:
        yield http


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as http:
        yield http


def service_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def admin_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}
