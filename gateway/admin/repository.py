"""The admin domain's reporting view: counts and pages over the other domains' tables, read only (admin owns
no table and writes none)."""

from __future__ import annotations

from datetime import datetime

from gateway.admin.schemas import AdminUserCounts, AdminUserSummary, AppliedMigration, InteractionRead
from gateway.db import Connection


class SchemaMigrationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def list_applied(self) -> list[AppliedMigration]:
        rows = await self.conn.fetch(
            "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
        )
        return [AppliedMigration.model_validate(dict(row)) for row in rows]


class AdminStatsRepository:
    """Counts across every user, for the operator (each query is one index-friendly aggregate)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def users_by_status(self) -> dict[str, int]:
        rows = await self.conn.fetch("SELECT status, count(*) AS n FROM user_profiles GROUP BY status")
        return {str(row["status"]): int(row["n"]) for row in rows}

    async def interactions(self, since: datetime) -> tuple[int, int, int]:
        """(total, since ``since``, proactive since ``since``)."""
        row = await self.conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM interactions) AS total,
                   count(*) AS recent,
                   count(*) FILTER (WHERE was_proactive) AS proactive
            FROM interactions WHERE created_at >= $1
            """,
            since,
        )
        assert row is not None
        return int(row["total"]), int(row["recent"]), int(row["proactive"])

    async def active_users(self, since: datetime) -> int:
        return int(
            await self.conn.fetchval("SELECT count(*) FROM user_profiles WHERE last_active_at >= $1", since)
        )

    async def memories_by_type(self) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT memory_type, count(*) AS n FROM memories WHERE deleted_at IS NULL GROUP BY memory_type"
        )
        return {str(row["memory_type"]): int(row["n"]) for row in rows}

    async def memories_without_vector(self) -> int:
        return int(
            await self.conn.fetchval(
                "SELECT count(*) FROM memories WHERE embedding IS NULL AND deleted_at IS NULL"
            )
        )

    async def incidents(self, since: datetime) -> tuple[int, int]:
        """(incidents since ``since`` that are not false positives, incidents awaiting review in total)."""
        row = await self.conn.fetchrow(
            """
            SELECT count(*) FILTER (WHERE created_at >= $1 AND NOT false_positive) AS recent,
                   count(*) FILTER (WHERE reviewed_at IS NULL AND NOT false_positive) AS unreviewed
            FROM security_incidents
            """,
            since,
        )
        assert row is not None
        return int(row["recent"]), int(row["unreviewed"])

    async def pending_deletions(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM pending_deletions"))


class AdminUserRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def interactions(
        self, user_id: str, since: datetime, limit: int, offset: int
    ) -> tuple[list[InteractionRead], int]:
        """The user's interactions since ``since``, newest first, and how many there are in all."""
        rows = await self.conn.fetch(
            """
            SELECT id, created_at, user_message, assistant_response, emotion_before, emotion_after, pad_before,
                   pad_after, memories_retrieved, response_latency_ms, tokens_used, model_used, runtime, degraded,
                   was_proactive, proactive_score, proactive_reason, security_threat_detected
            FROM interactions WHERE user_id = $1 AND created_at >= $2
            ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4
            """,
            user_id,
            since,
            limit,
            offset,
        )
        total = await self.conn.fetchval(
            "SELECT count(*) FROM interactions WHERE user_id = $1 AND created_at >= $2", user_id, since
        )
        return [InteractionRead.model_validate(dict(row)) for row in rows], int(total)

    async def list(self, status: str | None, limit: int, offset: int) -> tuple[list[AdminUserSummary], int]:
        rows = await self.conn.fetch(
            """
            SELECT user_id, username, display_name, status, personality_profile, timezone, proactive_enabled,
                   total_interactions, created_at, last_active_at, last_proactive_at
            FROM user_profiles
            WHERE ($1::text IS NULL OR status = $1)
            ORDER BY last_active_at DESC, user_id
            LIMIT $2 OFFSET $3
            """,
            status,
            limit,
            offset,
        )
        total = await self.conn.fetchval(
            "SELECT count(*) FROM user_profiles WHERE ($1::text IS NULL OR status = $1)", status
        )
        return [AdminUserSummary.model_validate(dict(row)) for row in rows], int(total)

    async def counts(self, user_id: str, since: datetime) -> AdminUserCounts:
        row = await self.conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM interactions WHERE user_id = $1) AS interactions,
                   (SELECT count(*) FROM interactions WHERE user_id = $1 AND created_at >= $2)
                       AS interactions_today,
                   (SELECT count(*) FROM interactions WHERE user_id = $1 AND was_proactive) AS proactive_messages,
                   (SELECT count(*) FROM memories WHERE user_id = $1 AND deleted_at IS NULL
                       AND memory_type = 'episodic') AS episodic_memories,
                   (SELECT count(*) FROM memories WHERE user_id = $1 AND deleted_at IS NULL
                       AND memory_type = 'semantic') AS semantic_memories,
                   (SELECT count(*) FROM quirks WHERE user_id = $1 AND is_active) AS active_quirks,
                   (SELECT count(*) FROM security_incidents WHERE user_id = $1 AND NOT false_positive)
                       AS security_incidents
            """,
            user_id,
            since,
        )
        assert row is not None
        return AdminUserCounts(**{key: int(value) for key, value in dict(row).items()})
