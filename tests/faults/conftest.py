"""A stack of our own for fault tests: its Postgres, Redis and embedding service can be stopped for real and
started again on the same address, mid-conversation, without disturbing the session's shared stack."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from gateway.config import ChatLLMSettings, Settings
from scripts.localstack import EmbeddedPostgres, EmbeddedRedis, free_port
from tests.fakes.openai_server import FakeOpenAIServer
from tests.gateway.conftest import asgi_client, gateway_settings, running_app, service_auth
from tests.servers import ThreadedServer

MODEL = "fault-model"
DB_ROLE = "companion_faults"
DB_NAME = "companion_faults"


@dataclass
class FaultStack:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    redis_password: str
    embedding: ThreadedServer
    database_url: str

    @property
    def redis_url(self) -> str:
        return self.redis.url(self.redis_password)

    def stop_postgres(self) -> None:
        self.postgres.stop()

    def start_postgres(self) -> None:
        self.postgres.start()

    def kill_redis(self) -> None:
        self.redis.stop()

    def start_redis(self) -> None:
        self.redis.start(self.redis_password)

    def kill_embedding(self) -> None:
        self.embedding.stop()

    def start_embedding(self) -> None:
        self.embedding.start()


@pytest.fixture(scope="module")
def fault_stack() -> Iterator[FaultStack]:
    from embedding_service.app import create_app as create_embedding_app
    from embedding_service.config import Settings as EmbeddingSettings
    from gateway.migrator import migrate

    # Not under pytest's tmp root (mode 700): the Postgres system user must reach its data directory.
    home = Path(tempfile.mkdtemp(prefix="companion-faults-"))
    postgres = EmbeddedPostgres(home, free_port())
    redis = EmbeddedRedis(home, free_port())
    password = "faults-" + uuid.uuid4().hex
    embedding: ThreadedServer | None = None
    try:
        postgres.start()
        postgres.ensure_database(DB_NAME, DB_ROLE, password)
        database_url = postgres.dsn(DB_NAME, DB_ROLE, password)
        asyncio.run(migrate(database_url))
        redis.start(password)
        settings = EmbeddingSettings.load(env_file=None, provider="local", redis_url=redis.url(password))
        embedding = ThreadedServer(create_embedding_app(settings), name="fault-embedding", port=free_port())
        embedding.start()
        yield FaultStack(postgres, redis, password, embedding, database_url)
    finally:
        if embedding is not None:
            embedding.stop()
        redis.stop()
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def fault_settings(fault_stack: FaultStack, openai_fake: FakeOpenAIServer) -> Settings:
    return gateway_settings(
        fault_stack.database_url,
        fault_stack.redis_url,
        fault_stack.embedding.base_url,
        chat_llm=ChatLLMSettings(  # type: ignore[call-arg]
            llm_base_url=openai_fake.base_url,
            primary_llm_model=MODEL,
            fallback_llm_model=None,
            llm_timeout_seconds=2,
            _env_file=None,
        ),
    )


@pytest.fixture
async def fault_app(fault_settings: Settings, fault_stack: FaultStack) -> AsyncIterator[FastAPI]:
    async with running_app(fault_settings) as application:
        yield application
    # Whatever a test stopped comes back for the next one.
    if fault_stack.postgres.running_pid() is None:
        fault_stack.start_postgres()
    if fault_stack.redis.running_pid() is None:
        fault_stack.start_redis()
    if fault_stack.embedding.port is None:
        fault_stack.start_embedding()


@pytest.fixture
async def http(fault_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(fault_app, service_auth()) as client:
        yield client


async def counts(database_url: str, user_id: str) -> tuple[int, int]:
    """(interactions, live memories) of the user, read straight from Postgres."""
    conn = await asyncpg.connect(database_url)
    try:
        interactions = await conn.fetchval("SELECT count(*) FROM interactions WHERE user_id = $1", user_id)
        memories = await conn.fetchval(
            "SELECT count(*) FROM memories WHERE user_id = $1 AND deleted_at IS NULL", user_id
        )
    finally:
        await conn.close()
    return int(interactions), int(memories)
