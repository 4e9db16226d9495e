from __future__ import annotations

from fastapi import APIRouter

from gateway.auth import ServiceAuth
from gateway.context import Context
from gateway.users import service as users_service
from gateway.users.schemas import UserId, UserProfileRead

router = APIRouter(tags=["users"], dependencies=[ServiceAuth])


@router.get("/{user_id}", response_model=UserProfileRead)
async def get_user(user_id: UserId, context: Context) -> UserProfileRead:
    """One user's profile (404 until the companion has met them)."""
    return await users_service.get_profile(context.pool, user_id)
