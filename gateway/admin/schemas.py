from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AppliedMigration(BaseModel):
    version: int
    name: str
    applied_at: datetime


class MigrationStatus(BaseModel):
    applied: list[AppliedMigration]
    pending: list[str]
