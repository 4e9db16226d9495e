"""The proactive manager (docs/proactive.md): who the companion writes to first, when, and what it says.

One check (every 5 minutes, ``check_all``):
1. failed deliveries of earlier checks are retried (same message; limits checked again; given up after 3
   attempts or 2 hours), and a message left pending by a gateway that died counts as failed;
2. every eligible user (opted in, active or dormant, with a personality) is scored in a few set-based
   queries (see ``scoring`` for the formula; every component is kept);
3. users at or above the threshold whom no hard limit blocks get, highest score first and at most
   ``PROACTIVE_MAX_PER_CYCLE`` of them, an inner thought and an opener (LLM or templates, screened), claimed
   under a per-user advisory lock (limits read again, so two checks never double up), then delivered
   through the bot's push endpoint;
4. a delivered message becomes an ``interactions`` row (``was_proactive``, score, reason) and starts the
   limits' clock; a failed one stays ``failed`` in ``proactive_messages`` and never counts as delivered.

The opener may draw on the user's memories and the companion's persona, so it goes to the DMs only. Each
push also carries a channel-safe text (a need-driven template: no memory, no persona, no LLM) that is the
only thing the bot may post in a server channel when the DMs are closed (docs/proactive.md, "Delivery").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from gateway.chat import interactions
from gateway.clock import Clock
from gateway.config import PersonalitySettings, ProactiveSettings
from gateway.errors import NotFoundError
from gateway.integrations.discord_push import Deliverer, Delivery
from gateway.integrations.llm import ChatLLM, FastLLM
from gateway.personality.pad import PAD
from gateway.personality.service import CompanionSnapshot, PersonalityService
from gateway.proactive import scoring
from gateway.proactive.openers import OpenerContext, OpenerWriter, channel_safe_opener, usable_memory
from gateway.proactive.repository import ProactiveRepository
from gateway.proactive.schemas import ProactiveMessageRead, ProactiveOutcome, ProactiveStatus
from gateway.security.service import screen_memory_text
from gateway.users.service import UsersService

logger = logging.getLogger(__name__)

ACTIVITY_WINDOW_DAYS = 30  # the user's own activity by hour and weekday
FOLLOW_UP_WINDOW_DAYS = 7  # memories worth a follow-up are this recent
FOLLOW_UP_MIN_IMPORTANCE = 0.5
RETRY_MAX_ATTEMPTS = 3
RETRY_MAX_AGE_HOURS = 2.0
INITIATION_CONCURRENCY = 4
# Profiles scored per page of the 5-minute scan: its memory is one page, whatever the number of users.
SCAN_BATCH = 1000
RECENT_MESSAGES = 5


class ProactiveUserNotFoundError(NotFoundError):
    pass


@dataclass(frozen=True)
class Evaluation:
    """One user's score at ``now`` with what the opener needs."""

    user_id: str
    name: str
    now: datetime
    local_time: datetime
    zone: str
    timezone_warning: str | None
    score: scoring.Score
    blocked: list[str]
    threshold: float
    mood: PAD
    mood_label: str
    need_levels: dict[str, float]
    last_active_at: datetime | None
    last_channel_id: str | None
    stored_warning: str | None
    quiet_hours: tuple[int, int]

    @property
    def over_threshold(self) -> bool:
        return self.score.total >= self.threshold

    @property
    def should_initiate(self) -> bool:
        return self.over_threshold and not self.blocked


@dataclass
class CheckReport:
    """What one check did (the job run's report)."""

    users_scored: int = 0
    over_threshold: int = 0
    blocked: Counter[str] = field(default_factory=Counter)
    initiated: int = 0
    delivered: int = 0
    failed: int = 0
    skipped_at_claim: int = 0
    retried: int = 0
    retry_delivered: int = 0
    abandoned: int = 0
    timezone_fallbacks: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "users_scored": self.users_scored,
            "over_threshold": self.over_threshold,
            "blocked": dict(self.blocked),
            "initiated": self.initiated,
            "delivered": self.delivered,
            "failed": self.failed,
            "skipped_at_claim": self.skipped_at_claim,
            "retried": self.retried,
            "retry_delivered": self.retry_delivered,
            "abandoned": self.abandoned,
            "timezone_fallbacks": self.timezone_fallbacks,
            "errors": self.errors[:20],
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class _Attempt:
    delivered: bool
    message_id: int | None
    detail: str


class ProactiveService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        personality: PersonalityService,
        settings: ProactiveSettings,
        # Unused since moods are read through ``personality.snapshots``; app.py still passes it.
        personality_settings: PersonalitySettings,
        *,
        users: UsersService,
        clock: Clock,
        deliverer: Deliverer | None = None,
        chat_llm: ChatLLM | None = None,
        fast_llm: FastLLM | None = None,
        security_threshold: float = 0.7,
        scan_batch: int = SCAN_BATCH,
    ) -> None:
        self.pool = pool
        self.scan_batch = scan_batch
        self.personality = personality
        self.users = users  # the profile's proactive columns: the limits' counters, the time-zone note
        self.settings = settings
        self.clock = clock
        self.deliverer = deliverer  # the bot's push client; set later when the bot registers
        self.chat_llm = chat_llm
        self.writer = OpenerWriter(chat_llm, fast_llm, self._safe)
        self._security_threshold = security_threshold
        self.limits = scoring.Limits(
            max_per_day=settings.max_per_day,
            min_hours_between=settings.min_hours_between,
            quiet_minutes_after_user=settings.quiet_minutes_after_user,
            max_unanswered=settings.max_unanswered,
        )

    def _safe(self, text: str) -> bool:
        verdict, safe = screen_memory_text(text, threshold=self._security_threshold)
        return not verdict.is_threat and safe == text

    # --- scoring ---------------------------------------------------------------------------------------------

    async def evaluate(
        self,
        user_ids: Sequence[str] | None = None,
        now: datetime | None = None,
        *,
        eligible_only: bool = True,
    ) -> list[Evaluation]:
        """Score users with a personality at ``now`` (all eligible ones when ``user_ids`` is None): three
        queries in all (profiles, their companions, their history)."""
        now = now or self.clock.now()
        profiles = await ProactiveRepository(self.pool).candidates(user_ids, eligible_only=eligible_only)
        return await self._evaluate_profiles(profiles, now)

    async def _evaluate_profiles(self, profiles: Sequence[Any], now: datetime) -> list[Evaluation]:
        repo = ProactiveRepository(self.pool)
        companions = await self.personality.snapshots([row["user_id"] for row in profiles], now)
        rows = [(row, companions[row["user_id"]]) for row in profiles if row["user_id"] in companions]
        zones = [scoring.resolve_zone(row["timezone"]) for row, _ in rows]
        history = await repo.history(
            [row["user_id"] for row, _ in rows],
            [zone.key for zone, _ in zones],
            now - timedelta(days=ACTIVITY_WINDOW_DAYS),
            now,
        )
        stats = {row["user_id"]: _stats(row) for row in history}
        return [
            self._evaluate(
                row, companion, zone, warning, stats.get(row["user_id"], scoring.PatternStats()), now
            )
            for (row, companion), (zone, warning) in zip(rows, zones, strict=True)
        ]

    def _evaluate(
        self,
        row: Any,
        companion: CompanionSnapshot,
        zone: Any,
        warning: str | None,
        stats: scoring.PatternStats,
        now: datetime,
    ) -> Evaluation:
        local = now.astimezone(zone)
        mood = companion.state.pad
        levels: dict[str, float] = {}
        readings = []
        for need in companion.needs:
            kind = need.need_type.value
            levels[kind] = round(need.exact_level, 4)
            readings.append(scoring.NeedReading(kind, need.exact_level, need.trigger_threshold))
        last_active = row["last_active_at"]
        last_proactive = row["last_proactive_at"]
        last_exchange = max((t for t in (last_active, last_proactive) if t is not None), default=None)
        unanswered = int(row["unanswered_proactive_count"])
        result = scoring.score(
            needs=readings,
            traits=companion.state.traits,
            mood=mood,
            stats=stats,
            local_now=local,
            hours_since_activity=scoring.hours_between(now, last_active),
            hours_since_interaction=scoring.hours_between(now, last_exchange),
            hours_since_proactive=scoring.hours_between(now, last_proactive),
            unanswered=unanswered,
        )
        blocked = scoring.blocked_by(
            limits=self.limits,
            now=now,
            local_hour=local.hour,
            enabled=bool(row["proactive_enabled"]),
            status=str(row["status"]),
            quiet_start=int(row["quiet_hours_start"]),
            quiet_end=int(row["quiet_hours_end"]),
            last_proactive_at=last_proactive,
            last_user_at=last_active,
            sent_last_24h=stats.proactive_last_24h,
            unanswered=unanswered,
        )
        return Evaluation(
            user_id=row["user_id"],
            name=row["display_name"] or row["username"],
            now=now,
            local_time=local,
            zone=zone.key,
            timezone_warning=warning,
            score=result,
            blocked=blocked,
            threshold=self.settings.threshold,
            mood=mood,
            mood_label=companion.state.label.value,
            need_levels=levels,
            last_active_at=last_active,
            last_channel_id=row["last_channel_id"],
            stored_warning=row["timezone_warning"],
            quiet_hours=(int(row["quiet_hours_start"]), int(row["quiet_hours_end"])),
        )

    # --- the check -------------------------------------------------------------------------------------------

    async def check_all(self, now: datetime | None = None, trigger: str = "schedule") -> CheckReport:
        """One proactive check over every eligible user (the 5-minute job)."""
        started = time.perf_counter()
        now = now or self.clock.now()
        report = CheckReport()
        retrying = await self._retry_failed(now, report)
        # The eligible users page by page (keyset on the user id), so the scan's memory is one page and the
        # best candidates so far, however many users there are.
        chosen: list[Evaluation] = []
        after: str | None = None
        repo = ProactiveRepository(self.pool)
        while True:
            profiles = await repo.candidates(None, eligible_only=True, after=after, limit=self.scan_batch)
            if not profiles:
                break
            after = profiles[-1]["user_id"]
            evaluations = await self._evaluate_profiles(profiles, now)
            report.users_scored += len(evaluations)
            await self._record_timezone_warnings(evaluations, now, report)
            for evaluation in evaluations:
                if not evaluation.over_threshold:
                    continue
                report.over_threshold += 1
                report.blocked.update(evaluation.blocked)
                if evaluation.user_id in retrying:
                    report.blocked["delivery_retry_pending"] += 1
                elif not evaluation.blocked:
                    chosen.append(evaluation)
            chosen.sort(key=lambda e: e.score.total, reverse=True)
            del chosen[self.settings.max_per_cycle :]
            if len(profiles) < self.scan_batch:
                break
        if chosen:
            memories = await ProactiveRepository(self.pool).follow_up_memories(
                [e.user_id for e in chosen],
                now - timedelta(days=FOLLOW_UP_WINDOW_DAYS),
                now,
                FOLLOW_UP_MIN_IMPORTANCE,
            )
            semaphore = asyncio.Semaphore(INITIATION_CONCURRENCY)

            async def one(evaluation: Evaluation) -> None:
                async with semaphore:
                    try:
                        attempt = await self._initiate(evaluation, memories.get(evaluation.user_id), trigger)
                    except Exception as exc:  # one user's failure never stops the check
                        logger.exception("proactive initiation failed for %s", evaluation.user_id)
                        report.errors.append(f"{evaluation.user_id}: {type(exc).__name__}: {exc}")
                        return
                if attempt.message_id is None:
                    report.skipped_at_claim += 1
                    return
                report.initiated += 1
                if attempt.delivered:
                    report.delivered += 1
                else:
                    report.failed += 1

            await asyncio.gather(*(one(evaluation) for evaluation in chosen))
        report.seconds = time.perf_counter() - started
        logger.info("proactive check", extra=report.as_dict())
        return report

    async def _record_timezone_warnings(
        self, evaluations: Sequence[Evaluation], now: datetime, report: CheckReport
    ) -> None:
        changed = {
            e.user_id: e.timezone_warning for e in evaluations if e.timezone_warning != e.stored_warning
        }
        report.timezone_fallbacks += sum(1 for e in evaluations if e.timezone_warning)
        if changed:
            await self.users.set_timezone_warnings(changed, now)

    async def _initiate(
        self, evaluation: Evaluation, memory: dict[str, Any] | None, trigger: str
    ) -> _Attempt:
        """Think, write, claim (limits read again under the user's lock), deliver, record."""
        now = evaluation.now
        generation_started = time.perf_counter()
        if memory is not None and not usable_memory(memory.get("content")):
            memory = None
        top_need = evaluation.score.top_need
        ctx = OpenerContext(
            user_id=evaluation.user_id,
            name=evaluation.name,
            local_time=evaluation.local_time,
            hours_since_talk=scoring.hours_between(now, evaluation.last_active_at),
            reason=evaluation.score.reason,
            score=evaluation.score.total,
            top_need=top_need,
            need_level=evaluation.need_levels.get(top_need) if top_need else None,
            mood_label=evaluation.mood_label,
            memory_content=memory["content"] if memory else None,
            memory_created_at=memory["created_at"] if memory else None,
            persona=await self._persona(evaluation.user_id, now),
        )
        thought = await self.writer.thought(ctx)
        opener = await self.writer.opener(ctx, thought.text)
        channel_text: str | None = channel_safe_opener(ctx)
        if channel_text is not None and not self._safe(channel_text):
            channel_text = None  # the user's own name tripped the screen: the DM or nothing
        generation_ms = (time.perf_counter() - generation_started) * 1000
        async with self.pool.acquire() as conn, conn.transaction():
            repo = ProactiveRepository(conn)
            await repo.lock_user(evaluation.user_id)
            state = await repo.claim_state(evaluation.user_id, now)
            blocked = self._blocked_now(state, evaluation)
            if blocked:
                logger.info("proactive message for %s not sent: %s", evaluation.user_id, ", ".join(blocked))
                return _Attempt(False, None, ", ".join(blocked))
            memory_id: UUID | None = memory["id"] if memory else None
            message_id = await repo.insert_message(
                user_id=evaluation.user_id,
                created_at=now,
                trigger=trigger,
                score=round(evaluation.score.total, 6),
                components=evaluation.score.components()
                | {"timezone": evaluation.zone, "local_time": evaluation.local_time.isoformat()},
                reason=evaluation.score.reason,
                kind=ctx.kind,
                memory_id=memory_id,
                inner_thought=thought.text,
                thought_source=thought.source,
                message=opener.text,
                message_source=opener.source,
                channel_message=channel_text,
            )
        return await self._deliver(
            message_id,
            evaluation.user_id,
            opener.text,
            channel_text,
            evaluation.score.total,
            evaluation.score.reason,
            evaluation.last_channel_id,
            now,
            mood=evaluation.mood,
            mood_label=evaluation.mood_label,
            memory_ids=[memory_id] if memory_id else [],
            latency_ms=round(generation_ms),
            model=opener.source,
        )

    def _blocked_now(self, state: Any, evaluation: Evaluation, *, retry: bool = False) -> list[str]:
        if state is None:
            return ["user_deleted"]
        blocked = scoring.blocked_by(
            limits=self.limits,
            now=evaluation.now,
            local_hour=evaluation.local_time.hour,
            enabled=bool(state["proactive_enabled"]),
            status=str(state["status"]),
            quiet_start=evaluation.quiet_hours[0],
            quiet_end=evaluation.quiet_hours[1],
            last_proactive_at=state["last_proactive_at"],
            last_user_at=state["last_active_at"],
            sent_last_24h=int(state["sent_last_24h"]),
            unanswered=int(state["unanswered_proactive_count"]),
        )
        if state["in_flight"] and not retry:
            blocked.append("delivery_in_flight")
        return blocked

    async def _persona(self, user_id: str, now: datetime) -> str | None:
        """The companion's persona for the LLM opener (skipped in offline mode: templates do not read it)."""
        if self.chat_llm is None:
            return None
        try:
            return await self.personality.persona(user_id, now)
        except Exception as exc:  # the opener falls back to a generic voice
            logger.warning("persona for proactive opener unavailable for %s: %s", user_id, exc)
            return None

    async def _deliver(
        self,
        message_id: int,
        user_id: str,
        text: str,
        channel_text: str | None,
        score: float,
        reason: str,
        channel_id: str | None,
        now: datetime,
        *,
        mood: PAD | None,
        mood_label: str | None,
        memory_ids: list[UUID],
        latency_ms: int,
        model: str | None,
    ) -> _Attempt:
        delivery = await self._push(user_id, text, reason, channel_id, channel_text)
        in_channel = delivery.status == "delivered_channel"
        async with self.pool.acquire() as conn, conn.transaction():
            repo = ProactiveRepository(conn)
            if not delivery.delivered:
                await repo.mark_failed(message_id, delivery.detail or "delivery failed", now)
                logger.warning("proactive delivery to %s failed: %s", user_id, delivery.detail)
                return _Attempt(False, message_id, delivery.detail)
            pad = mood.as_dict() if mood is not None else None
            interaction_id = await interactions.record_proactive_turn(
                conn,
                user_id=user_id,
                created_at=now,
                # What was posted: in a channel, the channel-safe text (which a later reply there may see).
                text=channel_text if in_channel and channel_text else text,
                pad=pad,
                emotion=mood_label,
                memory_ids=memory_ids,
                latency_ms=latency_ms,
                model=model,
                channel_id=delivery.channel_id,
                is_dm=not in_channel,
                score=round(score, 6),
                reason=reason,
            )
            await repo.mark_delivered(
                message_id,
                status=delivery.status,
                detail=delivery.detail,
                channel_id=delivery.channel_id,
                interaction_id=interaction_id,
                now=now,
            )
            await self.users.record_proactive_sent(user_id, now, conn=conn)
        return _Attempt(True, message_id, delivery.status)

    async def _push(
        self, user_id: str, text: str, reason: str, channel_id: str | None, channel_text: str | None
    ) -> Delivery:
        if self.deliverer is None:
            return Delivery("failed", "no bot registered for proactive pushes")
        try:
            return await self.deliverer.deliver(user_id, text, reason, channel_id, channel_text)
        except Exception as exc:  # a Deliverer should never raise; if one does, it is a failed delivery
            logger.warning("deliverer raised for %s: %r", user_id, exc)
            return Delivery("failed", f"bot unreachable: {type(exc).__name__}: {exc}"[:300])

    async def _retry_failed(self, now: datetime, report: CheckReport) -> set[str]:
        """Deliver again what the bot could not take last time; returns the users still waiting on one."""
        repo = ProactiveRepository(self.pool)
        rows = await repo.retry_candidates(now, RETRY_MAX_AGE_HOURS, RETRY_MAX_ATTEMPTS)
        if not rows:
            return set()
        evaluations = {
            e.user_id: e for e in await self.evaluate([r["user_id"] for r in rows], now, eligible_only=False)
        }
        waiting: set[str] = set()
        for row in rows:
            user_id = row["user_id"]
            report.retried += 1
            evaluation = evaluations.get(user_id)
            async with self.pool.acquire() as conn, conn.transaction():
                claim = ProactiveRepository(conn)
                await claim.lock_user(user_id)
                state = await claim.claim_state(user_id, now)
                blocked = (
                    ["user_deleted"]
                    if evaluation is None
                    else self._blocked_now(state, evaluation, retry=True)
                )
                last_active = state["last_active_at"] if state is not None else None
                if last_active is not None and last_active > row["created_at"]:
                    blocked.append("user_wrote_meanwhile")
                if blocked:
                    await claim.abandon([row["id"]], "not retried: " + ", ".join(blocked))
                    report.abandoned += 1
                    continue
            assert evaluation is not None
            attempt = await self._deliver(
                row["id"],
                user_id,
                row["message"],
                row["channel_message"],
                float(row["score"]),
                row["reason"],
                evaluation.last_channel_id,
                now,
                mood=evaluation.mood,
                mood_label=evaluation.mood_label,
                memory_ids=[],
                latency_ms=0,
                model="retry",
            )
            if attempt.delivered:
                report.retry_delivered += 1
            else:
                waiting.add(user_id)
        return waiting

    # --- one user (API) --------------------------------------------------------------------------------------

    async def status(self, user_id: str, now: datetime | None = None) -> ProactiveStatus:
        """The score as it stands now with every component, the blocking limits and the last messages."""
        evaluation = await self._one(user_id, now)
        recent = await ProactiveRepository(self.pool).messages(user_id, RECENT_MESSAGES)
        return ProactiveStatus(
            user_id=user_id,
            as_of=evaluation.now,
            local_time=evaluation.local_time,
            timezone=evaluation.zone,
            timezone_warning=evaluation.timezone_warning,
            score=round(evaluation.score.total, 4),
            threshold=evaluation.threshold,
            components=evaluation.score.components(),
            blocked_by=evaluation.blocked,
            would_initiate=evaluation.should_initiate,
            recent=[ProactiveMessageRead.model_validate(row) for row in recent],
        )

    async def trigger(
        self, user_id: str, *, force: bool = False, now: datetime | None = None
    ) -> ProactiveOutcome:
        """Start a proactive conversation now if the score (unless ``force``) and the hard limits allow."""
        evaluation = await self._one(user_id, now)
        score = round(evaluation.score.total, 4)
        if evaluation.blocked:
            return ProactiveOutcome(
                user_id=user_id, success=False, reason="blocked by hard limits", score=score,
                blocked_by=evaluation.blocked,
            )  # fmt: skip
        if not force and not evaluation.over_threshold:
            return ProactiveOutcome(
                user_id=user_id, success=False, score=score,
                reason=f"score {score:.2f} is below the threshold {evaluation.threshold:.2f}",
            )  # fmt: skip
        memories = await ProactiveRepository(self.pool).follow_up_memories(
            [user_id],
            evaluation.now - timedelta(days=FOLLOW_UP_WINDOW_DAYS),
            evaluation.now,
            FOLLOW_UP_MIN_IMPORTANCE,
        )
        attempt = await self._initiate(evaluation, memories.get(user_id), "manual")
        if attempt.message_id is None:
            return ProactiveOutcome(
                user_id=user_id, success=False, score=score, reason="blocked by hard limits",
                blocked_by=attempt.detail.split(", "),
            )  # fmt: skip
        rows = await ProactiveRepository(self.pool).messages(user_id, 1)
        message = ProactiveMessageRead.model_validate(rows[0]) if rows else None
        return ProactiveOutcome(
            user_id=user_id,
            success=attempt.delivered,
            reason="delivered"
            if attempt.delivered
            else f"delivery failed (retried next check): {attempt.detail}",
            score=score,
            message=message,
        )

    async def _one(self, user_id: str, now: datetime | None) -> Evaluation:
        found = await self.evaluate([user_id], now or self.clock.now(), eligible_only=False)
        if not found:
            raise ProactiveUserNotFoundError(f"no companion with a personality exists for user {user_id}")
        evaluation = found[0]
        if evaluation.timezone_warning != evaluation.stored_warning:
            await self.users.set_timezone_warnings({user_id: evaluation.timezone_warning}, evaluation.now)
        return evaluation


def _stats(row: Any) -> scoring.PatternStats:
    hours = [0] * 24
    weekdays = [0] * 7
    for value in row["hours_of_week"] or ():
        weekdays[value // 24] += 1
        hours[value % 24] += 1
    return scoring.PatternStats(
        user_messages=int(row["user_messages"]),
        conversations=int(row["conversations"]),
        user_started=int(row["user_started"]),
        proactive_sent=int(row["proactive_sent"]),
        proactive_answered=int(row["proactive_answered"]),
        proactive_last_24h=int(row["proactive_last_24h"]),
        last_user_message_at=row["last_user_message_at"],
        hour_counts=tuple(hours),
        weekday_counts=tuple(weekdays),
    )
