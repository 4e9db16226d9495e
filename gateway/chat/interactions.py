"""The interactions log as other domains add to it and read it. The chat domain owns the ``interactions``
table (``InteractionRepository``); a proactive opener the bot delivered is recorded here as the companion's
turn, inside the proactive manager's own transaction (``conn``), and personality's nightly evolution reads the
moods and replies it learns from here. This module imports nothing of chat's turn (``chat.service``), so the
domains chat calls may use it without a cycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from gateway.chat.repository import InteractionRepository, NewInteraction
from gateway.db import Connection


async def record_proactive_turn(
    conn: Connection,
    *,
    user_id: str,
    created_at: datetime,
    text: str,
    pad: dict[str, float] | None,
    emotion: str | None,
    memory_ids: Sequence[UUID],
    latency_ms: int,
    model: str | None,
    channel_id: str | None,
    is_dm: bool,
    score: float,
    reason: str,
) -> int:
    """A delivered proactive message as an interaction: the companion spoke first (no user message), its mood
    unchanged by it. Returns the interaction's id. The profile counts it with the delivery
    (``UsersService.record_proactive_sent``, in the same transaction)."""
    return await InteractionRepository(conn).insert(
        NewInteraction(
            user_id=user_id,
            username="",
            created_at=created_at,
            user_message="",
            assistant_response=text,
            pad_before=pad,
            pad_after=pad,
            emotion_before=emotion,
            emotion_after=emotion,
            memory_ids=tuple(memory_ids),
            latency_ms=latency_ms,
            model=model,
            runtime="proactive",
            channel_id=channel_id,
            is_dm=is_dm,
            was_proactive=True,
            proactive_score=score,
            proactive_reason=reason,
        )
    )


async def moods_after(conn: Connection, user_id: str, since: datetime, until: datetime) -> list[object]:
    """The mood after each of the user's turns in [since, until] that recorded one (``pad_after``, as stored:
    a mapping of the three PAD axes); what the nightly baseline drift averages."""
    return await InteractionRepository(conn).moods_after(user_id, since, until)


async def recent_replies(
    conn: Connection, user_id: str, since: datetime, until: datetime, limit: int
) -> list[str]:
    """The companion's own replies in [since, until], newest first, at most ``limit``; what quirk mining
    reads."""
    return await InteractionRepository(conn).replies(user_id, since, until, limit)
