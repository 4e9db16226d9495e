"""The Redis client. Redis holds only what may be lost: caches, locks, counters (server runs noeviction)."""

from __future__ import annotations

import redis.asyncio as aioredis

from gateway.config import RedisSettings


def create_redis(settings: RedisSettings) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        settings.url.get_secret_value(),
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
    )
