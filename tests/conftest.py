"""The shared test harness: real Postgres (pgserver) and Redis for the whole session, fresh ids per test.

Everything outside this repository is faked by local servers speaking its real wire protocol
(see tests/fakes/); nothing here reaches the internet.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from scripts.localstack import EmbeddedPostgres, EmbeddedRedis, free_port
from tests.fakes.openai_server import openai_fake, openai_fake_server  # noqa: F401  (fixtures)
from tests.letta.fixtures import (  # noqa: F401  (fixtures, and the hook that installs Letta once)
    letta_server,
    letta_server_url,
    pytest_collection_finish,
)

TEST_DB_ROLE = "companion_test"
TEST_DB_PASSWORD = "test-password-" + uuid.uuid4().hex[:8]
REDIS_PASSWORD = "test-redis-" + uuid.uuid4().hex[:8]

# Settings must come from the tests, never from a developer's .env or shell.
_OWN_PREFIXES = (
    "DATABASE_",
    "REDIS_",
    "GATEWAY_",
    "EMBEDDING_",
    "ADMIN_",
    "GEMINI_",
    "CHUTES_",
    "GROQ_",
    "LLM_",
    "LETTA_",
)
for _var in list(os.environ):
    if _var.startswith(_OWN_PREFIXES) or _var in {"ENVIRONMENT", "DISCORD_TOKEN", "COMPANION_HOME"}:
        del os.environ[_var]


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A directory for a stack's state, not under pytest's tmp root: pytest resets that root to mode 700,
    which would lock the Postgres system user out when the tests run as root."""
    path = Path(tempfile.mkdtemp(prefix="companion-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def stack_home() -> Iterator[Path]:
    with scratch_dir() as home:
        yield home


@pytest.fixture
def stack_dir() -> Iterator[Path]:
    """A fresh state directory for one test that runs its own stack."""
    with scratch_dir() as path:
        yield path


@pytest.fixture(scope="session")
def postgres_server(stack_home: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(stack_home, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(stack_home: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(stack_home, free_port())
    server.start(REDIS_PASSWORD)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url(REDIS_PASSWORD)


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def make_database(server: EmbeddedPostgres, name: str) -> str:
    """A new empty database with pgvector, owned by the test role; returns its DSN."""
    server.ensure_database(name, TEST_DB_ROLE, TEST_DB_PASSWORD)
    return server.dsn(name, TEST_DB_ROLE, TEST_DB_PASSWORD)


@pytest.fixture
def empty_database(postgres_server: EmbeddedPostgres) -> Iterator[str]:
    """A throw-away database with nothing applied, for migration tests."""
    name = "t_" + uuid.uuid4().hex[:12]
    dsn = make_database(postgres_server, name)
    try:
        yield dsn
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(scope="session")
async def database_url(postgres_server: EmbeddedPostgres) -> str:
    """The session's database with every migration applied."""
    from gateway.migrator import apply_migrations

    dsn = make_database(postgres_server, "companion_test")
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    return dsn


@pytest.fixture
async def db_conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    conn = await asyncpg.connect(database_url)
    tx = conn.transaction()
    await tx.start()
    try:
        yield conn
    finally:
        await tx.rollback()
        await conn.close()


@pytest.fixture
def user_id() -> str:
    """A Discord-like snowflake unique to this test, so tests never see each other's rows."""
    return str(10**17 + uuid.uuid4().int % 10**17)
