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


# The server processes behind pooled connections whose session holds state that no transaction ends: a session
# advisory lock, a setting changed for the session. Only these are reset when given back (below).
_SESSION_STATE: set[int] = set()


def keeps_session_state(conn: asyncpg.Connection | PoolConnectionProxy) -> None:
    """Say so before giving a pooled connection's session state of its own (``pg_advisory_lock``,
    ``set_config(..., false)``, ``SET`` without ``LOCAL``, ``LISTEN``): when it is given back, the pool resets
    its session, even when the code that would have undone the state never ran (a cancelled task)."""
    _SESSION_STATE.add(conn.get_server_pid())


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """What the pool does to a connection given back, after asyncpg has rolled back an open transaction:
    asyncpg's full reset (releasing advisory locks, ``CLOSE ALL``, ``UNLISTEN *``, ``RESET ALL``) for a session
    marked by ``keeps_session_state``, nothing for the others. The full reset is a round trip on every
    release, on the path of every recall (docs/architecture.md#decisions, D16)."""
    pid = conn.get_server_pid()
    if pid in _SESSION_STATE:
        _SESSION_STATE.discard(pid)
        await conn.execute(conn.get_reset_query())


async def create_pool(settings: DatabaseSettings) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn=settings.url.get_secret_value(),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        command_timeout=settings.command_timeout_seconds,
        init=_init_connection,
        reset=_reset_connection,
    )
    assert pool is not None
    return pool


async def ping(pool: asyncpg.Pool, acquire_timeout: float) -> None:
    """One round trip through the pool (readiness checks); a pool with no free connection for
    ``acquire_timeout`` seconds fails it."""
    async with pool.acquire(timeout=acquire_timeout) as conn:
        await conn.fetchval("SELECT 1")
