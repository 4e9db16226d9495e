"""Bot registration in Redis: the bot posts its push URL at start and heartbeats it; the key expires when the
heartbeats stop, so a dead bot is never called for long (Redis holds only what may be lost:
docs/architecture.md#decisions, D1)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from gateway.bot.errors import PushUrlNotAllowedError
from gateway.bot.schemas import BotRegistrationCreate, BotRegistrationRead, BotStatusRead
from gateway.clock import Clock
from gateway.integrations.discord_push import BotPushClient, check_push_url

REGISTRATION_KEY = "bot:registration"
# The bot heartbeats every HEARTBEAT_SECONDS; three missed beats and the registration is gone.
HEARTBEAT_SECONDS = 30
REGISTRATION_TTL_SECONDS = 3 * HEARTBEAT_SECONDS


async def push_url(redis: aioredis.Redis) -> str | None:
    """Where to push proactive messages right now (None: no live bot)."""
    record = await _load(redis)
    return None if record is None else str(record["push_url"])


async def _load(redis: aioredis.Redis) -> dict[str, Any] | None:
    raw = await redis.get(REGISTRATION_KEY)
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("push_url") else None


def _read(record: dict[str, Any]) -> BotRegistrationRead:
    return BotRegistrationRead.model_validate(
        {**record, "registered": True, "ttl_seconds": REGISTRATION_TTL_SECONDS}
    )


class BotService:
    """The bot's registration (Redis) and whether its push server answers."""

    def __init__(
        self, redis: aioredis.Redis, allowed_hosts: frozenset[str], push: BotPushClient, clock: Clock
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.allowed_hosts = allowed_hosts
        self.push = push

    async def register(self, body: BotRegistrationCreate) -> BotRegistrationRead:
        """Record (or refresh) the bot's push URL; keeps the first registration time across heartbeats of the
        same URL. A URL whose host is not in ``allowed_hosts`` is refused (PushUrlNotAllowedError)."""
        try:
            check_push_url(body.push_url, self.allowed_hosts)
        except ValueError as exc:
            raise PushUrlNotAllowedError(f"push_url: {exc}") from None
        now = self.clock.now()
        previous = await _load(self.redis)
        registered_at = now
        if (
            previous is not None
            and previous.get("push_url") == body.push_url
            and previous.get("registered_at")
        ):
            registered_at = datetime.fromisoformat(str(previous["registered_at"]))
        record: dict[str, Any] = {
            "push_url": body.push_url,
            "bot_user_id": body.bot_user_id,
            "guilds": body.guilds,
            "registered_at": registered_at.isoformat(),
            "last_heartbeat_at": now.isoformat(),
        }
        await self.redis.set(REGISTRATION_KEY, json.dumps(record), ex=REGISTRATION_TTL_SECONDS)
        return _read(record)

    async def current(self) -> BotRegistrationRead:
        """The live registration, or ``registered=False`` when the bot never registered or stopped beating."""
        record = await _load(self.redis)
        if record is None:
            return BotRegistrationRead(registered=False, ttl_seconds=REGISTRATION_TTL_SECONDS)
        return _read(record)

    async def status(self) -> BotStatusRead:
        """The registration, and whether the bot's push server answers now."""
        registration = await self.current()
        status = BotStatusRead(**registration.model_dump())
        if registration.registered:
            status.reachable, status.detail = await self.push.probe()
        return status
