"""``/api/admin/jobs``: every job with its schedule and last run, the run history, and "run it now"."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Response

from gateway.auth import AdminAuth
from gateway.context import AppContext, Context
from gateway.errors import ServiceUnavailableError, error_responses
from gateway.jobs import JobInfo, JobRunner, JobRunRead, JobRunRepository, JobsOverview

router = APIRouter(tags=["admin"], dependencies=[AdminAuth], responses=error_responses(503))


def _runner(context: AppContext) -> JobRunner:
    if context.jobs is None:
        raise ServiceUnavailableError("the job runner is not running in this gateway")
    return context.jobs


@router.get("", response_model=JobsOverview)
async def list_jobs(
    context: Context,
    job: str | None = Query(default=None, max_length=50, description="only this job's runs"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> JobsOverview:
    """Each job (schedule, next run, last run) and the recorded runs, newest first."""
    runner = _runner(context)
    if job is not None:
        runner.spec(job)  # 404 for an unknown name
    repo = JobRunRepository(context.pool)
    runs, total = await repo.page(job, limit, offset)
    last = await repo.last_runs()
    scheduler = context.scheduler
    return JobsOverview(
        scheduler_enabled=scheduler is not None and scheduler.enabled,
        timezone=context.settings.scheduler.timezone,
        jobs=[
            JobInfo(
                name=spec.name,
                description=spec.description,
                schedule=spec.schedule,
                next_run_at=scheduler.next_run(spec.name) if scheduler is not None else None,
                running_here=runner.running_here(spec.name),
                last_run=JobRunRead.model_validate(last[spec.name]) if spec.name in last else None,
            )
            for spec in runner.specs.values()
        ],
        runs=[JobRunRead.model_validate(row) for row in runs],
        total_runs=total,
    )


@router.post("/{name}/run", response_model=JobRunRead, status_code=202, responses=error_responses(409))
async def run_job(
    name: str,
    context: Context,
    response: Response,
    wait: bool = Query(
        default=False, description="answer when the run is over (200) instead of at once (202)"
    ),
) -> JobRunRead:
    """Run a job now, under its lock like a scheduled run: 409 while it runs here or on another gateway."""
    run, task = await _runner(context).start(name, trigger="manual")
    if not wait:
        return run
    response.status_code = 200
    return await asyncio.shield(task)
