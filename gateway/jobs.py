"""Background jobs (docs/proactive.md#jobs): APScheduler's ``AsyncIOScheduler`` inside the gateway, every
job behind a Redis lock and every run recorded in ``job_runs``.

| job                  | when                                  | what                                              |
|----------------------|---------------------------------------|---------------------------------------------------|
| ``proactive_check``  | every 5 minutes                       | score everyone, start proactive conversations     |
| ``needs_update``     | hourly                                | write the risen need levels (``refresh_needs``)   |
| ``nightly_reflection`` | 03:00 ``SCHEDULER_TIMEZONE``        | quirks, baseline drift, consolidation, conflicts  |
| ``memory_maintenance`` | 04:00 ``SCHEDULER_TIMEZONE``        | re-score/re-embed/index backlogs, queued writes,  |
|                      |                                       | dormant users, pending deletions                  |
| ``health_recovery``  | every 15 minutes                      | dependencies, bot heartbeat, lost Letta agents,   |
|                      |                                       | pending deletions                                 |

A run takes the job's Redis lock first (``SET NX`` on a short lease, renewed while it runs: ``LeasedLock``), so
N replicas never run one job twice at once; the one that finds it taken skips its turn, and a lock whose
holder died frees within a lease. Redis down: an in-process lock (one
replica stays safe; docs/architecture.md#decisions, D11). A job that throws is recorded as failed and the
scheduler goes on. Shutdown stops the scheduler and waits (``SCHEDULER_SHUTDOWN_TIMEOUT_SECONDS``) for running
jobs; what is still running then is cancelled and recorded as ``interrupted``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg
import redis.asyncio as aioredis
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import AwareDatetime, BaseModel
from redis.exceptions import RedisError

from gateway.config import SchedulerSettings
from gateway.errors import ConflictError, NotFoundError
from gateway.redis import LeasedLock

if TYPE_CHECKING:
    from gateway.context import AppContext

if TYPE_CHECKING:
    from gateway.metrics import Metrics

logger = logging.getLogger(__name__)

LOCK_PREFIX = "job-lock:"
NEEDS_CONCURRENCY = 8
LETTA_CHECKS_PER_RUN = 50
EMBED_BACKLOG_PER_RUN = 2000
# The 15-minute recovery job embeds at most this many memories stored during an embedding outage, so vectors
# come back within the hour (not at the nightly run) and one run stays short; the nightly run takes the rest.
EMBED_BACKLOG_PER_RECOVERY = 200
INDEX_BACKLOG_PER_RUN = 5000
RESCORE_PER_RUN = 500
BOT_HEARTBEAT_STALE_SECONDS = 120


class UnknownJobError(NotFoundError):
    pass


class JobAlreadyRunningError(ConflictError):
    """Another run of this job (on this or another gateway) holds its lock."""


@dataclass
class JobResult:
    users: int = 0
    errors: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)


JobFunc = Callable[[datetime], Awaitable[JobResult]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    description: str
    schedule: str  # for people: "every 5 minutes", "03:00 UTC"
    trigger: Callable[[SchedulerSettings], BaseTrigger]
    func: JobFunc
    # The lock's lease, renewed every third of it while the job runs: how long a crashed run blocks the job.
    lock_seconds: int = 30


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


class JobRunRepository:
    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self.conn = conn

    async def start(self, name: str, trigger: str, instance: str, started_at: datetime) -> dict[str, Any]:
        row = await self.conn.fetchrow(
            """
            INSERT INTO job_runs (job_name, trigger, instance, status, started_at)
            VALUES ($1, $2, $3, 'running', $4) RETURNING *
            """,
            name,
            trigger,
            instance,
            started_at,
        )
        return dict(row)

    async def finish(
        self,
        run_id: int,
        *,
        status: str,
        finished_at: datetime,
        duration_ms: float,
        users: int,
        errors: int,
        error: str | None,
        report: dict[str, Any],
    ) -> dict[str, Any]:
        row = await self.conn.fetchrow(
            """
            UPDATE job_runs SET status = $2, finished_at = $3, duration_ms = $4, users_processed = $5,
                                errors = $6, error = $7, report = $8
            WHERE id = $1 RETURNING *
            """,
            run_id, status, finished_at, duration_ms, users, errors, error, report,
        )  # fmt: skip
        return dict(row)

    async def page(self, name: str | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        rows = await self.conn.fetch(
            """
            SELECT *, count(*) OVER () AS total FROM job_runs
            WHERE $1::text IS NULL OR job_name = $1
            ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3
            """,
            name,
            limit,
            offset,
        )
        total = int(rows[0]["total"]) if rows else 0
        return [{k: v for k, v in dict(row).items() if k != "total"} for row in rows], total

    async def last_runs(self) -> dict[str, dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT DISTINCT ON (job_name) * FROM job_runs ORDER BY job_name, started_at DESC, id DESC"
        )
        return {row["job_name"]: dict(row) for row in rows}

    async def get(self, run_id: int) -> dict[str, Any] | None:
        row = await self.conn.fetchrow("SELECT * FROM job_runs WHERE id = $1", run_id)
        return dict(row) if row is not None else None


class _Held:
    """A taken job lock: Redis (leased, renewed in the background) or in-process."""

    def __init__(self, redis_lock: LeasedLock | None = None, local: asyncio.Lock | None = None) -> None:
        self._redis_lock = redis_lock
        self._local = local

    @property
    def kind(self) -> str:
        return "redis" if self._redis_lock is not None else "local"

    async def release(self) -> None:
        if self._redis_lock is not None:
            await self._redis_lock.release()
        if self._local is not None and self._local.locked():
            self._local.release()


class JobRunner:
    """Runs jobs by name under their lock and records every run; what the scheduler and the admin API call."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: aioredis.Redis,
        clock: Callable[[], datetime],
        *,
        instance: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.pool = pool
        self.redis = redis
        self.clock = clock
        self.metrics = metrics
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"
        self.specs: dict[str, JobSpec] = {}
        self._local_locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[JobRunRead]] = set()
        self._running: dict[str, int] = {}

    def register(self, specs: list[JobSpec]) -> None:
        for spec in specs:
            self.specs[spec.name] = spec

    def spec(self, name: str) -> JobSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise UnknownJobError(f"no job named {name!r}; jobs: {', '.join(self.specs)}") from None

    def running_here(self, name: str) -> bool:
        return self._running.get(name, 0) > 0

    async def _acquire(self, spec: JobSpec) -> _Held | None:
        try:
            lock = LeasedLock(self.redis, LOCK_PREFIX + spec.name, lease_seconds=spec.lock_seconds)
            if await lock.acquire(blocking_timeout=0):
                return _Held(redis_lock=lock)
            return None
        except (RedisError, OSError) as exc:
            logger.warning(
                "redis unavailable for the %s job lock, using an in-process lock: %s", spec.name, exc
            )
        local = self._local_locks.setdefault(spec.name, asyncio.Lock())
        if local.locked():
            return None
        await local.acquire()
        return _Held(local=local)

    async def start(self, name: str, trigger: str = "manual") -> tuple[JobRunRead, asyncio.Task[JobRunRead]]:
        """Take the lock, record the start and launch the run; JobAlreadyRunningError when it is taken."""
        spec = self.spec(name)
        held = await self._acquire(spec)
        if held is None:
            raise JobAlreadyRunningError(f"job {name} is already running (on this or another gateway)")
        try:
            row = await JobRunRepository(self.pool).start(name, trigger, self.instance, self.clock())
        except BaseException:
            await held.release()
            raise
        row["report"] = {"lock": held.kind}
        run = JobRunRead.model_validate(row)
        self._running[name] = self._running.get(name, 0) + 1
        task = asyncio.create_task(self._execute(spec, held, run), name=f"job:{name}:{run.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run, task

    async def run(self, name: str, trigger: str = "schedule") -> JobRunRead | None:
        """Run now and wait for the result; None when another run holds the lock (this turn is skipped)."""
        try:
            _, task = await self.start(name, trigger)
        except JobAlreadyRunningError:
            logger.info("job %s skipped: already running elsewhere", name)
            return None
        return await asyncio.shield(task)

    async def _execute(self, spec: JobSpec, held: _Held, run: JobRunRead) -> JobRunRead:
        started = time.perf_counter()
        status, error, result = "succeeded", None, JobResult()
        try:
            result = await spec.func(run.started_at)
        except asyncio.CancelledError:
            status, error = "interrupted", "the gateway shut down while the job was running"
        except Exception as exc:  # recorded; the scheduler keeps going
            logger.exception("job %s failed", spec.name)
            status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        finally:
            await held.release()
            self._running[spec.name] -= 1
        duration_ms = (time.perf_counter() - started) * 1000
        if self.metrics is not None:
            self.metrics.record_job(spec.name, status, duration_ms / 1000)
        report = {**result.report, "lock": held.kind, "errors": result.errors[:50]}
        row = await JobRunRepository(self.pool).finish(
            run.id,
            status=status,
            finished_at=max(self.clock(), run.started_at),
            duration_ms=round(duration_ms, 2),
            users=result.users,
            errors=len(result.errors) + (1 if error else 0),
            error=error,
            report=report,
        )
        finished = JobRunRead.model_validate(row)
        log = logger.warning if status != "succeeded" or result.errors else logger.info
        log(
            "job %s %s in %.0f ms (%d users, %d errors)",
            spec.name,
            status,
            duration_ms,
            finished.users_processed,
            finished.errors,
        )
        return finished

    async def wait_idle(self, grace_seconds: float) -> None:
        """Wait for running jobs; cancel (and record as interrupted) what is still running after ``grace_seconds``."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)


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
            self.runner.run,
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
        """Fire a scheduled job at once (its next regular time follows as usual)."""
        if self._scheduler is None:
            raise JobAlreadyRunningError("the scheduler is not running", status_code=409)
        self._scheduler.modify_job(name, next_run_time=datetime.now(ZoneInfo(self.settings.timezone)))

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


# --- the five jobs --------------------------------------------------------------------------------------


def build_jobs(context: AppContext) -> list[JobSpec]:
    """The five jobs over the app's services."""
    proactive, reflection = context.proactive, context.reflection
    if proactive is None or reflection is None:
        raise ValueError("build_jobs needs a context with the proactive and reflection services")

    async def proactive_check(now: datetime) -> JobResult:
        report = await proactive.check_all(now)
        return JobResult(users=report.users_scored, errors=report.errors, report=report.as_dict())

    async def needs_update(now: datetime) -> JobResult:
        from gateway.reflection.repository import ReflectionRepository

        users = await ReflectionRepository(context.pool).users_with_needs()
        errors: list[str] = []
        slots = asyncio.Semaphore(NEEDS_CONCURRENCY)

        async def one(user_id: str) -> None:
            async with slots:
                try:
                    await context.personality.refresh_needs(user_id, now)
                except Exception as exc:  # one user's failure never stops the run
                    errors.append(f"{user_id}: {type(exc).__name__}: {exc}")

        await asyncio.gather(*(one(user_id) for user_id in users))
        return JobResult(users=len(users), errors=errors, report={"refreshed": len(users) - len(errors)})

    async def nightly_reflection(now: datetime) -> JobResult:
        report = await reflection.run(now)
        return JobResult(users=report.users, errors=report.errors, report=report.as_dict())

    async def memory_maintenance(now: datetime) -> JobResult:
        return await _memory_maintenance(context, now)

    async def health_recovery(now: datetime) -> JobResult:
        return await _health_recovery(context, now)

    return [
        JobSpec(
            "proactive_check",
            "score every eligible user and start proactive conversations",
            "every 5 minutes",
            lambda s: IntervalTrigger(minutes=5, timezone=ZoneInfo(s.timezone)),
            proactive_check,
        ),
        JobSpec(
            "needs_update",
            "write the companion's risen need levels for every user",
            "hourly",
            lambda s: IntervalTrigger(hours=1, timezone=ZoneInfo(s.timezone)),
            needs_update,
        ),
        JobSpec(
            "nightly_reflection",
            "quirk evolution, baseline drift, memory consolidation and conflict scan per active user",
            "03:00 SCHEDULER_TIMEZONE",
            lambda s: CronTrigger(hour=3, minute=0, timezone=ZoneInfo(s.timezone)),
            nightly_reflection,
        ),
        JobSpec(
            "memory_maintenance",
            "retention report, importance re-score, re-embed and index backlogs, queued memory writes, "
            "dormant users, pending deletions",
            "04:00 SCHEDULER_TIMEZONE",
            lambda s: CronTrigger(hour=4, minute=0, timezone=ZoneInfo(s.timezone)),
            memory_maintenance,
        ),
        JobSpec(
            "health_recovery",
            "dependency checks, bot heartbeat, recreate lost Letta agents, retry pending deletions",
            "every 15 minutes",
            lambda s: IntervalTrigger(minutes=15, timezone=ZoneInfo(s.timezone)),
            health_recovery,
        ),
    ]


async def _step(
    report: dict[str, Any], errors: list[str], name: str, call: Callable[[], Awaitable[Any]]
) -> Any:
    """One guarded step of a multi-step job: its result (or its error) lands in the report."""
    try:
        value = await call()
    except Exception as exc:  # the other steps still run
        logger.warning("job step %s failed: %s", name, exc)
        errors.append(f"{name}: {type(exc).__name__}: {exc}"[:500])
        report[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        return None
    report[name] = value
    return value


def _forgetters(context: AppContext) -> dict[str, Callable[[str], Awaitable[Any]]]:
    from gateway.users import service as users_service

    async def redis_keys(user_id: str) -> None:
        async with context.chat.exclusive(user_id):  # ordered with the user's turns, as the deletion was
            await context.chat.drop_queued(user_id)
            await users_service.delete_redis_keys(context, user_id)

    runtimes = {runtime.name: runtime for runtime in context.chat.runtimes}
    forgetters: dict[str, Callable[[str], Awaitable[Any]]] = {
        "vector_index": context.memory.delete_user_index,
        "embedding_cache": context.embedding.forget_user,
        "redis": redis_keys,
    }
    if "letta" in runtimes:
        forgetters["letta"] = runtimes["letta"].forget_user
    return forgetters


async def _memory_maintenance(context: AppContext, now: datetime) -> JobResult:
    from gateway.memory.importance import ImportanceScorer, rescore_pending
    from gateway.reflection import maintenance
    from gateway.users import service as users_service

    report: dict[str, Any] = {}
    errors: list[str] = []
    memory = context.memory
    await _step(report, errors, "retention", lambda: maintenance.retention_summary(context.pool, now))

    async def rescore() -> int | str:
        if not isinstance(memory.scorer, ImportanceScorer) or memory.scorer.llm is None:
            return "skipped: no Groq key (heuristic scores stay)"
        return await rescore_pending(context.pool, memory.scorer, RESCORE_PER_RUN)

    await _step(report, errors, "importance_rescored", rescore)
    await _step(report, errors, "embedded", lambda: memory.embed_backlog(EMBED_BACKLOG_PER_RUN))
    await _step(
        report, errors, "index_reconcile", lambda: maintenance.index_backlog(memory, INDEX_BACKLOG_PER_RUN)
    )
    # Interactions and memories queued while Postgres was down (interactions first: they create profiles).
    await _step(report, errors, "queued_work_replayed", context.chat.replay_pending)
    dormant = await _step(
        report, errors, "marked_dormant", lambda: users_service.mark_dormant(context.pool, now)
    )
    await _step(
        report,
        errors,
        "pending_deletions",
        lambda: maintenance.retry_pending_deletions(context.pool, _forgetters(context)),
    )
    return JobResult(users=int(dormant or 0), errors=errors, report=report)


async def _health_recovery(context: AppContext, now: datetime) -> JobResult:
    from gateway.bot import service as bot_service
    from gateway.health import check_dependencies
    from gateway.reflection import maintenance

    report: dict[str, Any] = {}
    errors: list[str] = []

    async def dependencies() -> dict[str, Any]:
        checks = await check_dependencies(context)
        down = [name for name, status in checks.items() if not status.ok]
        if down:
            errors.append("dependencies down: " + ", ".join(down))
        return {name: status.model_dump() for name, status in checks.items()}

    await _step(report, errors, "dependencies", dependencies)

    async def bot() -> dict[str, Any]:
        registration = await bot_service.current(context.redis)
        data = registration.model_dump(mode="json")
        heartbeat = getattr(registration, "last_heartbeat_at", None)
        if not registration.registered or heartbeat is None:
            data["fresh"] = False
            return data
        age = max(0.0, (now - heartbeat).total_seconds())
        data["heartbeat_age_seconds"] = round(age, 1)
        data["fresh"] = age <= BOT_HEARTBEAT_STALE_SECONDS
        return data

    await _step(report, errors, "bot", bot)
    # Memories written while the embedding service was down; a no-op (0) while it is still down.
    await _step(report, errors, "embedded", lambda: context.memory.embed_backlog(EMBED_BACKLOG_PER_RECOVERY))
    letta = next((r for r in context.chat.runtimes if r.name == "letta"), None)
    if letta is not None:
        await _step(report, errors, "letta_agents", lambda: _recover_letta_agents(context, letta, now))
    await _step(
        report,
        errors,
        "pending_deletions",
        lambda: maintenance.retry_pending_deletions(context.pool, _forgetters(context)),
    )
    return JobResult(
        users=int((report.get("letta_agents") or {}).get("checked", 0)), errors=errors, report=report
    )


async def _recover_letta_agents(context: AppContext, letta: Any, now: datetime) -> dict[str, Any]:
    """Users active in the last day whose stored Letta agent is gone get it recreated and reseeded now,
    instead of on their next message."""
    from gateway.chat.runtime import Turn
    from gateway.integrations.letta import LettaAgentNotFound

    await letta.health()
    rows = await context.pool.fetch(
        """
        SELECT user_id, username, display_name, letta_agent_id FROM user_profiles
        WHERE letta_agent_id IS NOT NULL AND status = 'active' AND last_active_at >= $1
        ORDER BY last_active_at DESC LIMIT $2
        """,
        now - timedelta(days=1),
        LETTA_CHECKS_PER_RUN,
    )
    recreated = 0
    for row in rows:
        try:
            await letta.client.get_agent(row["letta_agent_id"])
            continue
        except LettaAgentNotFound:
            pass
        persona = await context.personality.persona(row["user_id"], now)
        turn = Turn(
            user_id=row["user_id"],
            username=row["display_name"] or row["username"],
            message="",
            persona=persona,
        )
        await letta.ensure_agent(turn)
        recreated += 1
    return {"checked": len(rows), "recreated": recreated}
