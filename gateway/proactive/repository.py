"""SQL of the proactive manager. The scan is set-based: one query for the candidates' profiles, one for their
interaction history (and personality's one for their companions), whatever the number of users.

It writes ``proactive_messages`` only. The profiles, interactions and memories it reads belong to users, chat
and memory; they are read here because the join over every candidate is the point (docs/architecture.md,
"The gateway inside"), and the profile's proactive columns are written by ``UsersService``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from gateway.db import Connection

LOCK_NAMESPACE_PROACTIVE = 0x50524F  # "PRO": per-user advisory lock while claiming an initiation

_CANDIDATES = """
    SELECT p.user_id, p.username, p.display_name, p.status, p.timezone, p.timezone_warning,
           p.proactive_enabled, p.quiet_hours_start, p.quiet_hours_end, p.last_proactive_at,
           p.unanswered_proactive_count, p.last_active_at, p.dm_channel_id, p.last_channel_id
    FROM user_profiles p
"""

# Per user over [since, until]: the local hour-of-week of each of their messages (hour + 24 × weekday,
# Monday = 0, in their zone), conversations (a pause over 30 minutes starts a new one), who started them,
# proactive messages sent and answered (the next exchange is the user's, within 24 hours), and those of
# the last 24 hours.
_HISTORY = """
    WITH target AS (
        SELECT t.user_id, COALESCE(k.name, 'UTC') AS zone
        FROM unnest($1::text[], $2::text[]) AS t(user_id, zone)
        LEFT JOIN (SELECT name FROM pg_timezone_names) AS k ON k.name = t.zone
    ), recent AS (
        SELECT i.user_id, i.created_at, i.was_proactive,
               (i.created_at AT TIME ZONE t.zone) AS local_at,
               lag(i.created_at) OVER w AS prev_at,
               lead(i.created_at) OVER w AS next_at,
               lead(i.was_proactive) OVER w AS next_proactive
        FROM interactions i
        JOIN target t ON t.user_id = i.user_id
        WHERE i.created_at >= $3 AND i.created_at <= $4 AND NOT i.security_threat_detected
        WINDOW w AS (PARTITION BY i.user_id ORDER BY i.created_at, i.id)
    )
    SELECT user_id,
           count(*) FILTER (WHERE NOT was_proactive) AS user_messages,
           count(*) FILTER (
               WHERE prev_at IS NULL OR created_at - prev_at > interval '30 minutes'
           ) AS conversations,
           count(*) FILTER (
               WHERE NOT was_proactive
                 AND (prev_at IS NULL OR created_at - prev_at > interval '30 minutes')
           ) AS user_started,
           count(*) FILTER (WHERE was_proactive) AS proactive_sent,
           count(*) FILTER (
               WHERE was_proactive AND next_proactive IS FALSE
                 AND next_at - created_at <= interval '24 hours'
           ) AS proactive_answered,
           count(*) FILTER (WHERE was_proactive AND created_at > $4 - interval '24 hours') AS proactive_last_24h,
           max(created_at) FILTER (WHERE NOT was_proactive) AS last_user_message_at,
           array_agg(
               ((extract(isodow FROM local_at)::int - 1) * 24 + extract(hour FROM local_at)::int)::smallint
           ) FILTER (WHERE NOT was_proactive) AS hours_of_week
    FROM recent
    GROUP BY user_id
"""


class ProactiveRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def candidates(
        self,
        user_ids: Sequence[str] | None = None,
        *,
        eligible_only: bool,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Any]:
        """Profiles to score (those without a personality are dropped later), in user id order; ``eligible_only``:
        opted in and active or dormant (the scan's set); ``after``/``limit``: one page of the scan (keyset)."""
        where = []
        if eligible_only:
            where.append("p.proactive_enabled AND p.status IN ('active', 'dormant')")
        args: list[Any] = []
        if user_ids is not None:
            args.append(list(user_ids))
            where.append(f"p.user_id = ANY(${len(args)}::text[])")
        if after is not None:
            args.append(after)
            where.append(f"p.user_id > ${len(args)}")
        query = _CANDIDATES + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY p.user_id"
        if limit is not None:
            args.append(limit)
            query += f" LIMIT ${len(args)}"
        return list(await self.conn.fetch(query, *args))

    async def history(
        self, user_ids: Sequence[str], zones: Sequence[str], since: datetime, until: datetime
    ) -> list[Any]:
        if not user_ids:
            return []
        return list(await self.conn.fetch(_HISTORY, list(user_ids), list(zones), since, until))

    async def follow_up_memories(
        self, user_ids: Sequence[str], since: datetime, until: datetime, min_importance: float
    ) -> dict[str, dict[str, Any]]:
        """Per user, the important recent thing they told us that no proactive message followed up yet:
        the highest importance × retrieval weight × recency (3-day time constant)."""
        if not user_ids:
            return {}
        rows = await self.conn.fetch(
            """
            SELECT DISTINCT ON (m.user_id) m.user_id, m.id, m.content, m.importance, m.created_at
            FROM memories m
            WHERE m.user_id = ANY($1::text[]) AND m.memory_type = 'episodic' AND m.speaker = 'user'
              AND m.deleted_at IS NULL AND m.created_at >= $2 AND m.created_at <= $3 AND m.importance >= $4
              AND NOT EXISTS (
                  SELECT 1 FROM proactive_messages pm WHERE pm.user_id = m.user_id AND pm.memory_id = m.id
              )
            ORDER BY m.user_id,
                     m.importance * m.retrieval_weight
                       * exp(-extract(epoch FROM ($3 - m.created_at)) / 259200.0) DESC,
                     m.created_at DESC
            """,
            list(user_ids),
            since,
            until,
            min_importance,
        )
        return {row["user_id"]: dict(row) for row in rows}

    # --- one initiation ------------------------------------------------------------------------------------

    async def lock_user(self, user_id: str) -> None:
        """Transaction-scoped: one initiation per user at a time, across gateway replicas."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))", LOCK_NAMESPACE_PROACTIVE, user_id
        )

    async def claim_state(self, user_id: str, now: datetime) -> Any:
        """What the limits need, read fresh under the user's lock: the profile and the last 24 h."""
        return await self.conn.fetchrow(
            """
            SELECT p.proactive_enabled, p.status, p.last_proactive_at, p.unanswered_proactive_count,
                   p.last_active_at,
                   (SELECT count(*) FROM interactions i
                    WHERE i.user_id = p.user_id AND i.was_proactive
                      AND i.created_at > $2::timestamptz - interval '24 hours' AND i.created_at <= $2) AS sent_last_24h,
                   EXISTS (SELECT 1 FROM proactive_messages pm
                           WHERE pm.user_id = p.user_id AND pm.status IN ('pending', 'failed')) AS in_flight
            FROM user_profiles p WHERE p.user_id = $1
            """,
            user_id,
            now,
        )

    async def insert_message(
        self,
        *,
        user_id: str,
        created_at: datetime,
        trigger: str,
        score: float,
        components: dict[str, Any],
        reason: str,
        kind: str,
        memory_id: UUID | None,
        inner_thought: str,
        thought_source: str,
        message: str,
        message_source: str,
        channel_message: str | None = None,
    ) -> int:
        value = await self.conn.fetchval(
            """
            INSERT INTO proactive_messages (user_id, created_at, trigger, score, components, reason, kind,
                memory_id, inner_thought, thought_source, message, message_source, status, channel_message)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13)
            RETURNING id
            """,
            user_id, created_at, trigger, score, components, reason, kind, memory_id, inner_thought,
            thought_source, message, message_source, channel_message,
        )  # fmt: skip
        return int(value)

    async def mark_delivered(
        self,
        message_id: int,
        *,
        status: str,
        detail: str,
        channel_id: str | None,
        interaction_id: int,
        now: datetime,
    ) -> None:
        await self.conn.execute(
            """
            UPDATE proactive_messages
            SET status = $2, delivery_detail = NULLIF($3, ''), channel_id = $4, interaction_id = $5,
                attempts = attempts + 1, last_attempt_at = $6, delivered_at = $6
            WHERE id = $1
            """,
            message_id,
            status,
            detail,
            channel_id,
            interaction_id,
            now,
        )

    async def mark_failed(self, message_id: int, detail: str, now: datetime) -> None:
        await self.conn.execute(
            """
            UPDATE proactive_messages
            SET status = 'failed', delivery_detail = $2, attempts = attempts + 1, last_attempt_at = $3
            WHERE id = $1
            """,
            message_id,
            detail[:500],
            now,
        )

    async def abandon(self, message_ids: Sequence[int], detail: str) -> None:
        if message_ids:
            await self.conn.execute(
                """
                UPDATE proactive_messages SET status = 'abandoned',
                    delivery_detail = concat_ws('; ', delivery_detail, $2::text)
                WHERE id = ANY($1::bigint[]) AND status IN ('failed', 'pending')
                """,
                list(message_ids),
                detail,
            )

    async def retry_candidates(self, now: datetime, max_age_hours: float, max_attempts: int) -> list[Any]:
        """Failed deliveries to try again this cycle, in one statement: older or over-tried ones are abandoned,
        and one left pending by a gateway that died mid-delivery counts as failed."""
        rows = await self.conn.fetch(
            """
            WITH interrupted AS (
                UPDATE proactive_messages SET status = 'failed',
                    delivery_detail = concat_ws('; ', delivery_detail, 'interrupted before the bot answered')
                WHERE status = 'pending' AND created_at < $1::timestamptz - interval '10 minutes'
                RETURNING id
            ), given_up AS (
                UPDATE proactive_messages SET status = 'abandoned',
                    delivery_detail = concat_ws('; ', delivery_detail, 'gave up after ' || attempts || ' attempts')
                WHERE status = 'failed'
                  AND (attempts >= $2 OR created_at < $1::timestamptz - make_interval(secs => $3::float8))
                RETURNING id
            )
            SELECT id, user_id, created_at, score, reason, message, channel_message, attempts
            FROM proactive_messages
            WHERE (status = 'failed' OR id IN (SELECT id FROM interrupted))
              AND id NOT IN (SELECT id FROM given_up) AND created_at <= $1
            ORDER BY created_at
            """,
            now,
            max_attempts,
            max_age_hours * 3600,
        )
        return list(rows)

    async def messages(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            """
            SELECT id, created_at, trigger, score, components, reason, kind, memory_id, inner_thought,
                   thought_source, message, message_source, status, delivery_detail, attempts, last_attempt_at,
                   delivered_at, channel_id, interaction_id
            FROM proactive_messages WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2
            """,
            user_id,
            limit,
        )
        return [dict(row) for row in rows]
