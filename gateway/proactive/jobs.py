"""The proactive domain's job: every 5 minutes, score every eligible user and start the conversations due."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from gateway.jobs import JobResult, JobSpec
from gateway.proactive.service import ProactiveService


def proactive_check(proactive: ProactiveService) -> JobSpec:
    async def run(now: datetime) -> JobResult:
        report = await proactive.check_all(now)
        return JobResult(users=report.users_scored, errors=report.errors, report=report.as_dict())

    return JobSpec(
        "proactive_check",
        "score every eligible user and start proactive conversations (docs/proactive.md)",
        "every 5 minutes",
        lambda s: CronTrigger(minute="*/5", timezone=ZoneInfo(s.timezone)),
        run,
        period=timedelta(minutes=5),
    )
