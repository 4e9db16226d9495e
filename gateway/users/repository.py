from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

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
# Per-user tables that are the gateway's bookkeeping, not something it keeps about the person.
NOT_EXPORTED = frozenset({"pending_deletions"})


class UserProfileRepository:
    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self.conn = conn

    async def get(self, user_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow("SELECT * FROM user_profiles WHERE user_id = $1", user_id)
        return dict(row) if row is not None else None

    async def touch(
        self,
        user_id: str,
        username: str,
        now: datetime,
        channel_id: str | None,
        is_dm: bool,
    ) -> tuple[dict[str, Any], bool]:
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
        data = dict(row)
        created = bool(data.pop("created"))
        return data, created

    async def update_settings(
        self, user_id: str, changes: dict[str, Any], now: datetime
    ) -> dict[str, Any] | None:
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
        return dict(row) if row is not None else None

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
