from __future__ import annotations

from fastapi import APIRouter

from gateway.auth import ServiceAuth
from gateway.deps import UserDataDep, UsersServiceDep
from gateway.users.schemas import UserDeletion, UserExport, UserId, UserProfileRead, UserSettingsUpdate

router = APIRouter(tags=["users"], dependencies=[ServiceAuth])


@router.get("/{user_id}", response_model=UserProfileRead)
async def get_user(user_id: UserId, users: UsersServiceDep) -> UserProfileRead:
    """One user's profile (404 until the companion has met them)."""
    return await users.get_profile(user_id)


@router.patch("/{user_id}", response_model=UserProfileRead)
async def update_user(user_id: UserId, body: UserSettingsUpdate, users: UsersServiceDep) -> UserProfileRead:
    """Change the user's time zone, proactive opt-in or quiet hours (omitted fields stay)."""
    return await users.update_settings(user_id, body)


@router.get("/{user_id}/export", response_model=UserExport)
async def export_user(user_id: UserId, data: UserDataDep) -> UserExport:
    """Everything the companion keeps about the user, as JSON."""
    return await data.export(user_id)


@router.delete("/{user_id}", response_model=UserDeletion)
async def delete_user(user_id: UserId, data: UserDataDep) -> UserDeletion:
    """Delete everything about the user everywhere: Postgres, the vector index, Redis, cached embeddings and
    their Letta agent. Messages sent before are answered first; one sent after starts a new companion."""
    return await data.delete_everything(user_id)
