"""Personality fixtures: a real PersonalityService over the session's Postgres and Redis, with the local
appraiser and quirk miner (tests that exercise Groq build their own against the fake server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
import redis.asyncio as aioredis

from gateway.clock import SystemClock
from gateway.config import DatabaseSettings, PersonalitySettings
from gateway.db import create_pool
from gateway.personality.profiles import PersonalityProfile
from gateway.personality.service import PersonalityService
from gateway.users.service import UsersService

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # a Monday noon; every test runs on its own clock
DRIFT_RATE = 0.01


def personality_settings(**overrides: object) -> PersonalitySettings:
    return PersonalitySettings(_env_file=None, **overrides)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(
        DatabaseSettings(url=database_url, pool_max_size=20, _env_file=None)  # type: ignore[call-arg]
    )
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def service(pool: asyncpg.Pool, redis_client: aioredis.Redis) -> PersonalityService:
    """The service as the gateway builds it when no Groq key is set."""
    return PersonalityService.create(
        pool, redis_client, None, personality_settings(), DRIFT_RATE, users=UsersService(pool, SystemClock())
    )


@pytest.fixture
async def companion(service: PersonalityService, user_id: str) -> str:
    """A user whose curious_companion personality was initialised at T0."""
    await service.initialize(user_id, profile=PersonalityProfile.CURIOUS_COMPANION, username="alice", now=T0)
    return user_id
