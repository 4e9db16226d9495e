"""``/api/admin/jobs``: every job with its schedule and last run, the run history, and "run it now"."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Response

from gateway.auth import AdminAuth
from gateway.deps import JobRunnerDep, JobSchedulerDep
from gateway.errors import error_responses
from gateway.jobs.schemas import JobInfo, JobRunRead, JobsOverview

router = APIRouter(tags=["admin"], dependencies=[AdminAuth])


@router.get("", response_model=JobsOverview)
async def list_jobs(
    runner: JobRunnerDep,
    scheduler: JobSchedulerDep,
    job: str | None = Query(default=None, max_length=50, description="only this job's runs"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> JobsOverview:
    """Each job (schedule, next run, last run) and the recorded runs, newest first."""
    if job is not None:
        runner.spec(job)  # 404 for an unknown name
    runs, total = await runner.history(job, limit, offset)
    last = await runner.last_runs()
    return JobsOverview(
        scheduler_enabled=scheduler.enabled,
        timezone=scheduler.settings.timezone,
        jobs=[
            JobInfo(
                name=spec.name,
                description=spec.description,
                schedule=spec.schedule,
                next_run_at=scheduler.next_run(spec.name),
                running_here=runner.running_here(spec.name),
                last_run=last.get(spec.name),
            )
            for spec in runner.specs.values()
        ],
        runs=runs,
        total_runs=total,
    )


@router.post("/{name}/run", response_model=JobRunRead, status_code=202, responses=error_responses(409))
async def run_job(
    name: str,
    runner: JobRunnerDep,
    response: Response,
    wait: bool = Query(
        default=False, description="answer when the run is over (200) instead of at once (202)"
    ),
) -> JobRunRead:
    """Run a job now, under its lock like a scheduled run: 409 while it runs here or on another gateway."""
    run, task = await runner.start(name, trigger="manual")
    if not wait:
        return run
    response.status_code = 200
    return await asyncio.shield(task)
