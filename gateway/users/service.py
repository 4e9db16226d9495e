"""Users: the profile the companion keeps for each Discord user, and its lifecycle.

Lifecycle: ``active`` on every message; ``dormant`` after ``DORMANT_AFTER_DAYS`` without one (set by the
maintenance job via ``mark_dormant``); ``inactive`` = soft-deleted (kept, never contacted, active again
when they write); ``banned`` (set by an admin; the chat pipeline refuses them). Deleting a user is
``gateway/users/data.py``, with the export.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import asyncpg

from gateway.clock import Clock
from gateway.db import Connection
from gateway.errors import CompanionError, NotFoundError
from gateway.users.repository import LettaAgentOwner, UserProfile, UserProfileRepository
from gateway.users.schemas import UserProfileRead, UserSettingsUpdate

logger = logging.getLogger(__name__)

DORMANT_AFTER_DAYS = 30


class UserNotFoundError(NotFoundError):
    pass


class UserBannedError(CompanionError):
    status_code = 403


class UsersService:
    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self.pool = pool
        self.clock = clock

    async def find(self, user_id: str, *, conn: Connection | None = None) -> UserProfile | None:
        """The user's profile row, None when the companion has never met them. ``conn``: read inside the
        caller's transaction (and on its connection)."""
        return await UserProfileRepository(conn or self.pool).get(user_id)

    async def profile(self, user_id: str) -> UserProfile:
        """The user's profile row; UserNotFoundError when the companion has never met them."""
        profile = await self.find(user_id)
        if profile is None:
            raise UserNotFoundError(f"no companion exists for user {user_id}")
        return profile

    async def get_profile(self, user_id: str) -> UserProfileRead:
        """The user's profile as the API shows it; UserNotFoundError when the companion has never met them."""
        return UserProfileRead.model_validate(await self.profile(user_id), from_attributes=True)

    async def touch(
        self, user_id: str, username: str, now: datetime, channel_id: str | None, is_dm: bool
    ) -> tuple[UserProfile, bool]:
        """Record that the user just wrote (the profile is created on first contact): the profile, and whether
        it was created now. A dormant or soft-deleted user becomes active again; a banned one stays banned."""
        return await UserProfileRepository(self.pool).touch(user_id, username, now, channel_id, is_dm)

    async def initialize_profile(
        self,
        user_id: str,
        username: str,
        personality_profile: str,
        timezone: str | None,
        now: datetime,
        *,
        conn: Connection | None = None,
    ) -> None:
        """Record the companion's chosen personality profile and the user's time zone (none given: the stored
        one stays, UTC for someone new), creating the profile when missing. ``conn``: inside the caller's
        transaction (personality's initialisation, under its lock)."""
        await UserProfileRepository(conn or self.pool).initialize(
            user_id, username, personality_profile, timezone, now
        )

    async def update_settings(self, user_id: str, update: UserSettingsUpdate) -> UserProfileRead:
        changes = update.model_dump(exclude_none=True)
        profile = await UserProfileRepository(self.pool).update_settings(user_id, changes, self.clock.now())
        if profile is None:
            raise UserNotFoundError(f"no companion exists for user {user_id}")
        return UserProfileRead.model_validate(profile, from_attributes=True)

    async def count_interaction(self, user_id: str, *, conn: Connection | None = None) -> None:
        """One more stored interaction in the user's ``total_interactions`` (what tells a new companion from a
        settled one). ``conn``: inside the transaction that stores the interaction row."""
        await UserProfileRepository(conn or self.pool).count_interaction(user_id)

    async def set_timezone_warnings(self, warnings: dict[str, str | None], now: datetime) -> None:
        """Record (or clear, None) the note saying a user's stored time zone is unknown and UTC is used
        instead, for every user of ``warnings`` in one statement (the proactive scan's finding)."""
        await UserProfileRepository(self.pool).set_timezone_warnings(warnings, now)

    async def record_proactive_sent(
        self, user_id: str, now: datetime, *, conn: Connection | None = None
    ) -> None:
        """A proactive message was delivered: the limits' clock starts (``last_proactive_at``), it waits for an
        answer (``unanswered_proactive_count``, reset by the user's next message), and it counts as an
        initiation and as an interaction (its row is ``gateway.chat.interactions.record_proactive_turn``).
        ``conn``: inside the caller's transaction (the delivery's record), in one statement."""
        await UserProfileRepository(conn or self.pool).record_proactive_sent(user_id, now)

    async def mark_dormant(self, now: datetime) -> int:
        """Active users silent for ``DORMANT_AFTER_DAYS`` become dormant; returns how many."""
        return await UserProfileRepository(self.pool).mark_dormant(
            now - timedelta(days=DORMANT_AFTER_DAYS), now
        )

    # The user's Letta agent (user_profiles.letta_agent_id), for the letta runtime and its recovery job.

    async def letta_agent_id(self, user_id: str) -> str | None:
        return await UserProfileRepository(self.pool).letta_agent_id(user_id)

    async def set_letta_agent_id(self, user_id: str, agent_id: str) -> bool:
        """Record the user's Letta agent; False when the user has no profile (yet, or any more)."""
        return await UserProfileRepository(self.pool).set_letta_agent_id(user_id, agent_id)

    async def clear_letta_agent_id(self, user_id: str, agent_id: str) -> None:
        await UserProfileRepository(self.pool).clear_letta_agent_id(user_id, agent_id)

    async def letta_agent_owners(self, active_since: datetime, limit: int) -> list[LettaAgentOwner]:
        return await UserProfileRepository(self.pool).letta_agent_owners(active_since, limit)
