"""The personality domain's job: hourly, write every user's risen need levels."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from gateway.jobs import JobResult, JobSpec
from gateway.personality.service import PersonalityService

NEEDS_CONCURRENCY = 8


def needs_update(personality: PersonalityService) -> JobSpec:
    async def run(now: datetime) -> JobResult:
        users = await personality.users_with_needs()
        errors: list[str] = []
        slots = asyncio.Semaphore(NEEDS_CONCURRENCY)

        async def one(user_id: str) -> None:
            async with slots:
                try:
                    await personality.refresh_needs(user_id, now)
                except Exception as exc:  # one user's failure never stops the run
                    errors.append(f"{user_id}: {type(exc).__name__}: {exc}")

        await asyncio.gather(*(one(user_id) for user_id in users))
        return JobResult(users=len(users), errors=errors, report={"refreshed": len(users) - len(errors)})

    return JobSpec(
        "needs_update",
        "write the companion's risen need levels for every user",
        "hourly",
        lambda s: CronTrigger(minute=0, timezone=ZoneInfo(s.timezone)),
        run,
        period=timedelta(hours=1),
    )
