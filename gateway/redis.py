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
