from __future__ import annotations

from fastapi import APIRouter

from gateway.auth import ServiceAuth
from gateway.deps import ProactiveServiceDep
from gateway.proactive.schemas import ProactiveOutcome, ProactiveStatus, ProactiveTrigger
from gateway.users.schemas import UserId

router = APIRouter(tags=["proactive"], dependencies=[ServiceAuth])


@router.get("/{user_id}/status", response_model=ProactiveStatus)
async def proactive_status(user_id: UserId, proactive: ProactiveServiceDep) -> ProactiveStatus:
    """The proactive score as it stands now, every component kept, and the hard limits that block it."""
    return await proactive.status(user_id)


@router.post("/{user_id}/trigger", response_model=ProactiveOutcome)
async def trigger_proactive(
    user_id: UserId, proactive: ProactiveServiceDep, body: ProactiveTrigger | None = None
) -> ProactiveOutcome:
    """Start a proactive conversation now: sent when the score reaches the threshold (or ``force``) and no
    hard limit (opt-out, quiet hours, caps) forbids it."""
    return await proactive.trigger(user_id, force=bool(body and body.force))
