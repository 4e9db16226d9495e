"""The users domain's tables: ``user_profiles`` (one row per Discord user the companion has met) and
``pending_deletions`` (external stores whose deletion failed, retried by the jobs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from gateway.db import Connection

# Columns a user may change about themselves (PATCH /api/users/{id}).
SETTABLE = ("display_name", "timezone", "proactive_enabled", "quiet_hours_start", "quiet_hours_end")

# Every per-user table, for export (deleting the profile cascades to all of them).
EXPORT_QUERIES = {
    "personality_states": "SELECT * FROM personality_state WHERE user_id = $1 ORDER BY created_at, id",
    "interactions": "SELECT * FROM interactions WHERE user_id = $1 ORDER BY created_at, id",
    "quirks": "SELECT * FROM quirks WHERE user_id = $1 ORDER BY created_at, id",
    "needs": "SELECT * FROM needs WHERE user_id = $1 ORDER BY need_type",
    "security_incidents": "SELECT * FROM security_incidents WHERE user_id = $1 ORDER BY created_at, id",
    "security_state": "SELECT * FROM security_user_state WHERE user_id = $1",
    "security_lifts": "SELECT * FROM security_lifts WHERE user_id = $1 ORDER BY lifted_at, id",
    "proactive_messages": "SELECT * FROM proactive_messages WHERE user_id = $1 ORDER BY created_at, id",
}
# Per-user tables that are the gateway's bookkeeping, not something it keeps about the person, or a copy of
# what the export has from another table (memory_words: the words of the memories, for full text).
NOT_EXPORTED = frozenset({"pending_deletions", "memory_words"})


@dataclass(frozen=True)
class UserProfile:
    """One ``user_profiles`` row."""

    user_id: str
    username: str
    display_name: str | None
    status: str
    letta_agent_id: str | None
    personality_profile: str
    timezone: str
    proactive_enabled: bool
    quiet_hours_start: int
    quiet_hours_end: int
    last_proactive_at: datetime | None
    unanswered_proactive_count: int
    dm_channel_id: str | None
    last_channel_id: str | None
    total_interactions: int
    total_proactive_initiations: int
    created_at: datetime
    updated_at: datetime
    last_active_at: datetime
    timezone_warning: str | None

    @classmethod
    def from_record(cls, record: asyncpg.Record) -> UserProfile:
        return cls(**{name: record[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class LettaAgentOwner:
    """A user who has a Letta agent, with the name the companion calls them."""

    user_id: str
    name: str
    letta_agent_id: str


@dataclass(frozen=True)
class PendingDeletion:
    """A claimed ``pending_deletions`` row; ``claimed_until`` is the claim's lease, and names the claim."""

    id: int
    user_id: str
    target: str
    claimed_until: datetime


class UserProfileRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def get(self, user_id: str) -> UserProfile | None:
        row = await self.conn.fetchrow("SELECT * FROM user_profiles WHERE user_id = $1", user_id)
        return UserProfile.from_record(row) if row is not None else None

    async def touch(
        self,
        user_id: str,
        username: str,
        now: datetime,
        channel_id: str | None,
        is_dm: bool,
    ) -> tuple[UserProfile, bool]:
        """The profile after recording that the user just wrote (created on first contact), and whether it
        was created now. A dormant or soft-deleted (inactive) user becomes active again; a banned one stays
        banned (the caller refuses them)."""
        row = await self.conn.fetchrow(
            """
            INSERT INTO user_profiles AS p (user_id, username, last_active_at, created_at, updated_at,
                                            last_channel_id, dm_channel_id)
            VALUES ($1, $2, $3, $3, $3, $4::text, CASE WHEN $5::boolean THEN $4::text END)
            ON CONFLICT (user_id) DO UPDATE SET
                username = EXCLUDED.username,
                last_active_at = GREATEST(p.last_active_at, EXCLUDED.last_active_at),
                updated_at = EXCLUDED.updated_at,
                last_channel_id = COALESCE(EXCLUDED.last_channel_id, p.last_channel_id),
                dm_channel_id = COALESCE(EXCLUDED.dm_channel_id, p.dm_channel_id),
                status = CASE WHEN p.status = 'banned' THEN p.status ELSE 'active' END,
                unanswered_proactive_count = 0
            RETURNING *, (xmax = 0) AS created
            """,
            user_id,
            username,
            now,
            channel_id,
            is_dm,
        )
        assert row is not None  # an upsert always returns its row
        return UserProfile.from_record(row), bool(row["created"])

    async def initialize(
        self, user_id: str, username: str, personality_profile: str, timezone: str | None, now: datetime
    ) -> None:
        """Create the profile when missing; record the chosen personality profile and time zone (none given:
        the stored one stays, UTC for a new profile)."""
        await self.conn.execute(
            """
            INSERT INTO user_profiles AS p (user_id, username, personality_profile, timezone, created_at,
                                            updated_at, last_active_at)
            VALUES ($1, $2, $3, COALESCE($4::text, 'UTC'), $5, $5, $5)
            ON CONFLICT (user_id) DO UPDATE SET
                personality_profile = EXCLUDED.personality_profile,
                timezone = COALESCE($4::text, p.timezone),
                updated_at = EXCLUDED.updated_at
            """,
            user_id,
            username,
            personality_profile,
            timezone,
            now,
        )

    async def update_settings(
        self, user_id: str, changes: dict[str, Any], now: datetime
    ) -> UserProfile | None:
        columns = [name for name in changes if name in SETTABLE]
        if not columns:
            return await self.get(user_id)
        assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(columns))
        row = await self.conn.fetchrow(
            f"UPDATE user_profiles SET {assignments}, updated_at = ${len(columns) + 2} "  # noqa: S608
            "WHERE user_id = $1 RETURNING *",
            user_id,
            *[changes[name] for name in columns],
            now,
        )
        return UserProfile.from_record(row) if row is not None else None

    async def count_interaction(self, user_id: str) -> None:
        await self.conn.execute(
            "UPDATE user_profiles SET total_interactions = total_interactions + 1 WHERE user_id = $1", user_id
        )

    async def set_timezone_warnings(self, warnings: dict[str, str | None], now: datetime) -> None:
        """Record (or clear) each profile's note saying its time zone is unknown and UTC is used instead, in
        one statement; a profile whose note is unchanged is not written."""
        if not warnings:
            return
        names = list(warnings)
        await self.conn.execute(
            """
            UPDATE user_profiles AS p SET timezone_warning = v.warning, updated_at = $3
            FROM unnest($1::text[], $2::text[]) AS v(user_id, warning)
            WHERE p.user_id = v.user_id AND p.timezone_warning IS DISTINCT FROM v.warning
            """,
            names,
            [warnings[name] for name in names],
            now,
        )

    async def record_proactive_sent(self, user_id: str, now: datetime) -> None:
        """A delivered proactive message: the limits' clock starts, it waits for an answer, and it counts as
        an initiation and as an interaction."""
        await self.conn.execute(
            """
            UPDATE user_profiles
            SET last_proactive_at = $2, unanswered_proactive_count = unanswered_proactive_count + 1,
                total_proactive_initiations = total_proactive_initiations + 1,
                total_interactions = total_interactions + 1, updated_at = $2
            WHERE user_id = $1
            """,
            user_id,
            now,
        )

    async def mark_dormant(self, inactive_since: datetime, now: datetime) -> int:
        """Active users silent since ``inactive_since`` become dormant; returns how many."""
        result = await self.conn.execute(
            "UPDATE user_profiles SET status = 'dormant', updated_at = $2 "
            "WHERE status = 'active' AND last_active_at < $1",
            inactive_since,
            now,
        )
        return int(result.split()[-1])

    async def export_tables(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        return {
            name: [dict(row) for row in await self.conn.fetch(query, user_id)]
            for name, query in EXPORT_QUERIES.items()
        }

    async def delete(self, user_id: str) -> bool:
        """Delete the profile; every per-user table cascades from it."""
        result: str = await self.conn.execute("DELETE FROM user_profiles WHERE user_id = $1", user_id)
        return result.endswith(" 1")

    async def letta_agent_id(self, user_id: str) -> str | None:
        value = await self.conn.fetchval(
            "SELECT letta_agent_id FROM user_profiles WHERE user_id = $1", user_id
        )
        return value if isinstance(value, str) and value else None

    async def set_letta_agent_id(self, user_id: str, agent_id: str) -> bool:
        """Record the user's Letta agent; False when the user has no profile."""
        status: str = await self.conn.execute(
            "UPDATE user_profiles SET letta_agent_id = $2, updated_at = now() WHERE user_id = $1",
            user_id,
            agent_id,
        )
        return status != "UPDATE 0"

    async def clear_letta_agent_id(self, user_id: str, agent_id: str) -> None:
        """Forget the user's Letta agent, if it is still ``agent_id``."""
        await self.conn.execute(
            "UPDATE user_profiles SET letta_agent_id = NULL, updated_at = now()"
            " WHERE user_id = $1 AND letta_agent_id = $2",
            user_id,
            agent_id,
        )

    async def letta_agent_owners(self, active_since: datetime, limit: int) -> list[LettaAgentOwner]:
        """Active users with a Letta agent who wrote since ``active_since``, most recent first."""
        rows = await self.conn.fetch(
            """
            SELECT user_id, coalesce(display_name, username) AS name, letta_agent_id FROM user_profiles
            WHERE letta_agent_id IS NOT NULL AND status = 'active' AND last_active_at >= $1
            ORDER BY last_active_at DESC LIMIT $2
            """,
            active_since,
            limit,
        )
        return [LettaAgentOwner(row["user_id"], row["name"], row["letta_agent_id"]) for row in rows]


class PendingDeletionRepository:
    """``pending_deletions``: one row per external store that still holds a deleted user's data."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def add(self, user_id: str, target: str, external_id: str | None) -> None:
        await self.conn.execute(
            "INSERT INTO pending_deletions (user_id, target, external_id) VALUES ($1, $2, $3)",
            user_id,
            target,
            external_id,
        )

    async def claim_next(self, max_attempts: int, after_id: int, lease: timedelta) -> PendingDeletion | None:
        """The first row still to retry past ``after_id`` (in id order), nobody's or whose lease has passed,
        claimed for ``lease`` (Postgres's clock, which every replica shares); None when none is left. One
        statement: the row lock (``SKIP LOCKED``: two jobs never take one row) lasts only as long as it does."""
        row = await self.conn.fetchrow(
            """
            UPDATE pending_deletions SET claimed_until = now() + $3::interval
            WHERE id IN (
                SELECT id FROM pending_deletions
                WHERE attempts < $1 AND id > $2 AND (claimed_until IS NULL OR claimed_until <= now())
                ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
            )
            RETURNING id, user_id, target, claimed_until
            """,
            max_attempts,
            after_id,
            lease,
        )
        if row is None:
            return None
        return PendingDeletion(row["id"], row["user_id"], row["target"], row["claimed_until"])

    async def failed(self, deletion: PendingDeletion, error: str) -> None:
        """Count an attempt, keep the error and free the row, if the claim is still this one (a claim whose
        lease passed may have been taken by another job since; that job records its own outcome)."""
        await self.conn.execute(
            """
            UPDATE pending_deletions SET attempts = attempts + 1, last_error = $3, claimed_until = NULL
            WHERE id = $1 AND claimed_until = $2
            """,
            deletion.id,
            deletion.claimed_until,
            error,
        )

    async def done(self, deletion: PendingDeletion) -> None:
        """The store no longer holds the user: the row goes, whoever claims it now."""
        await self.conn.execute("DELETE FROM pending_deletions WHERE id = $1", deletion.id)
