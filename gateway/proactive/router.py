from __future__ import annotations

from fastapi import APIRouter

from gateway.auth import ServiceAuth
from gateway.context import AppContext, Context
from gateway.errors import ServiceUnavailableError, error_responses
from gateway.proactive.schemas import ProactiveOutcome, ProactiveStatus, ProactiveTrigger
from gateway.proactive.service import ProactiveService
from gateway.users.schemas import UserId

router = APIRouter(tags=["proactive"], dependencies=[ServiceAuth], responses=error_responses(503))


def _proactive(context: AppContext) -> ProactiveService:
    if context.proactive is None:
        raise ServiceUnavailableError("the proactive manager is not running in this gateway")
    return context.proactive


@router.get("/{user_id}/status", response_model=ProactiveStatus)
async def proactive_status(user_id: UserId, context: Context) -> ProactiveStatus:
    """The proactive score as it stands now, every component kept, and the hard limits that block it."""
    return await _proactive(context).status(user_id)


@router.post("/{user_id}/trigger", response_model=ProactiveOutcome)
async def trigger_proactive(
    user_id: UserId, context: Context, body: ProactiveTrigger | None = None
) -> ProactiveOutcome:
    """Start a proactive conversation now: sent when the score reaches the threshold (or ``force``) and no
    hard limit (opt-out, quiet hours, caps) forbids it."""
    return await _proactive(context).trigger(user_id, force=bool(body and body.force))
