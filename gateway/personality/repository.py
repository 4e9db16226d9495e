"""All SQL of the personality domain. Every statement is scoped by ``user_id``; none commits.

It writes personality's tables only (``personality_state``, ``needs``, ``quirks``): the user's profile is
written through ``UsersService``, and the interactions the nightly evolution learns from are read through
``gateway.chat.interactions``. The one read of another domain's table is the hourly job's set of users
(``users_with_needs``: ``user_profiles`` joined with ``needs``, in one query)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

import asyncpg

from gateway.db import Connection

# pg_advisory_xact_lock(namespace, hashtext(user_id)): serialises one user's personality writes.
LOCK_NAMESPACE_STATE = 0x70616401  # "pad" 1
LOCK_NAMESPACE_QUIRKS = 0x71726B01  # "qrk" 1
LOCK_NAMESPACE_NEEDS = 0x6E656401  # "ned" 1


@dataclass(frozen=True)
class StateRow:
    """A ``personality_state`` row: the mood as written at ``created_at``."""

    id: int
    user_id: str
    created_at: datetime
    profile: str
    openness: float
    conscientiousness: float
    extraversion: float
    agreeableness: float
    neuroticism: float
    pleasure: float
    arousal: float
    dominance: float
    baseline_pleasure: float
    baseline_arousal: float
    baseline_dominance: float
    emotion_label: str
    is_current: bool
    reason: str | None


@dataclass(frozen=True)
class NeedRow:
    """A ``needs`` row: the level as written at ``last_updated_at``."""

    need_type: str
    current_level: float
    baseline: float
    growth_per_hour: float
    trigger_threshold: float
    last_updated_at: datetime
    last_satisfied_at: datetime | None
    satisfaction_count: int


@dataclass(frozen=True)
class QuirkRow:
    """A ``quirks`` row."""

    id: int
    user_id: str
    quirk_type: str
    description: str
    strength: float
    times_expressed: int
    last_expressed_at: datetime | None
    last_faded_at: datetime | None
    is_active: bool
    source: str
    created_at: datetime
    updated_at: datetime


# Every query that reads one of these rows selects its columns first, in field order: a row decodes by position.
STATE_COLUMNS = ", ".join(f.name for f in fields(StateRow))
NEED_COLUMNS = ", ".join(f.name for f in fields(NeedRow))
QUIRK_COLUMNS = ", ".join(f.name for f in fields(QuirkRow))
_STATE_WIDTH, _NEED_WIDTH, _QUIRK_WIDTH = len(fields(StateRow)), len(fields(NeedRow)), len(fields(QuirkRow))


def _state(row: asyncpg.Record) -> StateRow:
    return StateRow(*row[:_STATE_WIDTH])


def _need(row: asyncpg.Record) -> NeedRow:
    return NeedRow(*row[:_NEED_WIDTH])


def _quirk(row: asyncpg.Record) -> QuirkRow:
    return QuirkRow(*row[:_QUIRK_WIDTH])


@dataclass(frozen=True)
class NewState:
    user_id: str
    created_at: datetime
    profile: str
    traits: dict[str, float]
    pad: tuple[float, float, float]
    baseline: tuple[float, float, float]
    emotion_label: str
    reason: str
    baseline_drift: bool = False


@dataclass(frozen=True)
class QuirkChange:
    id: int
    strength: float
    times_expressed: int
    last_expressed_at: datetime | None
    last_faded_at: datetime | None
    is_active: bool


class PersonalityRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def lock(self, namespace: int, user_id: str) -> None:
        """Hold the user's lock in ``namespace`` until the transaction ends."""
        await self.conn.execute("SELECT pg_advisory_xact_lock($1::int, hashtext($2))", namespace, user_id)

    # --- state -------------------------------------------------------------------------------------------

    async def current(self, user_id: str) -> StateRow | None:
        row = await self.conn.fetchrow(
            f"SELECT {STATE_COLUMNS} FROM personality_state WHERE user_id = $1 AND is_current",  # noqa: S608
            user_id,
        )
        return _state(row) if row is not None else None

    async def retire_current(self, user_id: str) -> None:
        await self.conn.execute(
            "UPDATE personality_state SET is_current = FALSE WHERE user_id = $1 AND is_current", user_id
        )

    async def insert_state(self, state: NewState) -> StateRow:
        t = state.traits
        row = await self.conn.fetchrow(
            f"""
            INSERT INTO personality_state (user_id, created_at, profile, openness, conscientiousness,
                extraversion, agreeableness, neuroticism, pleasure, arousal, dominance, baseline_pleasure,
                baseline_arousal, baseline_dominance, emotion_label, is_current, reason, baseline_drift)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, TRUE, $16, $17)
            RETURNING {STATE_COLUMNS}
            """,  # noqa: S608
            state.user_id, state.created_at, state.profile,
            t["openness"], t["conscientiousness"], t["extraversion"], t["agreeableness"], t["neuroticism"],
            *state.pad, *state.baseline, state.emotion_label, state.reason, state.baseline_drift,
        )  # fmt: skip
        assert row is not None
        return _state(row)

    async def last_baseline_drift(self, user_id: str) -> datetime | None:
        """When the user's baseline last drifted (None: never)."""
        value: datetime | None = await self.conn.fetchval(
            "SELECT max(created_at) FROM personality_state WHERE user_id = $1 AND baseline_drift", user_id
        )
        return value

    async def history(
        self, user_id: str, since: datetime, limit: int, offset: int
    ) -> tuple[list[StateRow], int]:
        rows = await self.conn.fetch(
            f"""
            SELECT {STATE_COLUMNS}, count(*) OVER () AS total
            FROM personality_state
            WHERE user_id = $1 AND created_at >= $2
            ORDER BY created_at DESC, id DESC
            LIMIT $3 OFFSET $4
            """,  # noqa: S608
            user_id,
            since,
            limit,
            offset,
        )
        if rows:
            return [_state(r) for r in rows], int(rows[0]["total"])
        total = await self.conn.fetchval(
            "SELECT count(*) FROM personality_state WHERE user_id = $1 AND created_at >= $2", user_id, since
        )
        return [], int(total)

    async def forget_personality(self, user_id: str) -> None:
        """Every state row and quirk of the user: the start of a new companion chosen while it was new.
        Interactions keep their text; their link to a state row becomes NULL (migration 001)."""
        await self.conn.execute("DELETE FROM quirks WHERE user_id = $1", user_id)
        await self.conn.execute("DELETE FROM personality_state WHERE user_id = $1", user_id)

    # --- needs -------------------------------------------------------------------------------------------

    async def insert_needs(
        self, user_id: str, needs: Sequence[tuple[str, float, float, float]], now: datetime
    ) -> None:
        """(need_type, level, growth_per_hour, trigger_threshold) rows; existing needs are left alone."""
        await self.conn.executemany(
            """
            INSERT INTO needs (user_id, need_type, current_level, baseline, growth_per_hour, trigger_threshold,
                               last_updated_at)
            VALUES ($1, $2, $3, $3, $4, $5, $6)
            ON CONFLICT (user_id, need_type) DO NOTHING
            """,
            [(user_id, kind, level, rate, threshold, now) for kind, level, rate, threshold in needs],
        )

    async def needs(self, user_id: str) -> list[NeedRow]:
        rows = await self.conn.fetch(
            f"SELECT {NEED_COLUMNS} FROM needs WHERE user_id = $1 ORDER BY need_type",  # noqa: S608
            user_id,
        )
        return [_need(r) for r in rows]

    async def current_with_needs(self, user_ids: Sequence[str]) -> list[tuple[StateRow, list[NeedRow]]]:
        """The current state row and the needs (ordered by type) of each of ``user_ids`` that has a
        personality, in one query whatever their number."""
        if not user_ids:
            return []
        state_columns = ", ".join(f"s.{f.name}" for f in fields(StateRow))
        rows = await self.conn.fetch(
            f"""
            SELECT {state_columns}, n.need_types, n.levels, n.baselines, n.rates, n.thresholds, n.updated,
                   n.satisfied, n.satisfactions
            FROM personality_state s
            LEFT JOIN LATERAL (
                SELECT array_agg(need_type::text ORDER BY need_type) AS need_types,
                       array_agg(current_level ORDER BY need_type) AS levels,
                       array_agg(baseline ORDER BY need_type) AS baselines,
                       array_agg(growth_per_hour ORDER BY need_type) AS rates,
                       array_agg(trigger_threshold ORDER BY need_type) AS thresholds,
                       array_agg(last_updated_at ORDER BY need_type) AS updated,
                       array_agg(last_satisfied_at ORDER BY need_type) AS satisfied,
                       array_agg(satisfaction_count ORDER BY need_type) AS satisfactions
                FROM needs WHERE needs.user_id = s.user_id
            ) n ON TRUE
            WHERE s.user_id = ANY($1::text[]) AND s.is_current
            """,  # noqa: S608 (constant columns)
            list(user_ids),
        )
        # One array per NeedRow field, in its order: zipped back into rows.
        arrays = (
            "need_types",
            "levels",
            "baselines",
            "rates",
            "thresholds",
            "updated",
            "satisfied",
            "satisfactions",
        )
        return [
            (
                _state(row),
                [NeedRow(*values) for values in zip(*(row[name] or () for name in arrays), strict=True)],
            )
            for row in rows
        ]

    async def set_needs(
        self, user_id: str, levels: dict[str, float], now: datetime, satisfied: set[str]
    ) -> None:
        """Several needs' levels in one statement (one round trip per conversation turn)."""
        if not levels:
            return
        names = list(levels)
        await self.conn.execute(
            """
            UPDATE needs AS n
            SET current_level = v.level, last_updated_at = $4,
                last_satisfied_at = CASE WHEN v.satisfied THEN $4 ELSE n.last_satisfied_at END,
                satisfaction_count = n.satisfaction_count + CASE WHEN v.satisfied THEN 1 ELSE 0 END
            FROM unnest($2::text[], $3::float8[], $5::bool[]) AS v(need_type, level, satisfied)
            WHERE n.user_id = $1 AND n.need_type = v.need_type
            """,
            user_id,
            names,
            [levels[name] for name in names],
            now,
            [name in satisfied for name in names],
        )

    # --- quirks ------------------------------------------------------------------------------------------

    async def quirks(self, user_id: str, active_only: bool) -> list[QuirkRow]:
        rows = await self.conn.fetch(
            f"""
            SELECT {QUIRK_COLUMNS} FROM quirks
            WHERE user_id = $1 AND (is_active OR NOT $2)
            ORDER BY is_active DESC, strength DESC, id
            """,  # noqa: S608
            user_id,
            active_only,
        )
        return [_quirk(r) for r in rows]

    async def insert_quirk(
        self,
        user_id: str,
        quirk_type: str,
        description: str,
        strength: float,
        is_active: bool,
        source: str,
        now: datetime,
    ) -> int:
        value = await self.conn.fetchval(
            """
            INSERT INTO quirks (user_id, quirk_type, description, strength, times_expressed, last_expressed_at,
                                is_active, source, created_at, updated_at)
            VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $5, $5)
            RETURNING id
            """,
            user_id,
            quirk_type,
            description,
            strength,
            now,
            is_active,
            source,
        )
        return int(value)

    async def update_quirks(self, user_id: str, changes: Sequence[QuirkChange], now: datetime) -> None:
        await self.conn.executemany(
            """
            UPDATE quirks
            SET strength = $3, times_expressed = $4, last_expressed_at = $5, last_faded_at = $6,
                is_active = $7, updated_at = $8
            WHERE user_id = $1 AND id = $2
            """,
            [
                (user_id, c.id, c.strength, c.times_expressed, c.last_expressed_at, c.last_faded_at,
                 c.is_active, now)
                for c in changes
            ],
        )  # fmt: skip

    async def users_with_needs(self) -> list[str]:
        """Every user whose needs keep rising (the hourly needs job): active or dormant, with needs."""
        rows = await self.conn.fetch(
            """
            SELECT p.user_id FROM user_profiles p
            WHERE p.status IN ('active', 'dormant')
              AND EXISTS (SELECT 1 FROM needs n WHERE n.user_id = p.user_id)
            ORDER BY p.user_id
            """
        )
        return [row["user_id"] for row in rows]
