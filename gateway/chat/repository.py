"""The chat domain's table, ``interactions``: one row per turn (the user's message and the companion's reply,
or a proactive opener alone). The count of them in the user's profile (``total_interactions``) is the users
domain's, written by whoever stores a row, in the same transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from gateway.db import Connection


@dataclass(frozen=True)
class NewInteraction:
    """One turn as ``interactions`` records it. JSON-able (``to_json``/``from_json``), so a turn answered while
    Postgres is down is queued as it is and stored when it comes back."""

    user_id: str
    username: str  # not a column: a replay recreates the profile of a user first met during an outage
    created_at: datetime
    user_message: str
    assistant_response: str
    pad_before: dict[str, float] | None
    pad_after: dict[str, float] | None
    emotion_before: str | None
    emotion_after: str | None
    latency_ms: int
    runtime: str
    channel_id: str | None
    memory_ids: tuple[UUID, ...] = ()
    tokens: int = 0
    model: str | None = None
    degraded: tuple[str, ...] = ()
    threat: bool = False
    is_dm: bool = True
    guild_id: str | None = None
    was_proactive: bool = False
    proactive_score: float | None = None
    proactive_reason: str | None = None
    request_id: str | None = (
        None  # the message it answered (the Discord message id), when the caller sent one
    )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["memory_ids"] = [str(memory_id) for memory_id in self.memory_ids]
        data["degraded"] = list(self.degraded)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NewInteraction:
        """A queued record (older gateways queued the same keys, some optional ones missing)."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["created_at"] = datetime.fromisoformat(data["created_at"])
        known["memory_ids"] = tuple(UUID(str(memory_id)) for memory_id in data.get("memory_ids", ()))
        known["degraded"] = tuple(data.get("degraded", ()))
        return cls(**known)


@dataclass(frozen=True)
class AnsweredTurn:
    """What a turn answered, for returning it again to a retry of the same message."""

    interaction_id: int
    response: str
    emotion: str | None
    pad: dict[str, float] | None
    runtime: str
    model: str | None
    threat: bool


@dataclass(frozen=True)
class Exchange:
    """A past turn, as the prompt's conversation history shows it."""

    user_message: str
    assistant_response: str
    was_proactive: bool = field(default=False)


class InteractionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def insert(self, new: NewInteraction) -> int:
        interaction_id: int = await self.conn.fetchval(
            """
            INSERT INTO interactions (user_id, created_at, user_message, assistant_response, pad_before,
                pad_after, emotion_before, emotion_after, memories_retrieved, memory_ids,
                response_latency_ms, tokens_used, model_used, runtime, degraded, security_threat_detected,
                channel_id, was_proactive, proactive_score, proactive_reason, is_dm, guild_id, request_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, cardinality($9::uuid[]), $9, $10, $11, $12, $13, $14,
                    $15, $16, $17, $18, $19, $20, $21, $22)
            RETURNING id
            """,
            new.user_id,
            new.created_at,
            new.user_message,
            new.assistant_response,
            new.pad_before,
            new.pad_after,
            new.emotion_before,
            new.emotion_after,
            list(new.memory_ids),
            new.latency_ms,
            new.tokens,
            new.model,
            new.runtime,
            list(new.degraded),
            new.threat,
            new.channel_id,
            new.was_proactive,
            new.proactive_score,
            new.proactive_reason,
            new.is_dm,
            new.guild_id,
            new.request_id,
        )
        return interaction_id

    async def answered(self, user_id: str, request_id: str) -> AnsweredTurn | None:
        """The turn that already answered the message ``request_id`` of this user, if any."""
        row = await self.conn.fetchrow(
            """
            SELECT id, assistant_response, emotion_after, pad_after, runtime, model_used, security_threat_detected
            FROM interactions WHERE user_id = $1 AND request_id = $2
            """,
            user_id,
            request_id,
        )
        if row is None:
            return None
        return AnsweredTurn(
            interaction_id=row["id"],
            response=row["assistant_response"],
            emotion=row["emotion_after"],
            pad=row["pad_after"],
            runtime=row["runtime"] or "unknown",
            model=row["model_used"],
            threat=row["security_threat_detected"],
        )

    async def recent(self, user_id: str, limit: int, channel_id: str | None = None) -> list[Exchange]:
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
        return [
            Exchange(row["user_message"], row["assistant_response"], row["was_proactive"]) for row in rows
        ]

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

    async def moods_after(self, user_id: str, since: datetime, until: datetime) -> list[object]:
        """``pad_after`` of the user's turns in [since, until] that recorded one."""
        rows = await self.conn.fetch(
            """
            SELECT pad_after FROM interactions
            WHERE user_id = $1 AND created_at >= $2 AND created_at <= $3 AND pad_after IS NOT NULL
            """,
            user_id,
            since,
            until,
        )
        return [row["pad_after"] for row in rows]

    async def replies(self, user_id: str, since: datetime, until: datetime, limit: int) -> list[str]:
        """The companion's own (non-empty) replies in [since, until], newest first."""
        rows = await self.conn.fetch(
            """
            SELECT assistant_response FROM interactions
            WHERE user_id = $1 AND created_at >= $2 AND created_at <= $3 AND assistant_response <> ''
            ORDER BY created_at DESC
            LIMIT $4
            """,
            user_id,
            since,
            until,
            limit,
        )
        return [str(row["assistant_response"]) for row in rows]
