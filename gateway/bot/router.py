"""Bot routes: registration and heartbeat (service token), and the admin view of the registration."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.auth import AdminAuth, ServiceAuth
from gateway.bot import service as bot_service
from gateway.bot.schemas import BotRegistrationCreate, BotRegistrationRead, BotStatusRead
from gateway.context import Context

router = APIRouter(tags=["bot"], dependencies=[ServiceAuth])
admin_router = APIRouter(tags=["admin", "bot"], dependencies=[AdminAuth])


@router.post("/register", response_model=BotRegistrationRead)
async def register(body: BotRegistrationCreate, context: Context) -> BotRegistrationRead:
    """The bot announces its push URL at start; proactive messages are delivered there. The URL's host must
    be in BOT_PUSH_ALLOWED_HOSTS (422 otherwise)."""
    return await bot_service.register(context.redis, body, context.settings.bot_push.hosts)


@router.post("/heartbeat", response_model=BotRegistrationRead)
async def heartbeat(body: BotRegistrationCreate, context: Context) -> BotRegistrationRead:
    """Keeps the registration alive (it expires after three missed heartbeats)."""
    return await bot_service.register(context.redis, body, context.settings.bot_push.hosts)


@admin_router.get("", response_model=BotStatusRead)
async def bot_status(context: Context) -> BotStatusRead:
    """Whether a bot is registered, its push URL, last heartbeat, and whether its push server answers."""
    registration = await bot_service.current(context.redis)
    status = BotStatusRead(**registration.model_dump())
    if registration.registered and context.bot_push is not None:
        reachable, detail = await context.bot_push.probe()
        status.reachable, status.detail = reachable, detail
    return status
