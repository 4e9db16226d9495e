"""Fixtures for the operator commands: a migrated database of their own (retention and reembed act on every
row they find, so they never run on the session database other tests share), a Redis DB of their own, and
the real gateway serving both on a loopback port."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from gateway.app import create_app
from gateway.config import SchedulerSettings
from scripts.localstack import EmbeddedPostgres, EmbeddedRedis
from tests.conftest import REDIS_PASSWORD, make_database
from tests.gateway.conftest import ADMIN_KEY, gateway_settings
from tests.servers import ThreadedServer

OPS_REDIS_DB = 7


@pytest.fixture(scope="module")
def ops_database_url(postgres_server: EmbeddedPostgres) -> Iterator[str]:
    """A migrated database for one test module."""
    from gateway.migrator import migrate

    name = "ops_" + uuid.uuid4().hex[:10]
    dsn = make_database(postgres_server, name)
    asyncio.run(migrate(dsn))
    try:
        yield dsn
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(scope="module")
def ops_redis_url(redis_server: EmbeddedRedis) -> str:
    """A logical Redis DB no other test uses (bot registration and user keys are global there)."""
    return redis_server.url(REDIS_PASSWORD, db=OPS_REDIS_DB)


@pytest.fixture(scope="module")
def embedding_url(ops_redis_url: str) -> Iterator[str]:
    """The real embedding service (local provider) on a loopback port."""
    from embedding_service.app import create_app as create_embedding_app
    from embedding_service.config import Settings as EmbeddingSettings

    settings = EmbeddingSettings.load(env_file=None, provider="local", redis_url=ops_redis_url)
    with ThreadedServer(create_embedding_app(settings), name="ops-embedding", startup_timeout=120) as server:
        yield server.base_url


@pytest.fixture(scope="module")
def gateway_url(ops_database_url: str, ops_redis_url: str, embedding_url: str) -> Iterator[str]:
    """The real gateway app (lifespan and all, scheduler off) on a loopback port."""
    settings = gateway_settings(
        ops_database_url,
        ops_redis_url,
        embedding_url,
        scheduler=SchedulerSettings(enabled=False, _env_file=None),  # type: ignore[call-arg]
    )
    with ThreadedServer(create_app(settings), name="ops-gateway", startup_timeout=60) as server:
        yield server.base_url


@pytest.fixture
def ops_env(
    ops_database_url: str, ops_redis_url: str, gateway_url: str, embedding_url: str
) -> dict[str, str]:
    """What an operator exports to point the commands at this deployment (not the local stack)."""
    return {
        "DATABASE_URL": ops_database_url,
        "REDIS_URL": ops_redis_url,
        "GATEWAY_URL": gateway_url,
        "EMBEDDING_SERVICE_URL": embedding_url,
        "ADMIN_API_KEY": ADMIN_KEY,
    }
