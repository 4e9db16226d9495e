"""The job runner: runs a job by name under its lock (Redis, leased; in-process while Redis is down) and
records every run in ``job_runs``. What the scheduler and the admin API call."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from apscheduler.triggers.base import BaseTrigger
from redis.exceptions import RedisError

from gateway.clock import Clock
from gateway.config import SchedulerSettings
from gateway.errors import ConflictError, NotFoundError
from gateway.jobs.repository import JobRunRepository
from gateway.jobs.schemas import JobRunRead
from gateway.metrics import Metrics
from gateway.redis import LeasedLock

logger = logging.getLogger(__name__)

LOCK_PREFIX = "job-lock:"
SLOT_PREFIX = "job-slot:"
# A scheduled run claims its slot for this share of the job's period: every replica's scheduler fires at the
# same wall-clock times (the triggers are aligned), the first claim wins and the others skip that time; the
# claim is gone well before the next time comes.
SLOT_SHARE = 0.8


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
    # How often the schedule fires it: a scheduled run claims that slot across replicas (None: no claim).
    period: timedelta | None = None


async def run_step(
    report: dict[str, Any], errors: list[str], name: str, call: Callable[[], Awaitable[Any]]
) -> Any:
    """One guarded step of a multi-step job: its result (or its error) lands in ``report`` under ``name``, and
    the job's other steps still run."""
    try:
        value = await call()
    except Exception as exc:  # the other steps still run
        logger.warning("job step %s failed: %s", name, exc)
        errors.append(f"{name}: {type(exc).__name__}: {exc}"[:500])
        report[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        return None
    report[name] = value
    return value


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
        clock: Clock,
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

    async def history(self, name: str | None, limit: int, offset: int) -> tuple[list[JobRunRead], int]:
        """Recorded runs (of ``name``, or of every job), newest first, and how many there are."""
        return await JobRunRepository(self.pool).page(name, limit, offset)

    async def last_runs(self) -> dict[str, JobRunRead]:
        """Each job's latest run, by job name."""
        return await JobRunRepository(self.pool).last_runs()

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
            started = await JobRunRepository(self.pool).start(name, trigger, self.instance, self.clock.now())
        except BaseException:
            await held.release()
            raise
        run = started.model_copy(update={"report": {"lock": held.kind}})
        self._running[name] = self._running.get(name, 0) + 1
        task = asyncio.create_task(self._execute(spec, held, run), name=f"job:{name}:{run.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run, task

    async def run_scheduled(self, name: str) -> JobRunRead | None:
        """What the scheduler fires: run the job unless another replica already ran it at this scheduled time
        (its slot claimed in Redis); None when this turn is skipped. Redis down: every replica runs its own
        turn, as one replica would (the job lock falls back to an in-process lock too)."""
        spec = self.spec(name)
        if spec.period is not None and not await self._claim_slot(spec, spec.period):
            logger.info("job %s skipped: another gateway ran it at this scheduled time", name)
            return None
        return await self.run(name, trigger="schedule")

    async def _claim_slot(self, spec: JobSpec, period: timedelta) -> bool:
        try:
            claimed = await self.redis.set(
                SLOT_PREFIX + spec.name,
                self.instance,
                nx=True,
                px=max(1, int(period.total_seconds() * 1000 * SLOT_SHARE)),
            )
        except (RedisError, OSError) as exc:
            logger.warning("redis unavailable for the %s slot claim, running this turn: %s", spec.name, exc)
            return True
        return bool(claimed)

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
        finished = await JobRunRepository(self.pool).finish(
            run.id,
            status=status,
            finished_at=max(self.clock.now(), run.started_at),
            duration_ms=round(duration_ms, 2),
            users=result.users,
            errors=len(result.errors) + (1 if error else 0),
            error=error,
            report=report,
        )
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
