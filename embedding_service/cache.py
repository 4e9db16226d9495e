"""Redis cache of embeddings: raw float32 bytes under a key naming provider, model, dims, task and text hash.

A request may name a namespace (the gateway sends the user a text belongs to): its keys then live under
``emb:v1:ns:<namespace>:``, so deleting that user deletes them (``forget``). Texts without a namespace (the
security exemplars) are shared. The cache is an optimisation only: when Redis fails the service answers
uncached and says so in /health; only ``forget`` reports the failure, because a deletion must not be lost.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

KEY_VERSION = "v1"
# After a Redis failure, skip it for this long instead of paying a connection attempt on every request.
BYPASS_SECONDS = 5.0


def namespace_prefix(namespace: str) -> str:
    """Where a namespace's keys live; ``namespace`` is validated (letters, digits, ``_``, ``-``), so it can
    carry no glob character into the SCAN pattern of ``forget``."""
    return f"emb:{KEY_VERSION}:ns:{namespace}:"


def cache_key(
    provider: str, model: str, dimensions: int, task: str, text: str, namespace: str | None = None
) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    prefix = f"emb:{KEY_VERSION}:" if namespace is None else namespace_prefix(namespace)
    return f"{prefix}{provider}:{model}:{dimensions}:{task}:{digest}"


def create_redis(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url, socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=30
    )


class EmbeddingCache:
    """MGET lookups, pipelined SETEX writes; every Redis error degrades to a miss (never to a 500)."""

    def __init__(self, redis: aioredis.Redis, *, dimensions: int, ttl_seconds: int) -> None:
        self._redis = redis
        self._dimensions = dimensions
        self._ttl_seconds = ttl_seconds
        self._bypass_until = 0.0

    @property
    def bypassed(self) -> bool:
        return time.monotonic() < self._bypass_until

    async def get_many(self, keys: Sequence[str]) -> list[npt.NDArray[np.float32] | None]:
        """The cached vector for each key, or None (a miss, a corrupt value, or Redis unavailable)."""
        if not keys or self.bypassed:
            return [None] * len(keys)
        try:
            raw_values = await self._redis.mget(list(keys))
        except (RedisError, OSError) as exc:
            self._trip(exc)
            return [None] * len(keys)
        expected_bytes = self._dimensions * 4
        return [
            np.frombuffer(raw, dtype="<f4").astype(np.float32)
            if isinstance(raw, bytes) and len(raw) == expected_bytes
            else None
            for raw in raw_values
        ]

    async def set_many(self, vectors: Mapping[str, npt.NDArray[np.float32]]) -> None:
        if not vectors or self.bypassed:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, vector in vectors.items():
                    pipe.set(key, vector.astype("<f4").tobytes(), ex=self._ttl_seconds)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._trip(exc)

    async def forget(self, namespace: str) -> int:
        """Delete every vector cached under ``namespace``; returns how many went. Redis errors propagate
        (the caller must learn the deletion did not happen, to retry it)."""
        deleted = 0
        batch: list[bytes] = []
        async for key in self._redis.scan_iter(match=namespace_prefix(namespace) + "*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                deleted += int(await self._redis.delete(*batch))
                batch = []
        if batch:
            deleted += int(await self._redis.delete(*batch))
        return deleted

    async def ping(self) -> bool:
        """Ask Redis now (ignoring the bypass window); a success ends the bypass early."""
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            self._trip(exc)
            return False
        self._bypass_until = 0.0
        return True

    def _trip(self, exc: BaseException) -> None:
        if not self.bypassed:
            logger.warning("redis unavailable, serving uncached for %.0f s: %s", BYPASS_SECONDS, exc)
        self._bypass_until = time.monotonic() + BYPASS_SECONDS
