"""Everything the companion keeps about a user: its export, and its deletion everywhere (the user's own and
the admin reset), with the retry of what failed.

Postgres goes last and in one statement (every per-user table cascades from ``user_profiles``); the stores
outside it are the ``UserDataStores`` registry. A store that fails is recorded in ``pending_deletions`` and
retried by the maintenance and health jobs through the same registry, each row under a lease and with no
pooled connection held while the stores are called.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg
import redis.asyncio as aioredis

from gateway.clock import Clock
from gateway.memory.service import MemoryService
from gateway.redis import CHAT_LOCK, QueuedLock, delete_user_keys, user_key
from gateway.users.repository import PendingDeletion, PendingDeletionRepository, UserProfileRepository
from gateway.users.schemas import UserDeletion, UserExport
from gateway.users.service import UserNotFoundError
from gateway.users.stores import UserDataStores

logger = logging.getLogger(__name__)

MAX_DELETION_ATTEMPTS = 20
RETRIES_PER_RUN = 100
# One retry waits for the user's chat lock (CHAT_LOCK_TIMEOUT_SECONDS, 120 s by default) and the memory writes
# behind their replies, then for the store: Letta lists the user's agents and deletes each one
# (LETTA_TIMEOUT_SECONDS, 60 s by default, per request); the vector index, the embedding service and Redis
# answer within seconds. About 5 minutes at worst with the defaults; a retry is cut off after RETRY_TIMEOUT
# (a failure, retried next run) whatever the settings, ...
RETRY_TIMEOUT = timedelta(minutes=10)
# ... and its claim on the row lasts longer than that plus recording the outcome, so two jobs never work on one
# row, and the row of a run that died (a crash, a shutdown) is retried by the first run after its lease.
DELETION_LEASE = timedelta(minutes=15)
# The store whose failure also covers the user's work queued for Postgres (both live in Redis).
REDIS = "redis"


class UserTurns(Protocol):
    """What exporting and deleting a user need of the chat pipeline (``ChatService``): its per-user lock, the
    memory writes behind its replies, and the user's work queued for Postgres."""

    async def settle(self, user_id: str) -> None:
        """Wait until the memory writes behind the user's replies so far have landed."""
        ...

    def exclusive(self, user_id: str) -> AbstractAsyncContextManager[None]:
        """Hold the user's chat lock with nothing of theirs in flight."""
        ...

    async def drop_queued(self, user_id: str) -> int:
        """Drop the user's queued interactions and memories; how many went."""
        ...


def redis_forgetter(
    redis: aioredis.Redis, also: Callable[[str], tuple[str, ...]]
) -> Callable[[str], Awaitable[int]]:
    """The Redis store: every ``user:{id}:*`` key (caches, their rate-limit bucket) but the chat lock the
    deletion holds and its line (messages waiting behind the deletion keep their places; both expire on their
    own), and the keys ``also(user_id)`` names."""

    async def forget(user_id: str) -> int:
        return await delete_user_keys(
            redis, user_id, keep=QueuedLock.keys_of(user_key(user_id, CHAT_LOCK)), also=also(user_id)
        )

    return forget


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # UUIDs, Decimals, vectors' repr never reach here (embedding columns are dropped)


class UserDataService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        turns: UserTurns,
        stores: UserDataStores,
        memory: MemoryService,
        clock: Clock,
    ) -> None:
        self.pool = pool
        self.turns = turns
        self.stores = stores
        self.memory = memory
        self.clock = clock

    async def export(self, user_id: str) -> UserExport:
        """Everything the companion keeps about the user, as JSON-ready data."""
        await self.turns.settle(user_id)
        repo = UserProfileRepository(self.pool)
        profile = await repo.get(user_id)
        if profile is None:
            raise UserNotFoundError(f"no companion exists for user {user_id}")
        tables = await repo.export_tables(user_id)
        memories = (await self.memory.export(user_id)).model_dump(mode="json")
        return UserExport(
            user_id=user_id,
            exported_at=self.clock.now(),
            profile=_jsonable(vars(profile)),
            memories=memories["memories"],
            memory_conflicts=memories["conflicts"],
            **{name: _jsonable(rows) for name, rows in tables.items()},
        )

    async def delete_everything(self, user_id: str) -> UserDeletion:
        """Delete everything about the user everywhere.

        Runs under the user's chat lock, so it is ordered with their messages: those sent before are answered
        (and their memories written) first, those sent after start a new companion. Their work queued for
        Postgres is dropped, so no replay brings them back.
        """
        async with self.turns.exclusive(user_id):
            return await self._delete(user_id)

    async def _delete(self, user_id: str) -> UserDeletion:
        profile = await UserProfileRepository(self.pool).get(user_id)
        pending: list[str] = []
        try:
            # Before the 404 check: a user met only while Postgres was down exists solely in these queues.
            queued = await self.turns.drop_queued(user_id)
        except Exception as exc:
            logger.warning("dropping %s's queued work failed: %s", user_id, exc)
            queued, pending = 0, [REDIS]
        if profile is None and not queued:
            raise UserNotFoundError(f"no companion exists for user {user_id}")
        removed, failed = await self.stores.forget_everywhere(user_id, skip=frozenset(pending))
        pending += failed
        async with self.pool.acquire() as conn, conn.transaction():
            await UserProfileRepository(conn).delete(user_id)
            for target in pending:
                agent_id = profile.letta_agent_id if target == "letta" and profile is not None else None
                await PendingDeletionRepository(conn).add(user_id, target, agent_id)
        self.memory.forget_user_caches(user_id)
        return UserDeletion(user_id=user_id, deleted=True, removed=["postgres", *removed], pending=pending)

    async def retry_pending(self) -> dict[str, int]:
        """Retry the external deletions that failed (``pending_deletions``), each under its user's chat lock.

        Each row is claimed on its own, with a lease (``DELETION_LEASE``), in one short statement, so two jobs
        never work on the same one; the deletion then runs holding no pooled connection (it waits for the chat
        lock and the stores, and Letta's forget takes a connection of its own). A success removes the row, a
        failure counts an attempt and frees it (given up after ``MAX_DELETION_ATTEMPTS``); a run that dies
        records nothing, and its row is retried once the lease has passed.
        """
        repo = PendingDeletionRepository(self.pool)
        retried = done = failed = 0
        after = 0
        while retried < RETRIES_PER_RUN:
            deletion = await repo.claim_next(MAX_DELETION_ATTEMPTS, after, DELETION_LEASE)
            if deletion is None:
                break
            after = deletion.id  # a row this run failed on waits for the next run
            retried += 1
            try:
                async with asyncio.timeout(RETRY_TIMEOUT.total_seconds()):
                    await self._forget(deletion)
            except Exception as exc:  # recorded on the row; retried next run
                failed += 1
                await repo.failed(deletion, _failure(exc))
                continue
            done += 1
            await repo.done(deletion)
        return {"retried": retried, "deleted": done, "failed": failed}

    async def _forget(self, deletion: PendingDeletion) -> None:
        async with self.turns.exclusive(deletion.user_id):
            if deletion.target == REDIS:
                await self.turns.drop_queued(deletion.user_id)
            await self.stores.forget(deletion.target, deletion.user_id)


def _failure(exc: Exception) -> str:
    """What ``pending_deletions.last_error`` keeps of a failed retry."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"TimeoutError: gave up after {RETRY_TIMEOUT.total_seconds():.0f} s"
    return f"{type(exc).__name__}: {exc}"[:500]
