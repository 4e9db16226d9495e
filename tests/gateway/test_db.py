"""The gateway's pool gives connections back reset only when their session holds state of its own (D16)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from gateway.config import DatabaseSettings
from gateway.db import create_pool, keeps_session_state
from gateway.memory.pgvector_repository import BUILD_LOCK_KEY, PgVectorRepository

ADVISORY_LOCKS = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"


@pytest.fixture
async def pool_of_one(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """One connection, so every acquire gets the one given back before."""
    settings = DatabaseSettings(url=database_url, pool_min_size=1, pool_max_size=1, _env_file=None)  # type: ignore[call-arg]
    pool = await create_pool(settings)
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_build_lock_left_behind_by_a_cancelled_build_is_released_with_its_connection(
    pool_of_one: asyncpg.Pool,
) -> None:
    """The index build takes a session lock and a session lock timeout; if its task dies before undoing them,
    the next user of the connection finds neither, and another replica can build."""
    async with pool_of_one.acquire() as conn:
        repo = PgVectorRepository(conn)
        await repo.lock_builds()
        await repo.set_lock_timeout("7s")
        assert await conn.fetchval(ADVISORY_LOCKS) == 1
        pid = conn.get_server_pid()
    async with pool_of_one.acquire() as conn:
        assert conn.get_server_pid() == pid  # the same session
        assert await conn.fetchval(ADVISORY_LOCKS) == 0
        assert await conn.fetchval("SELECT current_setting('lock_timeout')") == "0"
        assert await conn.fetchval("SELECT pg_try_advisory_lock($1)", BUILD_LOCK_KEY)
        await conn.execute("SELECT pg_advisory_unlock($1)", BUILD_LOCK_KEY)


async def test_a_marked_session_is_reset_once(pool_of_one: asyncpg.Pool) -> None:
    async with pool_of_one.acquire() as conn:
        keeps_session_state(conn)
        await conn.execute("SELECT set_config('application_name', 'marked', false)")
    async with pool_of_one.acquire() as conn:
        assert await conn.fetchval("SELECT current_setting('application_name')") == ""
        await conn.execute("SELECT set_config('application_name', 'unmarked', false)")
    async with pool_of_one.acquire() as conn:
        # Unmarked, it was given back as it was: no reset round trip on an ordinary release. This is why state
        # of a session's own must be marked (tests/test_architecture.py checks the code does).
        assert await conn.fetchval("SELECT current_setting('application_name')") == "unmarked"
        keeps_session_state(conn)


async def test_a_transaction_left_open_is_still_rolled_back(pool_of_one: asyncpg.Pool) -> None:
    async with pool_of_one.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("CREATE TABLE left_open (x int)")
    async with pool_of_one.acquire() as conn:
        assert await conn.fetchval("SELECT to_regclass('left_open')") is None
