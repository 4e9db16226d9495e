"""Users: the profile the companion keeps for each Discord user, its lifecycle, export and deletion.

Lifecycle: ``active`` on every message; ``dormant`` after ``DORMANT_AFTER_DAYS`` without one (set by the
maintenance job via ``mark_dormant``); ``inactive`` = soft-deleted (kept, never contacted, active again
when they write); ``banned`` (set by an admin; the chat pipeline refuses them). Deleting a user removes
everything everywhere: the vector index, the Letta agent, Redis keys, then Postgres (every table cascades
from the profile). An external store that fails is recorded in ``pending_deletions`` and retried.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from gateway.context import AppContext
from gateway.errors import CompanionError, NotFoundError
from gateway.redis import delete_user_keys, user_key
from gateway.security import service as security_service
from gateway.users.repository import UserProfileRepository
from gateway.users.schemas import UserDeletion, UserExport, UserProfileRead, UserSettingsUpdate

logger = logging.getLogger(__name__)

DORMANT_AFTER_DAYS = 30


class UserNotFoundError(NotFoundError):
    pass


class UserBannedError(CompanionError):
    status_code = 403


def utcnow() -> datetime:
    return datetime.now(UTC)


async def get_profile(conn: asyncpg.Connection | asyncpg.Pool, user_id: str) -> UserProfileRead:
    """The user's profile; UserNotFoundError when the companion has never met them."""
    row = await UserProfileRepository(conn).get(user_id)
    if row is None:
        raise UserNotFoundError(f"no companion exists for user {user_id}")
    return UserProfileRead.model_validate(row)


async def update_settings(
    pool: asyncpg.Pool, user_id: str, update: UserSettingsUpdate, now: datetime | None = None
) -> UserProfileRead:
    changes = update.model_dump(exclude_none=True)
    row = await UserProfileRepository(pool).update_settings(user_id, changes, now or utcnow())
    if row is None:
        raise UserNotFoundError(f"no companion exists for user {user_id}")
    return UserProfileRead.model_validate(row)


async def mark_dormant(pool: asyncpg.Pool, now: datetime) -> int:
    return await UserProfileRepository(pool).mark_dormant(now - timedelta(days=DORMANT_AFTER_DAYS), now)


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


async def export(context: AppContext, user_id: str) -> UserExport:
    repo = UserProfileRepository(context.pool)
    profile = await repo.get(user_id)
    if profile is None:
        raise UserNotFoundError(f"no companion exists for user {user_id}")
    tables = await repo.export_tables(user_id)
    memories = await context.memory.export(user_id)
    dumped = memories.model_dump(mode="json")
    return UserExport(
        user_id=user_id,
        exported_at=utcnow(),
        profile=_jsonable(profile),
        memories=dumped["memories"],
        memory_conflicts=dumped["conflicts"],
        **{name: _jsonable(rows) for name, rows in tables.items()},
    )


async def delete_everything(context: AppContext, user_id: str) -> UserDeletion:
    """Delete everything about the user everywhere (the user's own deletion and the admin reset).

    Runs under the user's chat lock (``ChatService.exclusive``), so it is ordered with their messages: those
    sent before are answered (and their memories written) first, those sent after start a new companion.
    Their work queued for Postgres is dropped, so no replay brings them back. Stores that fail are recorded in
    ``pending_deletions`` and retried by the maintenance and health jobs.
    """
    async with context.chat.exclusive(user_id):
        return await _delete_everything(context, user_id)


async def delete_redis_keys(context: AppContext, user_id: str) -> None:
    """Every Redis key of the user (caches, their rate-limit bucket, security counters) but the chat lock the
    deletion holds, which goes when it is released right after."""
    await delete_user_keys(
        context.redis,
        user_id,
        keep=(user_key(user_id, "chat-lock"),),
        also=security_service.user_redis_keys(user_id),
    )


async def _delete_everything(context: AppContext, user_id: str) -> UserDeletion:
    repo = UserProfileRepository(context.pool)
    profile = await repo.get(user_id)
    removed: list[str] = []
    pending: list[str] = []
    try:
        # Before the 404 check: a user met only while Postgres was down exists solely in these queues.
        queued = await context.chat.drop_queued(user_id)
    except Exception as exc:
        logger.warning("dropping %s's queued work failed: %s", user_id, exc)
        queued, pending = 0, ["redis"]
    if profile is None and not queued:
        raise UserNotFoundError(f"no companion exists for user {user_id}")
    try:
        await context.memory.delete_user_index(user_id)
        removed.append("vector_index")
    except Exception as exc:  # any store failure is recorded and retried
        logger.warning("deleting %s from the vector index failed: %s", user_id, exc)
        pending.append("vector_index")
    for component, forget in await context.chat.forgetters():
        try:
            await forget(user_id)
            removed.append(component)
        except Exception as exc:
            logger.warning("deleting %s from %s failed: %s", user_id, component, exc)
            pending.append(component)
    try:
        await context.embedding.forget_user(user_id)
        removed.append("embedding_cache")
    except Exception as exc:
        logger.warning("deleting %s's cached embeddings failed: %s", user_id, exc)
        pending.append("embedding_cache")
    if "redis" not in pending:
        try:
            await delete_redis_keys(context, user_id)
            removed.append("redis")
        except Exception as exc:
            logger.warning("deleting %s's Redis keys failed: %s", user_id, exc)
            pending.append("redis")
    async with context.pool.acquire() as conn, conn.transaction():
        await UserProfileRepository(conn).delete(user_id)
        for target in pending:
            await conn.execute(
                "INSERT INTO pending_deletions (user_id, target, external_id) VALUES ($1, $2, $3)",
                user_id,
                target,
                profile.get("letta_agent_id") if target == "letta" and profile is not None else None,
            )
    removed.insert(0, "postgres")
    context.memory.forget_user_caches(user_id)
    return UserDeletion(user_id=user_id, deleted=True, removed=removed, pending=pending)
