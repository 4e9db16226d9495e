"""Memories of a conversation are written behind the reply, but never lost.

``submit`` starts the write in the background and returns at once, so the user does not wait for importance
scoring and embedding. A write that fails because Postgres is unreachable is queued in Redis
(``pending:memories``, a list of JSON records) and replayed by ``replay`` (at start and by the maintenance
job); if Redis is down too, the record stays in this process's own queue and is retried on the next
``replay``. ``drain`` waits for every write in flight (graceful shutdown, tests), ``user_idle`` for one user's
(the next turn, deleting the user). Deleting a user drops their queued records (``PendingQueue.drop_user``);
a replay holds the record's user lock, so it never races that.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.db import DATABASE_UNAVAILABLE
from gateway.errors import CompanionError
from gateway.memory.schemas import MemoryType, Speaker
from gateway.memory.service import MemoryInput, MemoryService

logger = logging.getLogger(__name__)

PENDING_KEY = "pending:memories"
PENDING_INTERACTIONS_KEY = "pending:interactions"

# LPOP only if the head is still the record just handled: a deletion may have dropped it meanwhile, or
# another replica's replay taken it, and a blind LPOP would then remove (lose) the record behind it.
POP_IF_HEAD_LUA = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  return 1
end
return 0
"""

Hold = Callable[[dict[str, Any]], AbstractAsyncContextManager[object]]


def _no_hold(record: dict[str, Any]) -> AbstractAsyncContextManager[object]:
    return nullcontext()


def _encode(user_id: str, item: MemoryInput) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "id": str(item.id) if item.id else None,
        "content": item.content,
        "memory_type": item.memory_type.value,
        "speaker": item.speaker.value if item.speaker else None,
        "importance": item.importance,
        "importance_source": item.importance_source,
        "created_at": item.created_at.isoformat() if item.created_at else None,
        "emotion_context": item.emotion_context,
        "pad_context": item.pad_context,
        "interaction_id": item.interaction_id,
        "conversation_id": item.conversation_id,
        "context": list(item.context),
        "origin_channel_id": item.origin_channel_id,
        "origin_guild_id": item.origin_guild_id,
    }


def _decode(data: dict[str, Any]) -> tuple[str, MemoryInput]:
    created = data.get("created_at")
    return data["user_id"], MemoryInput(
        content=data["content"],
        # A record queued before ids were chosen up front has none: it can only be stored once anyway.
        id=UUID(data["id"]) if data.get("id") else None,
        memory_type=MemoryType(data["memory_type"]),
        speaker=Speaker(data["speaker"]) if data.get("speaker") else None,
        importance=data.get("importance"),
        importance_source=data.get("importance_source"),
        created_at=datetime.fromisoformat(created) if created else None,
        emotion_context=data.get("emotion_context"),
        pad_context=data.get("pad_context"),
        interaction_id=data.get("interaction_id"),
        conversation_id=data.get("conversation_id"),
        context=tuple(data.get("context") or ()),
        # A record queued before origins existed has none: private, the safe default.
        origin_channel_id=data.get("origin_channel_id"),
        origin_guild_id=data.get("origin_guild_id"),
    )


class PendingQueue:
    """A FIFO of JSON records in Redis (``key``), with this process's own deque when Redis is down too."""

    def __init__(self, redis: aioredis.Redis, key: str) -> None:
        self.redis = redis
        self.key = key
        self._local: deque[str] = deque()

    async def push(self, *records: dict[str, Any]) -> None:
        """Append ``records`` in order (one RPUSH, so a batch is queued whole or not at all in Redis)."""
        encoded = [json.dumps(record, default=str) for record in records]
        if not encoded:
            return
        try:
            await self.redis.rpush(self.key, *encoded)
        except (RedisError, OSError) as exc:
            logger.warning(
                "redis unavailable too; %d records for %s held in process: %s", len(encoded), self.key, exc
            )
            self._local.extend(encoded)

    async def size(self) -> int:
        try:
            in_redis = int(await self.redis.llen(self.key))
        except (RedisError, OSError):
            in_redis = 0
        return in_redis + len(self._local)

    async def drain_into(
        self, handle: Callable[[dict[str, Any]], Awaitable[bool]], hold: Hold = _no_hold
    ) -> int:
        """Feed records to ``handle`` in order, removing each it accepts; stops at the first refusal.

        Each record is handled inside ``hold(record)`` (its user's lock), and only if it is still queued
        once that is held: a record dropped meanwhile (its user deleted) is skipped, never replayed."""
        done = 0
        while self._local:
            raw = self._local[0]
            try:
                async with hold(json.loads(raw)):
                    if not self._local or self._local[0] is not raw:
                        continue  # dropped while we waited
                    if not await handle(json.loads(raw)):
                        return done
                    self._local.popleft()
            except CompanionError as exc:  # the user's lock stayed busy: try again on the next replay
                logger.info("replay of %s paused: %s", self.key, exc.message)
                return done
            done += 1
        while True:
            try:
                head = await self.redis.lindex(self.key, 0)
                if head is None:
                    return done
                async with hold(json.loads(head)):
                    if await self.redis.lindex(self.key, 0) != head:
                        continue  # dropped or taken by another replay while we waited
                    if not await handle(json.loads(head)):
                        return done
                    await self.redis.eval(POP_IF_HEAD_LUA, 1, self.key, head)
            except (RedisError, OSError):
                return done
            except CompanionError as exc:
                logger.info("replay of %s paused: %s", self.key, exc.message)
                return done
            done += 1

    async def drop_user(self, user_id: str) -> int:
        """Remove every record of ``user_id`` (in Redis and in this process); returns how many went. Redis
        errors propagate: the caller records the deletion as pending."""
        kept = deque(raw for raw in self._local if json.loads(raw).get("user_id") != user_id)
        dropped = len(self._local) - len(kept)
        self._local = kept
        queued: list[str] = await self.redis.lrange(self.key, 0, -1)  # type: ignore[assignment]  # bytes here
        theirs = {raw for raw in queued if json.loads(raw).get("user_id") == user_id}
        for raw in theirs:  # the exact bytes LRANGE returned, so LREM finds them
            dropped += int(await self.redis.lrem(self.key, 0, raw))
        return dropped


class MemoryWriter:
    def __init__(self, memory: MemoryService, redis: aioredis.Redis) -> None:
        self.memory = memory
        self.redis = redis
        self._tasks: set[asyncio.Task[None]] = set()
        self._by_user: dict[str, set[asyncio.Task[None]]] = {}
        self.queue = PendingQueue(redis, PENDING_KEY)  # what Postgres could not take yet
        self.written = 0
        self.queued = 0

    def submit(self, user_id: str, items: Sequence[MemoryInput]) -> None:
        if not items:
            return
        # Ids chosen now travel with a queued retry: a write that failed after its rows were stored (the
        # embedding or the index failed) is replayed without storing them twice.
        items = [item if item.id else replace(item, id=uuid4()) for item in items]
        task = asyncio.create_task(self._write(user_id, items), name=f"memory-write-{user_id}")
        self._tasks.add(task)
        self._by_user.setdefault(user_id, set()).add(task)
        task.add_done_callback(lambda done: self._forget(user_id, done))

    def _forget(self, user_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        tasks = self._by_user.get(user_id)
        if tasks is not None:
            tasks.discard(task)
            if not tasks:
                del self._by_user[user_id]

    async def user_idle(self, user_id: str) -> None:
        """Wait for this user's writes in flight, so the next message recalls the previous one."""
        tasks = self._by_user.get(user_id)
        if tasks:
            await asyncio.wait(set(tasks))

    async def _write(self, user_id: str, items: list[MemoryInput]) -> None:
        try:
            await self.memory.store_many(user_id, items)
            self.written += len(items)
        except DATABASE_UNAVAILABLE as exc:
            logger.warning("memory write for %s queued (postgres unavailable): %s", user_id, exc)
            await self._queue(user_id, items)
        except asyncpg.ForeignKeyViolationError:
            logger.info("memory write for %s dropped: the user was deleted meanwhile", user_id)
        except asyncpg.DataError:
            # Postgres can never store this text (e.g. a NUL character): replaying it would block the queue.
            logger.exception("memory write for %s refused by the database; not stored", user_id)
        except Exception:
            logger.exception("memory write for %s failed; queued for replay", user_id)
            await self._queue(user_id, items)

    async def _queue(self, user_id: str, items: Sequence[MemoryInput]) -> None:
        self.queued += len(items)
        await self.queue.push(*(_encode(user_id, item) for item in items))

    async def drain(self) -> None:
        """Wait for every write in flight (they queue themselves on failure, so none is lost)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def pending(self) -> int:
        return await self.queue.size()

    async def replay(self, hold: Hold = _no_hold) -> int:
        """Store queued memories (each inside ``hold(record)``, its user's lock); returns how many went in.
        Stops at the first failure (retried later)."""
        return await self.queue.drain_into(lambda record: self._store_one(*_decode(record)), hold)

    async def _store_one(self, user_id: str, item: MemoryInput) -> bool:
        """True when the record is done with (stored, or can never be); False to retry it later."""
        try:
            await self.memory.store_many(user_id, [item])
        except asyncpg.ForeignKeyViolationError:
            return True  # the user is gone: nothing to keep
        except DATABASE_UNAVAILABLE as exc:
            logger.warning("memory replay paused: %s", exc)
            return False
        except Exception:
            # A record that fails for another reason would block every record behind it: log it and move on.
            logger.exception("queued memory for %s could not be stored; dropped", user_id)
            return True
        self.written += 1
        return True
