"""The health-and-recovery job (every 15 minutes): dependency checks, the bot's heartbeat, memories stored
during an embedding outage, Letta agents lost with Letta's volume, and failed deletions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from gateway.bot.service import BotService
from gateway.chat.letta_runtime import LettaRuntime
from gateway.health.service import HealthService
from gateway.jobs import JobResult, JobSpec, run_step
from gateway.memory.service import MemoryService
from gateway.personality.service import PersonalityService
from gateway.users.service import UsersService

# At most this many memories stored during an embedding outage per run, so vectors come back within the hour
# (not at the nightly run) and one run stays short; the nightly maintenance takes the rest.
EMBED_BACKLOG_PER_RECOVERY = 200
LETTA_CHECKS_PER_RUN = 50
BOT_HEARTBEAT_STALE_SECONDS = 120


def health_recovery(
    health: HealthService,
    bot: BotService,
    memory: MemoryService,
    *,
    letta: LettaRuntime | None,
    users: UsersService,
    personality: PersonalityService,
    retry_deletions: Callable[[], Awaitable[dict[str, int]]],
) -> JobSpec:
    async def run(now: datetime) -> JobResult:
        report: dict[str, Any] = {}
        errors: list[str] = []

        async def dependencies() -> dict[str, Any]:
            checks = await health.check_dependencies()
            down = [name for name, status in checks.items() if not status.ok]
            if down:
                errors.append("dependencies down: " + ", ".join(down))
            return {name: status.model_dump() for name, status in checks.items()}

        await run_step(report, errors, "dependencies", dependencies)

        async def bot_heartbeat() -> dict[str, Any]:
            registration = await bot.current()
            data = registration.model_dump(mode="json")
            heartbeat = registration.last_heartbeat_at
            if not registration.registered or heartbeat is None:
                data["fresh"] = False
                return data
            age = max(0.0, (now - heartbeat).total_seconds())
            data["heartbeat_age_seconds"] = round(age, 1)
            data["fresh"] = age <= BOT_HEARTBEAT_STALE_SECONDS
            return data

        await run_step(report, errors, "bot", bot_heartbeat)
        # Memories written while the embedding service was down; a no-op (0) while it is still down.
        await run_step(report, errors, "embedded", lambda: memory.embed_backlog(EMBED_BACKLOG_PER_RECOVERY))
        if letta is not None:

            async def letta_agents() -> dict[str, int]:
                # Users active in the last day whose Letta agent is gone get it recreated and reseeded now.
                owners = await users.letta_agent_owners(now - timedelta(days=1), LETTA_CHECKS_PER_RUN)
                recreated = await letta.recover_lost_agents(
                    owners, lambda user_id: personality.persona(user_id, now)
                )
                return {"checked": len(owners), "recreated": recreated}

            await run_step(report, errors, "letta_agents", letta_agents)
        await run_step(report, errors, "pending_deletions", retry_deletions)
        return JobResult(
            users=int((report.get("letta_agents") or {}).get("checked", 0)), errors=errors, report=report
        )

    return JobSpec(
        "health_recovery",
        "dependency checks, bot heartbeat, recreate lost Letta agents, retry pending deletions",
        "every 15 minutes",
        lambda s: CronTrigger(minute="*/15", timezone=ZoneInfo(s.timezone)),
        run,
        period=timedelta(minutes=15),
    )
