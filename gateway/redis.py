"""The Redis client, the per-user key rule and leased locks. Redis holds only what may be lost: caches, locks,
counters (server runs noeviction)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

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
# The user's chat lock (``user:{id}:chat-lock`` and its line): held by each turn and by the user's deletion.
CHAT_LOCK = "chat-lock"


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


# Discord's epoch (2015-01-01 UTC) in Unix milliseconds: a snowflake is (milliseconds since it) << 22 | 22 bits.
DISCORD_EPOCH_MS = 1_420_070_400_000
_ORDER_DIGITS = 20  # a snowflake fits in 64 bits: at most 20 decimal digits
_SEQUENCE_KEY = "queued-lock-sequence"  # a plain counter, no user data: breaks ties within a millisecond

# Joins (or rejoins) the queue, renews the caller's liveness and drops dead waiters at the head, atomically.
# Returns the caller's position (0: first in line). Members sort by their zero-padded order key (all scores 0).
_QUEUE_SCRIPT = """
local queue, alive = KEYS[1], KEYS[2]
local member, lease_ms, ttl_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', queue, 0, member)
redis.call('HSET', alive, member, now + lease_ms)
redis.call('PEXPIRE', queue, ttl_ms)
redis.call('PEXPIRE', alive, ttl_ms)
while true do
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  if head == member then return 0 end
  if tonumber(redis.call('HGET', alive, head) or '0') >= now then
    return redis.call('ZRANK', queue, member)
  end
  redis.call('ZREM', queue, head)
  redis.call('HDEL', alive, head)
end
"""


def snowflake_order(message_id: str | None) -> int | None:
    """The order key a Discord id carries (its creation time, then a counter), or None for any other id."""
    if message_id is None or not message_id.isdigit() or len(message_id) > _ORDER_DIGITS:
        return None
    value = int(message_id)
    return value if 0 < value < 2**64 else None


class QueuedLock:
    """A ``LeasedLock`` whose waiters, wherever they run, are served in the order of their keys.

    A plain Redis lock is not fair: the process that releases it hands over to its own next waiter at once while
    other processes poll, so one user's messages reached through two replicas were answered out of order. Here
    each waiter joins a sorted set under ``<name>:queue`` and may take the lock only when it is first in line.
    The key is the Discord message id when the caller has one (a snowflake orders messages by when they were
    sent, whichever replica received them first), else the arrival time on Redis's clock, shaped like a
    snowflake so both kinds compare. A waiter renews its place while it waits; one whose process died drops out
    of the line within a lease, so it never blocks those behind it.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        name: str,
        *,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = 0.02,
    ) -> None:
        self.redis = redis
        self.lock = LeasedLock(redis, name, lease_seconds=lease_seconds)
        _, self._queue, self._alive = self.keys_of(name)
        self._lease_ms = int(lease_seconds * 1000)
        self._poll_seconds = poll_seconds
        self._script = redis.register_script(_QUEUE_SCRIPT)

    @staticmethod
    def keys_of(name: str) -> tuple[str, ...]:
        """The Redis keys of the lock ``name`` and its line (kept when the rest of a user's keys go)."""
        return (name, f"{name}:queue", f"{name}:alive")

    async def arrival_order(self) -> int:
        """A key for a waiter without an id of its own: now on Redis's clock, as a snowflake would say it."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.time()
        pipe.incr(_SEQUENCE_KEY)
        (seconds, micros), sequence = await pipe.execute()
        millis = int(seconds) * 1000 + int(micros) // 1000
        return (max(0, millis - DISCORD_EPOCH_MS) << 22) | (int(sequence) & 0x3FFFFF)

    async def acquire(self, order: int | None, within_seconds: float) -> bool:
        """Wait in line (``order``: the caller's key, None for its arrival) and take the lock when first, within
        ``within_seconds``; True when taken, then renewed until ``release``. Redis errors propagate."""
        if order is None:
            order = await self.arrival_order()
        member = f"{order:0{_ORDER_DIGITS}d}:{uuid.uuid4().hex}"
        deadline = time.monotonic() + within_seconds
        ttl_ms = int((within_seconds + 60) * 1000)
        try:
            while True:
                position = int(
                    await self._script(keys=[self._queue, self._alive], args=[member, self._lease_ms, ttl_ms])
                )
                if position == 0 and await self.lock.acquire(blocking_timeout=0):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                # First and second in line watch closely (the handover is theirs); the rest only keep their place.
                pause = self._poll_seconds if position <= 1 else min(0.25, self._lease_ms / 4000)
                await asyncio.sleep(min(pause, remaining))
        finally:
            await self._leave(member)

    async def _leave(self, member: str) -> None:
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.zrem(self._queue, member)
            pipe.hdel(self._alive, member)
            await pipe.execute()
        except (RedisError, OSError) as exc:  # our place lapses within a lease
            logger.debug("leaving the line of %s failed: %s", self.lock.name, exc)

    async def release(self) -> None:
        await self.lock.release()
