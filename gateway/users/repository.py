from __future__ import annotations

from typing import Any

import asyncpg


class UserProfileRepository:
    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self.conn = conn

    async def get(self, user_id: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow("SELECT * FROM user_profiles WHERE user_id = $1", user_id)
        return dict(row) if row is not None else None
