from __future__ import annotations

from datetime import datetime

from gateway.db import Connection


class ReflectionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def active_users(self, since: datetime, until: datetime) -> list[str]:
        """Users who wrote in [since, until] and have a personality (banned and soft-deleted ones excluded)."""
        rows = await self.conn.fetch(
            """
            SELECT p.user_id FROM user_profiles p
            WHERE p.last_active_at >= $1 AND p.last_active_at <= $2 AND p.status IN ('active', 'dormant')
              AND EXISTS (SELECT 1 FROM personality_state s WHERE s.user_id = p.user_id AND s.is_current)
            ORDER BY p.user_id
            """,
            since,
            until,
        )
        return [row["user_id"] for row in rows]
