from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from gateway.db import Connection
from gateway.security.schemas import IncidentRead, SecurityLiftRead

_INCIDENT_COLUMNS = (
    "id, user_id, created_at, message, threat_type, confidence, severity, detection_method, indicators, "
    "escalation_level, escalates, response, false_positive, reviewed_at, admin_note"
)


@dataclass(frozen=True)
class SecurityUserStateRow:
    """When an admin last lifted the user's escalation, and until when they are suspended."""

    user_id: str
    cleared_at: datetime | None
    suspended_until: datetime | None


def _incident(row: asyncpg.Record) -> IncidentRead:
    item = dict(row)
    indicators = item.get("indicators")
    if isinstance(indicators, str):
        item["indicators"] = json.loads(indicators)
    return IncidentRead.model_validate(item)


class SecurityIncidentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def add(
        self,
        *,
        user_id: str,
        message: str,
        normalized_message: str,
        threat_type: str,
        confidence: float,
        severity: str,
        detection_method: str,
        indicators: list[str],
        escalation_level: int,
        escalates: bool,
        response: str | None,
    ) -> int:
        incident_id: int = await self.conn.fetchval(
            """
            INSERT INTO security_incidents (user_id, message, normalized_message, threat_type, confidence,
                severity, detection_method, indicators, escalation_level, escalates, response)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11)
            RETURNING id
            """,
            user_id,
            message,
            normalized_message,
            threat_type,
            confidence,
            severity,
            detection_method,
            json.dumps(indicators),
            escalation_level,
            escalates,
            response,
        )
        return incident_id

    async def get(self, incident_id: int) -> IncidentRead | None:
        row = await self.conn.fetchrow(
            f"SELECT {_INCIDENT_COLUMNS} FROM security_incidents WHERE id = $1",  # noqa: S608 (constant columns)
            incident_id,
        )
        return _incident(row) if row is not None else None

    async def page(
        self,
        *,
        since: datetime,
        user_id: str | None,
        threat_type: str | None,
        min_confidence: float,
        false_positive: bool | None,
        limit: int,
        offset: int,
    ) -> tuple[list[IncidentRead], int]:
        where = """
            created_at >= $1 AND confidence >= $2
            AND ($3::varchar IS NULL OR user_id = $3)
            AND ($4::varchar IS NULL OR threat_type = $4)
            AND ($5::boolean IS NULL OR false_positive = $5)
        """
        args = (since, min_confidence, user_id, threat_type, false_positive)
        # Only constant SQL is composed here; every value is a $n parameter.
        total: int = await self.conn.fetchval(
            f"SELECT count(*) FROM security_incidents WHERE {where}",  # noqa: S608
            *args,
        )
        rows = await self.conn.fetch(
            f"SELECT {_INCIDENT_COLUMNS} FROM security_incidents WHERE {where} "  # noqa: S608
            "ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7",
            *args,
            limit,
            offset,
        )
        return [_incident(row) for row in rows], total

    async def mark_false_positive(self, incident_id: int, false_positive: bool, note: str | None) -> bool:
        status = await self.conn.execute(
            """
            UPDATE security_incidents
            SET false_positive = $2, reviewed_at = now(), admin_note = COALESCE($3, admin_note)
            WHERE id = $1
            """,
            incident_id,
            false_positive,
            note,
        )
        return bool(status.endswith(" 1"))

    async def link_interaction(self, incident_id: int, interaction_id: int) -> None:
        """The interaction row the incident's message became (written after the incident)."""
        await self.conn.execute(
            "UPDATE security_incidents SET interaction_id = $2 WHERE id = $1", incident_id, interaction_id
        )

    async def recent_offences(self, user_id: str, since: datetime) -> list[IncidentRead]:
        """The user's offences since ``since``, oldest first: incidents that escalate, are not false positives
        and came after the last admin lift."""
        columns = ", ".join(f"i.{name.strip()}" for name in _INCIDENT_COLUMNS.split(","))
        rows = await self.conn.fetch(
            f"""
            SELECT {columns} FROM security_incidents i
            LEFT JOIN security_user_state s ON s.user_id = i.user_id
            WHERE i.user_id = $1 AND i.escalates AND NOT i.false_positive AND i.created_at >= $2
              AND (s.cleared_at IS NULL OR i.created_at > s.cleared_at)
            ORDER BY i.created_at, i.id
            """,  # noqa: S608 (constant columns)
            user_id,
            since,
        )
        return [_incident(row) for row in rows]


class SecurityUserStateRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def get(self, user_id: str) -> SecurityUserStateRow | None:
        row = await self.conn.fetchrow(
            "SELECT user_id, cleared_at, suspended_until FROM security_user_state WHERE user_id = $1", user_id
        )
        if row is None:
            return None
        return SecurityUserStateRow(row["user_id"], row["cleared_at"], row["suspended_until"])

    async def set_suspended_until(self, user_id: str, until: datetime) -> None:
        await self.conn.execute(
            """
            INSERT INTO security_user_state (user_id, suspended_until) VALUES ($1, $2)
            ON CONFLICT (user_id) DO UPDATE SET suspended_until = EXCLUDED.suspended_until, updated_at = now()
            """,
            user_id,
            until,
        )

    async def clear(self, user_id: str, at: datetime) -> None:
        await self.conn.execute(
            """
            INSERT INTO security_user_state (user_id, cleared_at, suspended_until) VALUES ($1, $2, NULL)
            ON CONFLICT (user_id) DO UPDATE
            SET cleared_at = EXCLUDED.cleared_at, suspended_until = NULL, updated_at = now()
            """,
            user_id,
            at,
        )


class SecurityLiftRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def add(
        self,
        *,
        user_id: str,
        lifted_at: datetime,
        lifted_by: str,
        reason: str,
        level_before: int,
        offences_before: int,
        suspended_until_before: datetime | None,
    ) -> None:
        await self.conn.execute(
            """
            INSERT INTO security_lifts (user_id, lifted_at, lifted_by, reason, level_before, offences_before,
                suspended_until_before)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """,
            user_id,
            lifted_at,
            lifted_by,
            reason,
            level_before,
            offences_before,
            suspended_until_before,
        )

    async def recent(self, user_id: str, limit: int = 20) -> list[SecurityLiftRead]:
        rows = await self.conn.fetch(
            """
            SELECT id, lifted_at, lifted_by, reason, level_before, offences_before, suspended_until_before
            FROM security_lifts WHERE user_id = $1 ORDER BY lifted_at DESC, id DESC LIMIT $2
            """,
            user_id,
            limit,
        )
        return [SecurityLiftRead.model_validate(dict(row)) for row in rows]
