"""The one place that mounts routers: domain routers declare no prefix of their own."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.admin.router import router as admin_router
from gateway.bot.router import admin_router as bot_admin_router
from gateway.bot.router import router as bot_router
from gateway.chat.router import router as chat_router
from gateway.jobs_router import router as jobs_router
from gateway.memory.router import router as memory_router
from gateway.personality.router import router as personality_router
from gateway.proactive.router import router as proactive_router
from gateway.security.router import admin_router as security_admin_router
from gateway.security.router import router as security_router
from gateway.users.router import router as users_router


def build_api_router() -> APIRouter:
    api = APIRouter(prefix="/api")
    api.include_router(chat_router, prefix="/chat")
    api.include_router(users_router, prefix="/users")
    api.include_router(memory_router, prefix="/memory")
    api.include_router(personality_router, prefix="/personality")
    api.include_router(security_router, prefix="/security")
    api.include_router(admin_router, prefix="/admin")
    api.include_router(security_admin_router, prefix="/admin/security")
    api.include_router(bot_router, prefix="/bot")
    api.include_router(bot_admin_router, prefix="/admin/bot")
    api.include_router(proactive_router, prefix="/proactive")
    api.include_router(jobs_router, prefix="/admin/jobs")
    return api
