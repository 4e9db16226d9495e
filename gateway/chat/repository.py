from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from gateway.db import Connection


class InteractionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def insert(
        self,
        *,
        user_id: str,
        created_at: datetime,
        user_message: str,
        assistant_response: str,
        pad_before: dict[str, float] | None,
        pad_after: dict[str, float] | None,
        emotion_before: str | None,
        emotion_after: str | None,
        memory_ids: Sequence[UUID],
        latency_ms: int,
        tokens: int,
        model: str | None,
        runtime: str,
        degraded: Sequence[str],
        threat: bool,
        channel_id: str | None,
        is_dm: bool = True,
        guild_id: str | None = None,
        was_proactive: bool = False,
        proactive_score: float | None = None,
        proactive_reason: str | None = None,
    ) -> int:
        interaction_id: int = await self.conn.fetchval(
            """
            WITH added AS (
                INSERT INTO interactions (user_id, created_at, user_message, assistant_response, pad_before,
                    pad_after, emotion_before, emotion_after, memories_retrieved, memory_ids,
                    response_latency_ms, tokens_used, model_used, runtime, degraded, security_threat_detected,
                    channel_id, was_proactive, proactive_score, proactive_reason, is_dm, guild_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, cardinality($9::uuid[]), $9, $10, $11, $12, $13, $14,
                        $15, $16, $17, $18, $19, $20, $21)
                RETURNING id
            ), counted AS (
                UPDATE user_profiles SET total_interactions = total_interactions + 1 WHERE user_id = $1
            )
            SELECT id FROM added
            """,
            user_id,
            created_at,
            user_message,
            assistant_response,
            pad_before,
            pad_after,
            emotion_before,
            emotion_after,
            list(memory_ids),
            latency_ms,
            tokens,
            model,
            runtime,
            list(degraded),
            threat,
            channel_id,
            was_proactive,
            proactive_score,
            proactive_reason,
            is_dm,
            guild_id,
        )
        return interaction_id

    async def recent(self, user_id: str, limit: int, channel_id: str | None = None) -> list[dict[str, Any]]:
        """The last ``limit`` exchanges, oldest first (for the prompt's conversation history). With
        ``channel_id`` (a reply in a server channel), only the exchanges in that channel: never a DM's."""
        if limit <= 0:
            return []
        rows = await self.conn.fetch(
            """
            SELECT * FROM (
                SELECT id, created_at, user_message, assistant_response, was_proactive
                FROM interactions WHERE user_id = $1 AND NOT security_threat_detected
                  AND ($3::text IS NULL OR (NOT is_dm AND channel_id = $3::text))
                ORDER BY created_at DESC, id DESC LIMIT $2
            ) AS last ORDER BY created_at, id
            """,
            user_id,
            limit,
            channel_id,
        )
        return [dict(row) for row in rows]

    async def session_stats(self, user_id: str, day_start: datetime) -> tuple[datetime | None, int]:
        row = await self.conn.fetchrow(
            """
            SELECT max(created_at) AS last_at, count(*) FILTER (WHERE created_at >= $2) AS today
            FROM interactions WHERE user_id = $1
            """,
            user_id,
            day_start,
        )
        return (row["last_at"], int(row["today"])) if row else (None, 0)
