"""The personality service: initialise a companion, read and move its mood, appraise messages, drift the
baseline, evolve quirks, track needs and render the persona.

Every clock-dependent method takes ``now``. Mood decay is computed from elapsed time whenever the state is
read or written (no job). All writes of one user's state are serialised by a transaction-scoped advisory
lock, so concurrent updates never lose one another and never leave two current rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import asyncpg
import redis.asyncio as aioredis

from gateway.chat import interactions
from gateway.clock import Clock, SystemClock
from gateway.config import PersonalitySettings
from gateway.integrations.llm import FastLLM
from gateway.personality import needs as needs_rules
from gateway.personality import quirks as quirk_rules
from gateway.personality.appraisal import Appraisal, Appraiser, GroqAppraiser, LocalAppraiser
from gateway.personality.errors import PersonalityAlreadyInitializedError, PersonalityNotInitializedError
from gateway.personality.needs import NeedType
from gateway.personality.occ import OCCEmotion, modulate, pad_delta
from gateway.personality.pad import PAD, EmotionLabel, decayed, drifted_baseline, emotion_label
from gateway.personality.profiles import BigFive, PersonalityProfile, traits_for
from gateway.personality.prompt import PersonaNeed, PersonaQuirk, render_persona
from gateway.personality.quirks import (
    LLMQuirkMiner,
    LocalQuirkMiner,
    QuirkMiner,
    QuirkRecord,
    quotes_words,
)
from gateway.personality.repository import (
    LOCK_NAMESPACE_NEEDS,
    LOCK_NAMESPACE_QUIRKS,
    LOCK_NAMESPACE_STATE,
    NeedRow,
    NewState,
    PersonalityRepository,
    QuirkChange,
    QuirkRow,
    StateRow,
)
from gateway.personality.schemas import MAX_REASON_CHARS
from gateway.users.service import UsersService

logger = logging.getLogger(__name__)

DRIFT_WINDOW = timedelta(days=7)
DRIFT_MIN_INTERACTIONS = 5
# The baseline drifts at most once in this span: once per night, however many replicas or re-runs try, while a
# night whose run started late (a restart) still leaves the next night its drift.
DRIFT_ONCE_PER = timedelta(hours=20)
# The companion is "new" until it has answered this many messages: until then /initialize may still choose its
# profile (someone who said hi first got the default). The same count as the baseline drift needs, so no
# nightly drift has shaped a new companion yet.
NEW_COMPANION_TURNS = DRIFT_MIN_INTERACTIONS


@dataclass(frozen=True)
class Mood:
    """The companion's mood at one moment: where it is in PAD space, and its name."""

    pad: PAD
    label: EmotionLabel

    def as_dict(self) -> dict[str, float]:
        """The three axes, rounded to 4 digits (what interactions, memories and the API record)."""
        return self.pad.rounded(4).as_dict()


NEUTRAL_MOOD = Mood(PAD(), EmotionLabel.NEUTRAL)


@dataclass(frozen=True)
class PersonalityState:
    """A state row, with the mood decayed to ``as_of``."""

    id: int
    user_id: str
    profile: PersonalityProfile
    traits: BigFive
    stored_pad: PAD  # as written at created_at
    pad: PAD  # at as_of
    baseline: PAD
    label: EmotionLabel  # of ``pad``
    stored_label: EmotionLabel
    created_at: datetime
    as_of: datetime
    is_current: bool
    reason: str | None

    @property
    def mood(self) -> Mood:
        return Mood(self.pad, self.label)


@dataclass(frozen=True)
class PadChange:
    before: PAD  # the mood just before the change (decayed to its time)
    after: PAD
    label_before: EmotionLabel
    state: PersonalityState  # the new current state (label = after's)

    @property
    def mood_before(self) -> Mood:
        return Mood(self.before, self.label_before)

    @property
    def mood_after(self) -> Mood:
        return self.state.mood


@dataclass(frozen=True)
class Reaction:
    """A message's effect on the mood: the appraisal, the emotions felt (after personality) and the change."""

    appraisal: Appraisal
    felt: dict[OCCEmotion, float]
    delta: PAD
    change: PadChange
    degraded: tuple[str, ...] = ()

    @property
    def valence(self) -> float:
        """How good the message's news is for the user, in [-1, 1]."""
        return max(-1.0, min(1.0, self.appraisal.valence))

    @property
    def summary(self) -> str:
        """The appraisal in words (the emotional context a memory of the message keeps)."""
        return self.appraisal.describe()


@dataclass(frozen=True)
class DriftOutcome:
    applied: bool
    interactions: int
    rate: float
    before: PAD
    after: PAD
    already_drifted: bool = False  # not applied: the baseline drifted less than DRIFT_ONCE_PER ago


@dataclass(frozen=True)
class QuirkEvolution:
    source: str
    fallback_reason: str | None
    replies_read: int
    mined: int
    created: int
    reinforced: int
    faded: int
    deactivated: int


@dataclass(frozen=True)
class NeedState:
    need_type: NeedType
    exact_level: float  # at the time asked, unrounded (what proactive scoring weighs)
    baseline: float
    growth_per_hour: float
    trigger_threshold: float
    last_updated_at: datetime
    last_satisfied_at: datetime | None
    satisfaction_count: int

    @property
    def level(self) -> float:
        """The level at the time asked, to 6 decimals (what is shown, and what urgency compares)."""
        return round(self.exact_level, 6)

    @property
    def urgent(self) -> bool:
        return needs_rules.is_urgent(self.level, self.trigger_threshold)


@dataclass(frozen=True)
class CompanionSnapshot:
    """One user's companion as of one moment: the current state (mood decayed to then) and the needs (risen
    to then). What other domains read of personality (``PersonalityService.snapshots``)."""

    state: PersonalityState
    needs: list[NeedState]


@dataclass(frozen=True)
class Evolution:
    quirks: QuirkEvolution
    drift: DriftOutcome
    processed_at: datetime


class PersonalityService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: PersonalitySettings,
        *,
        users: UsersService,
        drift_rate: float,
        appraiser: Appraiser,
        miner: QuirkMiner,
        fast_llm_configured: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self.pool = pool
        self.users = users  # the profile: its personality columns, and how many turns were answered
        # "Now" for a caller that gives none (the routes); every turn and job passes its own.
        self.clock = clock or SystemClock()
        self.settings = settings
        self.drift_rate = drift_rate
        self.appraiser = appraiser
        self.miner = miner
        self._fast_llm_configured = fast_llm_configured

    @classmethod
    def create(
        cls,
        pool: asyncpg.Pool,
        redis: aioredis.Redis | None,
        fast_llm: FastLLM | None,
        settings: PersonalitySettings,
        drift_rate: float,
        *,
        users: UsersService,
        clock: Clock | None = None,
    ) -> PersonalityService:
        """The service with the Groq appraiser and quirk miner (each falling back to its local twin)."""
        local = LocalAppraiser()
        return cls(
            pool,
            settings,
            users=users,
            drift_rate=drift_rate,
            appraiser=GroqAppraiser(fast_llm, redis, local, settings.appraisal_cache_ttl_seconds),
            miner=LLMQuirkMiner(fast_llm, LocalQuirkMiner()),
            fast_llm_configured=fast_llm is not None,
            clock=clock,
        )

    # --- state ---------------------------------------------------------------------------------------------

    def _state(self, row: StateRow, now: datetime) -> PersonalityState:
        stored = PAD(row.pleasure, row.arousal, row.dominance)
        baseline = PAD(row.baseline_pleasure, row.baseline_arousal, row.baseline_dominance)
        as_of = max(now, row.created_at)
        mood = decayed(stored, baseline, row.created_at, as_of, self.settings.pad_half_life_hours)
        return PersonalityState(
            id=row.id,
            user_id=row.user_id,
            profile=PersonalityProfile(row.profile),
            traits=BigFive(
                row.openness, row.conscientiousness, row.extraversion, row.agreeableness, row.neuroticism
            ),
            stored_pad=stored,
            pad=mood,
            baseline=baseline,
            label=emotion_label(mood, baseline, self.settings.neutral_radius),
            stored_label=EmotionLabel(row.emotion_label),
            created_at=row.created_at,
            as_of=as_of,
            is_current=row.is_current,
            reason=row.reason,
        )

    async def initialize(
        self,
        user_id: str,
        *,
        profile: PersonalityProfile,
        timezone: str | None = None,
        username: str | None = None,
        traits: BigFive | None = None,
        now: datetime | None = None,
    ) -> PersonalityState:
        """Choose the companion's personality and record the user's time zone (none: the stored one stays, UTC
        for someone new).

        Someone who said hi first got the default profile; while the companion is new (it has answered fewer
        than ``NEW_COMPANION_TURNS`` messages) they may still choose: other traits start the personality over
        (neutral mood, no quirks; needs, memories and the conversation stay), the same ones keep it as it is.
        After that the traits are settled: PersonalityAlreadyInitializedError.
        """
        now = now or self.clock.now()
        chosen = traits or traits_for(profile, user_id)
        async with self.pool.acquire() as conn, conn.transaction():
            repo = PersonalityRepository(conn)
            await repo.lock(LOCK_NAMESPACE_STATE, user_id)
            row = await repo.current(user_id)
            if row is not None:
                known = await self.users.find(user_id, conn=conn)
                turns = known.total_interactions if known is not None else 0
                if turns >= NEW_COMPANION_TURNS:
                    raise PersonalityAlreadyInitializedError(
                        f"the personality is settled: it is chosen within the first {NEW_COMPANION_TURNS} "
                        f"messages and this companion has answered {turns}; traits never change after that"
                    )
            # In this transaction, under the state lock: the profile names the personality that is written.
            await self.users.initialize_profile(
                user_id, username or user_id, profile.value, timezone, now, conn=conn
            )
            if row is None or self._state(row, now).traits != chosen or row.profile != profile.value:
                if row is not None:
                    await repo.forget_personality(user_id)
                row = await self._insert_initial(repo, user_id, profile, chosen, now)
        logger.info("personality initialised", extra={"user_id": user_id, "profile": profile.value})
        return self._state(row, now)

    async def ensure(self, user_id: str, now: datetime | None = None) -> PersonalityState:
        """The current state, initialising it first (with the profile the user's record names) when the
        user has none yet. Idempotent and safe under concurrency; the user's profile must exist."""
        now = now or self.clock.now()
        row = await PersonalityRepository(self.pool).current(user_id)
        if row is None:
            async with self.pool.acquire() as conn, conn.transaction():
                repo = PersonalityRepository(conn)
                await repo.lock(LOCK_NAMESPACE_STATE, user_id)
                row = await repo.current(user_id)
                if row is None:
                    known = await self.users.find(user_id, conn=conn)
                    if known is None:
                        raise PersonalityNotInitializedError(f"no companion exists for user {user_id}")
                    profile = PersonalityProfile(known.personality_profile)
                    row = await self._insert_initial(
                        repo, user_id, profile, traits_for(profile, user_id), now
                    )
        return self._state(row, now)

    async def _insert_initial(
        self,
        repo: PersonalityRepository,
        user_id: str,
        profile: PersonalityProfile,
        traits: BigFive,
        now: datetime,
    ) -> StateRow:
        origin = PAD()
        row = await repo.insert_state(
            NewState(
                user_id=user_id,
                created_at=now,
                profile=profile.value,
                traits=traits.as_dict(),
                pad=origin.as_tuple(),
                baseline=origin.as_tuple(),
                emotion_label=EmotionLabel.NEUTRAL.value,
                reason=f"initialised as {profile.value}",
            )
        )
        await repo.insert_needs(
            user_id,
            [
                (need.value, needs_rules.INITIAL_LEVEL, rate, needs_rules.TRIGGER_THRESHOLD)
                for need, rate in needs_rules.GROWTH_PER_HOUR.items()
            ],
            now,
        )
        return row

    async def current(self, user_id: str, now: datetime | None = None) -> PersonalityState:
        """The current state with the mood decayed to ``now`` (nothing is written)."""
        row = await PersonalityRepository(self.pool).current(user_id)
        if row is None:
            raise PersonalityNotInitializedError(
                f"user {user_id} has no personality yet; initialise it first"
            )
        return self._state(row, now or self.clock.now())

    async def snapshots(self, user_ids: Sequence[str], now: datetime) -> dict[str, CompanionSnapshot]:
        """The companions of ``user_ids`` as of ``now``, in one query whatever their number (the proactive
        scan's read); users without a personality are left out. Nothing is written."""
        rows = await PersonalityRepository(self.pool).current_with_needs(user_ids)
        return {
            state.user_id: CompanionSnapshot(
                self._state(state, now), [self._need(need, now) for need in needs]
            )
            for state, needs in rows
        }

    async def history(
        self, user_id: str, days: int, limit: int, offset: int, now: datetime | None = None
    ) -> tuple[list[PersonalityState], int]:
        """State rows written in the last ``days`` days, newest first, each as written (no decay)."""
        now = now or self.clock.now()
        rows, total = await PersonalityRepository(self.pool).history(
            user_id, now - timedelta(days=days), limit, offset
        )
        return [self._state(row, row.created_at) for row in rows], total

    async def update_pad(
        self, user_id: str, delta: PAD, reason: str, now: datetime | None = None
    ) -> PadChange:
        """Add ``delta`` to the mood as it is at ``now`` (decayed), clamp, and write a new current row."""
        return await self._write(user_id, now or self.clock.now(), reason, delta=delta)

    async def _write(
        self,
        user_id: str,
        now: datetime,
        reason: str,
        *,
        delta: PAD | None = None,
        baseline: PAD | None = None,
    ) -> PadChange:
        async with self.pool.acquire() as conn, conn.transaction():
            repo = PersonalityRepository(conn)
            await repo.lock(LOCK_NAMESPACE_STATE, user_id)
            return await self._write_locked(repo, user_id, now, reason, delta=delta, baseline=baseline)

    async def _write_locked(
        self,
        repo: PersonalityRepository,
        user_id: str,
        now: datetime,
        reason: str,
        *,
        delta: PAD | None = None,
        baseline: PAD | None = None,
        baseline_drift: bool = False,
    ) -> PadChange:
        """The new current state row (the caller holds the user's state lock in its transaction)."""
        row = await repo.current(user_id)
        if row is None:
            raise PersonalityNotInitializedError(
                f"user {user_id} has no personality yet; initialise it first"
            )
        before = self._state(row, now)
        new_baseline = (baseline or before.baseline).clamped()
        after = (before.pad + (delta or PAD())).clamped().rounded(6)
        label = emotion_label(after, new_baseline, self.settings.neutral_radius)
        await repo.retire_current(user_id)
        new_row = await repo.insert_state(
            NewState(
                user_id=user_id,
                created_at=before.as_of,  # never earlier than the row it follows
                profile=before.profile.value,
                traits=before.traits.as_dict(),
                pad=after.as_tuple(),
                baseline=new_baseline.as_tuple(),
                emotion_label=label.value,
                reason=reason[:MAX_REASON_CHARS],
                baseline_drift=baseline_drift,
            )
        )
        return PadChange(before.pad, after, before.label, self._state(new_row, before.as_of))

    async def react(
        self,
        user_id: str,
        message: str,
        now: datetime | None = None,
        *,
        state: PersonalityState | None = None,
    ) -> Reaction:
        """Appraise the user's message, feel it through the companion's personality and move the mood.

        ``state``: the current state as the caller already read it at ``now`` (a turn reads it once); a move is
        written on the state as it is under the user's lock anyway. A message that stirs nothing leaves the
        state unwritten (its before and after are the same mood).
        """
        now = now or self.clock.now()
        state = state or await self.current(user_id, now)
        appraisal = await self.appraiser.appraise(message, user_id)
        felt = modulate(appraisal.emotions, state.traits)
        delta = pad_delta(felt, appraisal.surprise, appraisal.valence)
        degraded = ("groq",) if appraisal.fallback_reason and self._fast_llm_configured else ()
        if max(abs(axis) for axis in delta.as_tuple()) < 1e-6:
            change = PadChange(state.pad, state.pad, state.label, state)
        else:
            change = await self._write(user_id, now, f"appraisal ({appraisal.describe()})", delta=delta)
        return Reaction(appraisal, felt, delta, change, degraded)

    async def drift_baseline(
        self, user_id: str, now: datetime | None = None, rate: float | None = None
    ) -> DriftOutcome:
        """The nightly drift: the baseline moves ``rate`` of the way toward the mean ``pad_after`` of the
        last 7 days' interactions, when there are at least 5 of them; the mood itself is left as it is."""
        now = now or self.clock.now()
        rate = self.drift_rate if rate is None else rate
        state = await self.current(user_id, now)
        raw = await interactions.moods_after(self.pool, user_id, now - DRIFT_WINDOW, now)
        moods = [pad for pad in (PAD.from_mapping(value) for value in raw) if pad is not None]
        target = drifted_baseline(state.baseline, moods, rate, DRIFT_MIN_INTERACTIONS)
        if target is None:
            return DriftOutcome(False, len(moods), rate, state.baseline, state.baseline)
        target = target.rounded(6)
        async with self.pool.acquire() as conn, conn.transaction():
            repo = PersonalityRepository(conn)
            await repo.lock(LOCK_NAMESPACE_STATE, user_id)
            last = await repo.last_baseline_drift(user_id)
            if last is not None and now - last < DRIFT_ONCE_PER:
                # Already drifted tonight (another replica's run, a re-run, POST .../evolve): once per night.
                return DriftOutcome(
                    False, len(moods), rate, state.baseline, state.baseline, already_drifted=True
                )
            change = await self._write_locked(
                repo,
                user_id,
                now,
                f"baseline drift toward the 7-day mean of {len(moods)} interactions (rate {rate:g})",
                baseline=target,
                baseline_drift=True,
            )
        return DriftOutcome(True, len(moods), rate, state.baseline, change.state.baseline)

    # --- quirks ----------------------------------------------------------------------------------------

    async def quirks(self, user_id: str, active_only: bool = True) -> list[QuirkRow]:
        return await PersonalityRepository(self.pool).quirks(user_id, active_only)

    async def evolve_quirks(self, user_id: str, now: datetime | None = None) -> QuirkEvolution:
        """Mine the companion's replies of the last 7 days (at most 20, 200 characters each) and apply the
        rule set: reinforce what is seen again, add what is new, fade what went unseen, keep at most 7."""
        now = now or self.clock.now()
        replies = await interactions.recent_replies(
            self.pool, user_id, now - quirk_rules.REPLY_WINDOW, now, quirk_rules.MAX_REPLIES
        )
        replies = [reply[: quirk_rules.MAX_REPLY_CHARS] for reply in replies]
        mined = await self.miner.mine(replies)
        async with self.pool.acquire() as conn, conn.transaction():
            repo = PersonalityRepository(conn)
            await repo.lock(LOCK_NAMESPACE_QUIRKS, user_id)
            existing = [QuirkRecord.from_row(row) for row in await repo.quirks(user_id, active_only=False)]
            outcome = quirk_rules.apply_rules(existing, mined.quirks, now)
            await repo.update_quirks(
                user_id,
                [
                    QuirkChange(
                        r.id, r.strength, r.times_expressed, r.last_expressed_at, r.last_faded_at, r.is_active
                    )
                    for r in outcome.changed
                ],
                now,
            )
            for new in outcome.new:
                await repo.insert_quirk(
                    user_id,
                    new.quirk_type.value,
                    new.description,
                    new.strength,
                    new.is_active,
                    mined.source,
                    now,
                )
        return QuirkEvolution(
            source=mined.source,
            fallback_reason=mined.fallback_reason,
            replies_read=len(replies),
            mined=len(mined.quirks),
            created=len(outcome.new),
            reinforced=outcome.reinforced,
            faded=outcome.faded,
            deactivated=outcome.deactivated,
        )

    async def evolve(self, user_id: str, now: datetime | None = None) -> Evolution:
        """The nightly evolution, now: quirks first, then the baseline drift (the order of
        docs/proactive.md#nightly-reflection)."""
        now = now or self.clock.now()
        await self.current(user_id, now)  # 404 before any work for a user without a personality
        quirks = await self.evolve_quirks(user_id, now)
        drift = await self.drift_baseline(user_id, now)
        return Evolution(quirks, drift, now)

    # --- needs -----------------------------------------------------------------------------------------

    def _need(self, row: NeedRow, now: datetime) -> NeedState:
        return NeedState(
            need_type=NeedType(row.need_type),
            exact_level=needs_rules.grown_level(
                row.current_level, row.growth_per_hour, row.last_updated_at, now
            ),
            baseline=row.baseline,
            growth_per_hour=row.growth_per_hour,
            trigger_threshold=row.trigger_threshold,
            last_updated_at=row.last_updated_at,
            last_satisfied_at=row.last_satisfied_at,
            satisfaction_count=row.satisfaction_count,
        )

    async def needs(self, user_id: str, now: datetime | None = None) -> list[NeedState]:
        """The needs as they are at ``now`` (risen since their last update; nothing is written)."""
        now = now or self.clock.now()
        return [self._need(row, now) for row in await PersonalityRepository(self.pool).needs(user_id)]

    async def users_with_needs(self) -> list[str]:
        """Every active or dormant user whose needs keep rising."""
        return await PersonalityRepository(self.pool).users_with_needs()

    async def refresh_needs(self, user_id: str, now: datetime | None = None) -> list[NeedState]:
        """Write the risen levels (the hourly job), so urgency is visible to plain SQL too."""
        return await self._update_needs(user_id, now or self.clock.now(), {})

    async def satisfy_needs(
        self, user_id: str, message: str, now: datetime | None = None
    ) -> dict[NeedType, float]:
        """Lower the needs the message's topics satisfy (see ``gateway.personality.needs``); returns how much."""
        amounts = needs_rules.satisfaction(message)
        await self._update_needs(user_id, now or self.clock.now(), amounts)
        return amounts

    async def _update_needs(
        self, user_id: str, now: datetime, amounts: dict[NeedType, float]
    ) -> list[NeedState]:
        async with self.pool.acquire() as conn, conn.transaction():
            repo = PersonalityRepository(conn)
            await repo.lock(LOCK_NAMESPACE_NEEDS, user_id)
            updated = []
            levels: dict[str, float] = {}
            satisfied: set[str] = set()
            rows = await repo.needs(user_id)
            # One "when" for the batch: never earlier than any need's last update (clock skew reads as zero).
            when = max([now, *(row.last_updated_at for row in rows)])
            for row in rows:
                need = NeedType(row.need_type)
                level = needs_rules.grown_level(
                    row.current_level, row.growth_per_hour, row.last_updated_at, when
                )
                amount = amounts.get(need, 0.0)
                level = round(max(0.0, level - amount), 6)
                levels[need.value] = level
                if amount > 0:
                    satisfied.add(need.value)
                updated.append(replace(row, current_level=level, last_updated_at=when))
            await repo.set_needs(user_id, levels, when, satisfied)
        return [self._need(row, now) for row in updated]

    # --- persona ---------------------------------------------------------------------------------------

    async def persona(
        self,
        user_id: str,
        now: datetime | None = None,
        *,
        private: bool = True,
        state: PersonalityState | None = None,
    ) -> str:
        """The companion's current self as persona text (traits, mood, active quirks, urgent needs).

        ``private=False`` (a reply in a server channel): quirks that quote words are left out. Quirks are
        mined from every reply, DMs included, so a quoted phrase may repeat what was said in private.
        ``state``: the current state when the caller holds it (a turn, after its reaction), else read now.
        """
        now = now or self.clock.now()
        # Independent reads, on pooled connections at once.
        read = self.current(user_id, now) if state is None else _ready(state)
        current, quirks, needs = await asyncio.gather(
            read, self.quirks(user_id, active_only=True), self.needs(user_id, now)
        )
        urgent = [need for need in needs if need.urgent]
        return render_persona(
            current.profile,
            current.traits,
            current.pad,
            current.label,
            current.baseline,
            [
                PersonaQuirk(q.description, q.strength)
                for q in quirks
                if private or not quotes_words(q.description)
            ],
            [PersonaNeed(n.need_type, n.level, n.trigger_threshold) for n in urgent],
        )

    def offline_persona(self, user_id: str) -> str:
        """A persona without the database (Postgres is down and nothing is cached): the default profile's
        traits for this user, a neutral mood, no quirks or needs."""
        profile = PersonalityProfile.CURIOUS_COMPANION
        return render_persona(
            profile, traits_for(profile, user_id), PAD(), EmotionLabel.NEUTRAL, PAD(), [], []
        )


async def _ready(state: PersonalityState) -> PersonalityState:
    return state
