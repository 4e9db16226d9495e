from __future__ import annotations

from typing import Any

import asyncpg


class SchemaMigrationRepository:
    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self.conn = conn

    async def list_applied(self) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
        )
        return [dict(row) for row in rows]
