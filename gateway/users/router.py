from __future__ import annotations

from fastapi import APIRouter

from gateway.auth import ServiceAuth
from gateway.context import Context
from gateway.users import service as users_service
from gateway.users.schemas import UserDeletion, UserExport, UserId, UserProfileRead, UserSettingsUpdate

router = APIRouter(tags=["users"], dependencies=[ServiceAuth])


@router.get("/{user_id}", response_model=UserProfileRead)
async def get_user(user_id: UserId, context: Context) -> UserProfileRead:
    """One user's profile (404 until the companion has met them)."""
    return await users_service.get_profile(context.pool, user_id)


@router.patch("/{user_id}", response_model=UserProfileRead)
async def update_user(user_id: UserId, body: UserSettingsUpdate, context: Context) -> UserProfileRead:
    """Change the user's time zone, proactive opt-in or quiet hours (omitted fields stay)."""
    return await users_service.update_settings(context.pool, user_id, body)


@router.get("/{user_id}/export", response_model=UserExport)
async def export_user(user_id: UserId, context: Context) -> UserExport:
    """Everything the companion keeps about the user, as JSON."""
    await context.chat.writer.drain()
    return await users_service.export(context, user_id)


@router.delete("/{user_id}", response_model=UserDeletion)
async def delete_user(user_id: UserId, context: Context) -> UserDeletion:
    """Delete everything about the user everywhere: Postgres, the vector index, Redis, cached embeddings and
    their Letta agent. Messages sent before are answered first; one sent after starts a new companion."""
    return await users_service.delete_everything(context, user_id)
