"""Security routes: checking a message and reading a user's standing (service token), and the admin view of
incidents and escalation (admin key). Mounted by gateway/api.py at /security and /admin/security."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from gateway.auth import AdminAuth, ServiceAuth
from gateway.deps import SecurityServiceDep, UsersServiceDep
from gateway.security.schemas import (
    CheckRequest,
    FalsePositiveUpdate,
    IncidentPage,
    IncidentRead,
    SecurityLiftCreate,
    SecurityOutcome,
    SecurityReview,
    SecurityState,
    ThreatKind,
)
from gateway.users.schemas import USER_ID_PATTERN, UserId

router = APIRouter(tags=["security"], dependencies=[ServiceAuth])
admin_router = APIRouter(tags=["admin", "security"], dependencies=[AdminAuth])


async def known_user(user_id: UserId, users: UsersServiceDep) -> str:
    """The path's user, who must exist (404 otherwise)."""
    await users.profile(user_id)
    return user_id


KnownUser = Annotated[str, Depends(known_user)]


@router.post("/{user_id}/check", response_model=SecurityOutcome)
async def check_message(
    user_id: KnownUser, body: CheckRequest, security: SecurityServiceDep
) -> SecurityOutcome:
    """Screen one message as the chat pipeline would: verdict, defensive reply, PAD delta and standing.

    A dry run unless ``record`` is true: then a threat is also recorded as an incident, and counted as an
    offence when it is sure enough to escalate.
    """
    return await security.screen_message(user_id, body.message, mood=body.mood, record=body.record)


@router.get("/{user_id}/state", response_model=SecurityState)
async def get_state(user_id: KnownUser, security: SecurityServiceDep) -> SecurityState:
    """The user's escalation level, restrictions and a sentence the bot can show them."""
    return await security.state(user_id)


@admin_router.get("/incidents", response_model=IncidentPage)
async def list_incidents(
    security: SecurityServiceDep,
    days: Annotated[int, Query(ge=1, le=365)] = 7,
    user_id: Annotated[str | None, Query(pattern=USER_ID_PATTERN)] = None,
    threat_type: ThreatKind | None = None,
    min_confidence: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
    false_positive: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> IncidentPage:
    """Security incidents, newest first, filtered by age, user, kind, confidence and review state."""
    return await security.list_incidents(
        days=days,
        user_id=user_id,
        threat_type=threat_type,
        min_confidence=min_confidence,
        false_positive=false_positive,
        limit=limit,
        offset=offset,
    )


@admin_router.post("/incidents/{incident_id}/false-positive", response_model=IncidentRead)
async def mark_false_positive(
    incident_id: Annotated[int, Path(ge=1, le=2**62)], body: FalsePositiveUpdate, security: SecurityServiceDep
) -> IncidentRead:
    """Mark an incident a false positive (or not); false positives stop counting as offences."""
    return await security.mark_false_positive(incident_id, body)


@admin_router.get("/users/{user_id}", response_model=SecurityReview)
async def get_user_state(user_id: KnownUser, security: SecurityServiceDep) -> SecurityReview:
    """One user's standing and why: the offences counted now (rules, layers, scores) and past lifts."""
    return await security.review(user_id)


@admin_router.post("/users/{user_id}/lift", response_model=SecurityReview)
async def lift_user_escalation(
    user_id: KnownUser, body: SecurityLiftCreate, security: SecurityServiceDep
) -> SecurityReview:
    """Lift the user's escalation: level and offence counters reset, any suspension ended, in Redis and
    Postgres; who and why are recorded. The incidents stay on record."""
    return await security.lift(user_id, body)
