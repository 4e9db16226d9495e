"""The Redis client. Redis holds only what may be lost: caches, locks, counters (server runs noeviction)."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from gateway.config import RedisSettings


def create_redis(settings: RedisSettings) -> aioredis.Redis:
    # One quick retry, short timeouts: a dead Redis must cost milliseconds per call, not seconds, because
    # every caller has a fallback (no cache, in-process locks).
    return aioredis.Redis.from_url(
        settings.url.get_secret_value(),
        socket_connect_timeout=1,
        socket_timeout=2,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=1),
    )


USER_KEY_PREFIX = "user"


def user_key(user_id: str, *parts: str) -> str:
    """The one naming rule for per-user Redis keys (``user:{id}:...``), so deleting a user finds them all."""
    return ":".join((USER_KEY_PREFIX, user_id, *parts))


async def delete_user_keys(redis: aioredis.Redis, user_id: str) -> int:
    """Delete every ``user:{id}:*`` key; returns how many went."""
    deleted = 0
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=user_key(user_id, "*"), count=500):
        batch.append(key)
        if len(batch) >= 500:
            deleted += await redis.delete(*batch)
            batch = []
    if batch:
        deleted += await redis.delete(*batch)
    return deleted
