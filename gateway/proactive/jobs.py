"""The proactive domain's job: every ``PROACTIVE_CHECK_MINUTES`` (5), score every eligible user and start the
conversations due."""

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

    minutes = proactive.settings.check_minutes
    return JobSpec(
        "proactive_check",
        "score every eligible user and start proactive conversations (docs/proactive.md)",
        "every minute" if minutes == 1 else f"every {minutes} minutes",
        lambda s: CronTrigger(minute=f"*/{minutes}", timezone=ZoneInfo(s.timezone)),
        run,
        period=timedelta(minutes=minutes),
    )
