"""The Redis client, the per-user key rule and leased locks. Redis holds only what may be lost: caches, locks,
counters (server runs noeviction)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import LockNotOwnedError, RedisError

from gateway.config import RedisSettings

logger = logging.getLogger(__name__)


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


async def delete_user_keys(
    redis: aioredis.Redis, user_id: str, *, keep: tuple[str, ...] = (), also: tuple[str, ...] = ()
) -> int:
    """Delete every ``user:{id}:*`` key but those in ``keep`` (the deletion's own chat lock, released after
    it), and the keys in ``also`` (the user's keys named by an older rule); returns how many went."""
    deleted = int(await redis.delete(*also)) if also else 0
    batch: list[bytes] = []
    kept = {key.encode() for key in keep}
    async for key in redis.scan_iter(match=user_key(user_id, "*"), count=500):
        if key in kept:
            continue
        batch.append(key)
        if len(batch) >= 500:
            deleted += await redis.delete(*batch)
            batch = []
    if batch:
        deleted += await redis.delete(*batch)
    return deleted


LEASE_SECONDS = 10.0


class LeasedLock:
    """A Redis lock held on a short lease that a background task renews while its holder works.

    The lease, not the longest turn or job, bounds how long a lock can outlive its holder: a holder that dies
    (a killed replica, or a Redis restart that replayed the key from its AOF after the release was lost)
    leaves a key that expires within ``lease_seconds``. A renewal that fails while Redis is briefly away is
    retried and the holder carries on; a lease that lapsed meanwhile is lost (logged), as for a dead holder.
    """

    def __init__(self, redis: aioredis.Redis, name: str, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self.name = name
        self.lease_seconds = lease_seconds
        # thread_local=False: the renewing task must see the token the acquiring task got.
        self._lock = redis.lock(name, timeout=lease_seconds, thread_local=False)
        self._renewer: asyncio.Task[None] | None = None

    async def acquire(self, blocking_timeout: float | None = None) -> bool:
        """Take the lock, waiting up to ``blocking_timeout`` seconds (0: not at all, None: forever); True
        when taken, then renewed until ``release``. Redis errors propagate: the caller picks its fallback."""
        blocking = blocking_timeout is None or blocking_timeout > 0
        taken = bool(await self._lock.acquire(blocking=blocking, blocking_timeout=blocking_timeout))
        if taken:
            self._renewer = asyncio.create_task(self._renew(), name=f"lease:{self.name}")
        return taken

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self._lock.reacquire()
            except LockNotOwnedError:
                logger.warning("lock %s lapsed while held (Redis was away); no longer renewed", self.name)
                return
            except (RedisError, OSError) as exc:
                logger.warning("renewing lock %s failed, retrying: %s", self.name, exc)

    async def release(self) -> None:
        """Stop renewing and release; a release that fails is harmless (the lease runs out)."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        try:
            await self._lock.release()
        except (RedisError, OSError) as exc:  # LockError included: the lease had already lapsed
            logger.debug("releasing lock %s failed (its lease runs out): %s", self.name, exc)
