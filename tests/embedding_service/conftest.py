"""Fixtures for the embedding service: the app with its lifespan run, over HTTP through ASGITransport.

The local model loads once per session (``local_client``); tests that need other settings start their own
app with ``app_factory``. Texts carry a uuid where a test must not see another test's cache entries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from embedding_service.app import create_app
from embedding_service.config import Settings
from embedding_service.providers import LocalProvider
from tests.fakes.gemini import FakeGemini, gemini_fake, gemini_fake_server  # noqa: F401  (fixtures)

AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def make_settings(redis_url: str, **values: Any) -> Settings:
    """Settings from these values only (the root conftest clears the environment's)."""
    return Settings.load(env_file=None, redis_url=redis_url, environment="testing", **values)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan entered, and a client that reaches it in process."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://embedding.test") as client:
            yield client


@pytest.fixture(scope="session")
def app_factory() -> AppFactory:
    """``async with app_factory(redis_url, **settings) as client``: an app of its own with these settings."""

    def start(redis_url: str, **values: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return running_app(make_settings(redis_url, **values))

    return start


@pytest.fixture(scope="session")
async def local_client(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The local-provider app with the session's Redis and default limits."""
    async with running_app(make_settings(redis_url)) as client:
        yield client


@pytest.fixture(scope="session")
async def local_provider() -> AsyncIterator[LocalProvider]:
    """The local model on its own, loaded once."""
    provider = await LocalProvider.load(threads=2)
    try:
        yield provider
    finally:
        await provider.aclose()


@pytest.fixture
async def gemini_client(redis_url: str, gemini_fake: FakeGemini) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    """The gemini-provider app pointed at the fake, with fast retries and a batch limit above 100."""
    settings = make_settings(
        redis_url,
        provider="gemini",
        gemini_api_key=gemini_fake.api_key,
        gemini_base_url=gemini_fake.base_url,
        max_batch=250,
        retry_base_delay_seconds=0.01,
    )
    async with running_app(settings) as client:
        yield client
