"""The reflection domain's job: nightly, per active user, quirks, baseline drift, consolidation, conflicts."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from gateway.jobs import JobResult, JobSpec
from gateway.reflection.service import ReflectionService


def nightly_reflection(reflection: ReflectionService) -> JobSpec:
    async def run(now: datetime) -> JobResult:
        report = await reflection.run(now)
        return JobResult(users=report.users, errors=report.errors, report=report.as_dict())

    return JobSpec(
        "nightly_reflection",
        "quirk evolution, baseline drift, memory consolidation and conflict scan per active user",
        "03:00 SCHEDULER_TIMEZONE",
        lambda s: CronTrigger(hour=3, minute=0, timezone=ZoneInfo(s.timezone)),
        run,
        period=timedelta(days=1),
    )
