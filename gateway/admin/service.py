from __future__ import annotations

import asyncpg

from gateway import migrator
from gateway.admin.repository import SchemaMigrationRepository
from gateway.admin.schemas import AppliedMigration, MigrationStatus


async def migration_status(conn: asyncpg.Connection | asyncpg.Pool) -> MigrationStatus:
    """Which migration files the database has, and which ones it still lacks."""
    applied = [
        AppliedMigration.model_validate(row) for row in await SchemaMigrationRepository(conn).list_applied()
    ]
    versions = {migration.version for migration in applied}
    pending = [m.path.name for m in migrator.discover() if m.version not in versions]
    return MigrationStatus(applied=applied, pending=pending)
