"""The APScheduler ``AsyncIOScheduler`` that fires the runner's jobs at their times."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from gateway.config import SchedulerSettings
from gateway.jobs.runner import JobAlreadyRunningError, JobRunner, JobSpec

logger = logging.getLogger(__name__)


class JobScheduler:
    """The AsyncIOScheduler that fires the runner's jobs at their times."""

    def __init__(self, runner: JobRunner, settings: SchedulerSettings) -> None:
        self.runner = runner
        self.settings = settings
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def enabled(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone=ZoneInfo(self.settings.timezone))
        self._scheduler = scheduler
        for spec in self.runner.specs.values():
            self._schedule(spec)
        scheduler.start()
        logger.info(
            "scheduler started", extra={"jobs": list(self.runner.specs), "timezone": self.settings.timezone}
        )

    def add(self, spec: JobSpec) -> None:
        """Register a job with the runner and, when the scheduler runs, schedule it."""
        self.runner.register([spec])
        if self._scheduler is not None:
            self._schedule(spec)

    def _schedule(self, spec: JobSpec) -> None:
        assert self._scheduler is not None
        self._scheduler.add_job(
            self.runner.run_scheduled,
            spec.trigger(self.settings),
            args=[spec.name],
            id=spec.name,
            name=spec.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
            replace_existing=True,
        )

    def run_soon(self, name: str) -> None:
        """Fire a job at once, as a scheduled run but outside its slots (its next regular time follows as
        usual): someone asked for this run, so no other replica's run of this slot stands in for it."""
        if self._scheduler is None:
            raise JobAlreadyRunningError("the scheduler is not running", status_code=409)
        self.runner.spec(name)
        self._scheduler.add_job(
            self.runner.run,
            DateTrigger(datetime.now(ZoneInfo(self.settings.timezone))),
            args=[name],
            name=f"{name} (now)",
            misfire_grace_time=3600,
        )

    def next_run(self, name: str) -> datetime | None:
        if self._scheduler is None:
            return None
        job = self._scheduler.get_job(name)
        return None if job is None else job.next_run_time

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        await self.runner.wait_idle(self.settings.shutdown_timeout_seconds)
