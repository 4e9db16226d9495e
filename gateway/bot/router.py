"""Bot routes: registration and heartbeat (service token), and the admin view of the registration."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.auth import AdminAuth, ServiceAuth
from gateway.bot.schemas import BotRegistrationCreate, BotRegistrationRead, BotStatusRead
from gateway.deps import BotServiceDep

router = APIRouter(tags=["bot"], dependencies=[ServiceAuth])
admin_router = APIRouter(tags=["admin", "bot"], dependencies=[AdminAuth])


@router.post("/register", response_model=BotRegistrationRead)
async def register(body: BotRegistrationCreate, bot: BotServiceDep) -> BotRegistrationRead:
    """The bot announces its push URL at start; proactive messages are delivered there. The URL's host must
    be in BOT_PUSH_ALLOWED_HOSTS (422 otherwise)."""
    return await bot.register(body)


@router.post("/heartbeat", response_model=BotRegistrationRead)
async def heartbeat(body: BotRegistrationCreate, bot: BotServiceDep) -> BotRegistrationRead:
    """Keeps the registration alive (it expires after three missed heartbeats)."""
    return await bot.register(body)


@admin_router.get("", response_model=BotStatusRead)
async def bot_status(bot: BotServiceDep) -> BotStatusRead:
    """Whether a bot is registered, its push URL, last heartbeat, and whether its push server answers."""
    return await bot.status()
