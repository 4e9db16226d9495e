"""What the admin API shows of jobs and their runs."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel


class JobRunRead(BaseModel):
    id: int
    job_name: str
    trigger: str
    instance: str
    status: str
    started_at: AwareDatetime
    finished_at: AwareDatetime | None
    duration_ms: float | None
    users_processed: int
    errors: int
    error: str | None
    report: dict[str, Any]


class JobInfo(BaseModel):
    name: str
    description: str
    schedule: str
    next_run_at: AwareDatetime | None
    running_here: bool
    last_run: JobRunRead | None


class JobsOverview(BaseModel):
    scheduler_enabled: bool
    timezone: str
    jobs: list[JobInfo]
    runs: list[JobRunRead]
    total_runs: int
