from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.admin.schemas import (
    AdminStats,
    AdminUserDetail,
    AdminUserPage,
    InteractionPage,
    MigrationStatus,
    UserResetRequest,
)
from gateway.auth import AdminAuth
from gateway.deps import AdminServiceDep
from gateway.users.schemas import UserDeletion, UserId, UserStatus

router = APIRouter(tags=["admin"], dependencies=[AdminAuth])


@router.get("/migrations", response_model=MigrationStatus)
async def get_migrations(admin: AdminServiceDep) -> MigrationStatus:
    """Applied and pending schema migrations."""
    return await admin.migration_status()


@router.get("/stats", response_model=AdminStats)
async def get_stats(admin: AdminServiceDep) -> AdminStats:
    """Users by status, interactions (total, last 24 h, today), memories, incidents, pending deletions."""
    return await admin.stats()


@router.get("/users", response_model=AdminUserPage)
async def list_users(
    admin: AdminServiceDep,
    status: UserStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AdminUserPage:
    """Users, most recently active first, optionally only those of one status."""
    return await admin.list_users(status, limit, offset)


@router.get("/users/{user_id}", response_model=AdminUserDetail)
async def get_user(user_id: UserId, admin: AdminServiceDep) -> AdminUserDetail:
    """One user's profile, mood, security standing and counts (404 for a user the companion never met)."""
    return await admin.user_detail(user_id)


@router.get("/users/{user_id}/interactions", response_model=InteractionPage)
async def list_interactions(
    user_id: UserId,
    admin: AdminServiceDep,
    days: Annotated[int, Query(ge=1, le=365, description="how far back")] = 7,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> InteractionPage:
    """The user's interactions of the last ``days``, newest first: message, reply, mood before and after,
    runtime, model, latency, what was degraded, whether it was proactive or a security incident."""
    return await admin.interactions(user_id, days, limit, offset)


@router.post("/users/{user_id}/reset", response_model=UserDeletion)
async def reset_user(user_id: UserId, body: UserResetRequest, admin: AdminServiceDep) -> UserDeletion:
    """Delete everything about the user everywhere; needs ``{"confirm": true}``."""
    return await admin.reset_user(user_id, body)
