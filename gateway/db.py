"""The asyncpg pool. The request (or job) owns the transaction; repositories never commit."""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from gateway.config import DatabaseSettings

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


def _encode_vector(value: Sequence[float] | npt.NDArray[Any] | str) -> bytes:
    if isinstance(value, str):  # pgvector's text form, "[1,2,3]"
        value = [float(x) for x in value.strip("[] ").split(",") if x.strip()]
    array = np.asarray(value, dtype=">f4")
    return struct.pack(">HH", array.shape[0], 0) + array.tobytes()


def _decode_vector(data: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(data, dtype=">f4", offset=4).astype(np.float32)


async def register_vector_codec(conn: asyncpg.Connection) -> None:
    """pgvector's ``vector`` in binary: numpy arrays (or lists) in, float32 numpy arrays out."""
    await conn.set_type_codec(
        "vector", schema="public", encoder=_encode_vector, decoder=_decode_vector, format="binary"
    )


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await register_vector_codec(conn)


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
