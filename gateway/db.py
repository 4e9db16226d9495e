"""The asyncpg pool. The request (or job) owns the transaction; repositories never commit."""

from __future__ import annotations

import json
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from pgvector.asyncpg import register_vector

from gateway.config import DatabaseSettings

# What a repository runs its statements on: the pool (one statement), a connection, or the pooled connection
# ``pool.acquire()`` yields (the caller's transaction).
Connection: TypeAlias = asyncpg.Connection | asyncpg.Pool | PoolConnectionProxy

# What "Postgres is unreachable" looks like from asyncpg: refused or reset connections, a server shutting
# down or starting, a connection that died mid-query, a pool that cannot connect in time. Callers with a
# degraded mode (docs/architecture.md#decisions, D12) catch exactly these; any other database error is a bug
# and propagates.
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    # pgvector's ``vector`` in binary: lists or numpy arrays in, ``pgvector.Vector`` out.
    await register_vector(conn)


async def create_pool(settings: DatabaseSettings) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn=settings.url.get_secret_value(),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        command_timeout=settings.command_timeout_seconds,
        init=_init_connection,
    )
    assert pool is not None
    return pool


async def ping(pool: asyncpg.Pool, acquire_timeout: float) -> None:
    """One round trip through the pool (readiness checks); a pool with no free connection for
    ``acquire_timeout`` seconds fails it."""
    async with pool.acquire(timeout=acquire_timeout) as conn:
        await conn.fetchval("SELECT 1")
