from __future__ import annotations

from fastapi import APIRouter

from gateway.admin import service as admin_service
from gateway.admin.schemas import MigrationStatus
from gateway.auth import AdminAuth
from gateway.context import Context

router = APIRouter(tags=["admin"], dependencies=[AdminAuth])


@router.get("/migrations", response_model=MigrationStatus)
async def get_migrations(context: Context) -> MigrationStatus:
    """Applied and pending schema migrations."""
    return await admin_service.migration_status(context.pool)
