"""The personality API: ``/api/personality/{user_id}/...``. User routes take the service token; the manual
mood adjustment takes the admin key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from gateway.auth import AdminAuth, ServiceAuth
from gateway.deps import PersonalityServiceDep, UsersServiceDep
from gateway.errors import error_responses
from gateway.personality.pad import PAD
from gateway.personality.profiles import BigFive
from gateway.personality.schemas import (
    MAX_HISTORY_DAYS,
    BigFiveRead,
    DriftRead,
    EvolveRead,
    NeedRead,
    PadAdjustment,
    PADRead,
    PadUpdateRead,
    PersonalityHistoryPage,
    PersonalityInitialize,
    PersonalityInitialized,
    PersonalitySnapshot,
    PersonalityStateRead,
    PersonaRead,
    QuirkEvolutionRead,
    QuirkRead,
)
from gateway.personality.service import NeedState, PersonalityState
from gateway.users.schemas import UserId

router = APIRouter(tags=["personality"])


async def known_user(user_id: UserId, users: UsersServiceDep) -> str:
    """The path's user, who must exist (404 otherwise)."""
    await users.profile(user_id)
    return user_id


KnownUser = Annotated[str, Depends(known_user)]
Days = Annotated[int, Query(ge=1, le=MAX_HISTORY_DAYS, description=f"at most {MAX_HISTORY_DAYS} days")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _pad(pad: PAD) -> PADRead:
    return PADRead(**pad.as_dict())


def snapshot(state: PersonalityState) -> PersonalitySnapshot:
    return PersonalitySnapshot(
        id=state.id,
        user_id=state.user_id,
        profile=state.profile,
        timestamp=state.created_at,
        as_of=state.as_of,
        big_five=BigFiveRead(**state.traits.as_dict()),
        pad_state=_pad(state.pad.rounded()),
        stored_pad=_pad(state.stored_pad),
        pad_baseline=_pad(state.baseline),
        emotion_label=state.label,
        is_current=state.is_current,
        reason=state.reason,
    )


def _need(need: NeedState) -> NeedRead:
    return NeedRead(
        need_type=need.need_type,
        current_level=need.level,
        baseline=need.baseline,
        growth_per_hour=need.growth_per_hour,
        trigger_threshold=need.trigger_threshold,
        urgent=need.urgent,
        last_updated_at=need.last_updated_at,
        last_satisfied_at=need.last_satisfied_at,
        satisfaction_count=need.satisfaction_count,
    )


@router.post(
    "/{user_id}/initialize",
    response_model=PersonalityInitialized,
    status_code=status.HTTP_201_CREATED,
    dependencies=[ServiceAuth],
    responses=error_responses(409),
)
async def initialize(
    user_id: UserId, body: PersonalityInitialize, personality: PersonalityServiceDep, users: UsersServiceDep
) -> PersonalityInitialized:
    """Give the user's companion its personality: a profile (with a small per-user jitter) or explicit
    traits, and the user's time zone. Someone who said hi first may still choose while the companion is new
    (fewer than 5 messages answered); after that the traits never change (409)."""
    traits = BigFive(**body.traits.model_dump()) if body.traits is not None else None
    state = await personality.initialize(
        user_id, profile=body.profile, timezone=body.timezone, username=body.username, traits=traits
    )
    profile = await users.get_profile(user_id)
    return PersonalityInitialized(
        success=True,
        personality=snapshot(state),
        timezone=profile.timezone,
        message=f"personality initialised as {state.profile.value}",
    )


@router.get("/{user_id}/current", response_model=PersonalitySnapshot, dependencies=[ServiceAuth])
async def current(user_id: KnownUser, personality: PersonalityServiceDep) -> PersonalitySnapshot:
    """The companion's traits and its mood right now (decayed toward the baseline since the last change)."""
    return snapshot(await personality.current(user_id))


@router.get("/{user_id}/history", response_model=PersonalityHistoryPage, dependencies=[ServiceAuth])
async def history(
    user_id: KnownUser,
    personality: PersonalityServiceDep,
    days: Days = 30,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PersonalityHistoryPage:
    """Every mood change of the last ``days`` days, newest first, with its reason."""
    await personality.current(user_id)  # 404 for a user without a personality
    states, total = await personality.history(user_id, days, limit, offset)
    return PersonalityHistoryPage(
        items=[
            PersonalityStateRead(
                id=s.id,
                timestamp=s.created_at,
                pad_state=_pad(s.stored_pad),
                pad_baseline=_pad(s.baseline),
                emotion_label=s.stored_label,
                is_current=s.is_current,
                reason=s.reason,
            )
            for s in states
        ],
        total=total,
        limit=limit,
        offset=offset,
        days=days,
    )


@router.get("/{user_id}/quirks", response_model=list[QuirkRead], dependencies=[ServiceAuth])
async def quirks(
    user_id: KnownUser, personality: PersonalityServiceDep, active_only: bool = True
) -> list[QuirkRead]:
    """The companion's habits, strongest first (all of them with ``active_only=false``)."""
    rows = await personality.quirks(user_id, active_only)
    return [QuirkRead.model_validate(row, from_attributes=True) for row in rows]


@router.get("/{user_id}/needs", response_model=list[NeedRead], dependencies=[ServiceAuth])
async def needs(user_id: KnownUser, personality: PersonalityServiceDep) -> list[NeedRead]:
    """The companion's five needs as they are now; ``urgent`` at or above the trigger threshold."""
    await personality.current(user_id)
    return [_need(need) for need in await personality.needs(user_id)]


@router.get("/{user_id}/persona", response_model=PersonaRead, dependencies=[ServiceAuth])
async def persona(user_id: KnownUser, personality: PersonalityServiceDep) -> PersonaRead:
    """The persona text the chat pipeline and Letta are given for this companion right now."""
    return PersonaRead(user_id=user_id, text=await personality.persona(user_id))


@router.post("/{user_id}/evolve", response_model=EvolveRead, dependencies=[ServiceAuth])
async def evolve(user_id: KnownUser, personality: PersonalityServiceDep) -> EvolveRead:
    """Run the nightly evolution now: quirk mining and rules, then the baseline drift."""
    result = await personality.evolve(user_id)
    q, d = result.quirks, result.drift
    if d.applied:
        drift_note = "baseline drifted"
    elif d.already_drifted:
        drift_note = "baseline kept (it already drifted tonight)"
    else:
        drift_note = f"baseline kept ({d.interactions} of 5 interactions needed)"
    return EvolveRead(
        success=True,
        message=f"quirks: {q.created} new, {q.reinforced} reinforced, {q.faded} faded; {drift_note}",
        quirks=QuirkEvolutionRead(
            source=q.source,
            fallback_reason=q.fallback_reason,
            replies_read=q.replies_read,
            mined=q.mined,
            created=q.created,
            reinforced=q.reinforced,
            faded=q.faded,
            deactivated=q.deactivated,
        ),
        drift=DriftRead(
            applied=d.applied,
            already_drifted=d.already_drifted,
            interactions=d.interactions,
            rate=d.rate,
            baseline_before=_pad(d.before),
            baseline_after=_pad(d.after),
        ),
        processed_at=result.processed_at,
    )


@router.post("/{user_id}/pad/adjust", response_model=PadUpdateRead, dependencies=[AdminAuth])
async def adjust_pad(
    user_id: KnownUser, body: PadAdjustment, personality: PersonalityServiceDep
) -> PadUpdateRead:
    """Admin only: move the mood by the given deltas (each in [-2, 2]; the result is clamped to [-1, 1]),
    recorded in the history with the reason."""
    change = await personality.update_pad(
        user_id, PAD(body.pleasure, body.arousal, body.dominance), f"admin: {body.reason}"
    )
    return PadUpdateRead(
        success=True,
        pad_before=_pad(change.before.rounded()),
        new_pad_state=_pad(change.after),
        emotion_label=change.state.label,
        updated_at=change.state.created_at,
    )
