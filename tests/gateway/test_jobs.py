"""The jobs: Redis locks across two gateway instances, run records, failures, the admin API, shutdown."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from apscheduler.triggers.interval import IntervalTrigger
from fastapi import FastAPI

from gateway.config import SchedulerSettings, Settings
from gateway.deps import Services
from gateway.jobs import JobResult, JobSpec
from scripts.localstack import free_port
from tests.gateway.conftest import admin_auth, asgi_client, gateway_settings, running_app, service_auth
from tests.gateway.memory.service_fixtures import add_user
from tests.servers import ThreadedServer

JOB_NAMES = {"proactive_check", "needs_update", "nightly_reflection", "memory_maintenance", "health_recovery"}


def settings_for(database_url: str, redis_url: str, embedding_url: str, *, enabled: bool = False) -> Settings:
    return gateway_settings(
        database_url,
        redis_url,
        embedding_url,
        scheduler=SchedulerSettings(enabled=enabled, _env_file=None),  # type: ignore[call-arg]
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(settings) as app, asgi_client(app, admin_auth()) as http:
        yield app, http


def ctx(app: FastAPI) -> Services:
    context: Services = app.state.services
    return context


def blocking_job(name: str, gate: asyncio.Event, entered: asyncio.Event) -> JobSpec:
    async def wait_for_gate(now: datetime) -> JobResult:
        entered.set()
        await gate.wait()
        return JobResult(users=1, report={"waited": True})

    return JobSpec(
        name, "test job", "never", lambda s: IntervalTrigger(hours=24), wait_for_gate, lock_seconds=30
    )


async def test_two_gateways_never_run_the_same_job_at_once(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """While one instance runs a job, the other skips its turn and its admin trigger answers 409."""
    settings = settings_for(database_url, redis_url, embedding_service_url)
    name = "test_lock_" + uuid.uuid4().hex[:8]
    gate, entered = asyncio.Event(), asyncio.Event()
    async with running(settings) as (app_a, _http_a), running(settings) as (app_b, http_b):
        runner_a, runner_b = ctx(app_a).jobs, ctx(app_b).jobs
        assert runner_a is not None and runner_b is not None and runner_a.instance == runner_b.instance
        runner_a.instance, runner_b.instance = "gateway-a", "gateway-b"
        runner_a.register([blocking_job(name, gate, entered)])
        runner_b.register([blocking_job(name, gate, entered)])
        first = asyncio.create_task(runner_a.run(name))
        await entered.wait()
        assert await runner_b.run(name) is None  # the scheduled turn on B is skipped
        response = await http_b.post(f"/api/admin/jobs/{name}/run")
        assert response.status_code == 409, response.text
        gate.set()
        done = await first
        assert done is not None and done.status == "succeeded" and done.instance == "gateway-a"
        assert done.report["lock"] == "redis"
        after = await http_b.post(f"/api/admin/jobs/{name}/run", params={"wait": "true"})
        assert after.status_code == 200 and after.json()["instance"] == "gateway-b"
        runs = await ctx(app_a).pool.fetch("SELECT instance, status FROM job_runs WHERE job_name = $1", name)
        assert sorted(r["instance"] for r in runs) == ["gateway-a", "gateway-b"]
        assert all(r["status"] == "succeeded" for r in runs)


async def test_two_gateways_run_a_scheduled_job_once_per_scheduled_time(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """Both gateways' schedulers fire at the same time: the first runs the job, the other skips that time even
    though the first run is already over; an operator's "run it now" still runs on either."""
    settings = settings_for(database_url, redis_url, embedding_service_url)
    name = "test_slot_" + uuid.uuid4().hex[:8]

    async def quick(now: datetime) -> JobResult:
        return JobResult(users=1)

    spec = JobSpec(
        name, "test job", "hourly", lambda s: IntervalTrigger(hours=1), quick, period=timedelta(hours=1)
    )
    async with running(settings) as (app_a, _http_a), running(settings) as (app_b, http_b):
        runner_a, runner_b = ctx(app_a).jobs, ctx(app_b).jobs
        runner_a.instance, runner_b.instance = "gateway-a", "gateway-b"
        runner_a.register([spec])
        runner_b.register([spec])
        first = await runner_a.run_scheduled(name)
        assert first is not None and first.status == "succeeded" and first.trigger == "schedule"
        assert await runner_b.run_scheduled(name) is None
        assert await runner_a.run_scheduled(name) is None  # nor twice on one gateway
        manual = await http_b.post(f"/api/admin/jobs/{name}/run", params={"wait": "true"})
        assert manual.status_code == 200 and manual.json()["instance"] == "gateway-b", manual.text
        runs = await ctx(app_a).pool.fetch("SELECT instance, trigger FROM job_runs WHERE job_name = $1", name)
        assert sorted((r["instance"], r["trigger"]) for r in runs) == [
            ("gateway-a", "schedule"),
            ("gateway-b", "manual"),
        ]


async def test_every_gateway_schedules_the_jobs_at_the_same_wall_clock_times(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """A gateway started a few minutes after another fires each job at the same times (the triggers are
    aligned to the clock, not to each process's start), so the slot claim decides between them."""
    settings = settings_for(database_url, redis_url, embedding_service_url)
    async with running(settings) as (app, _http):
        specs = ctx(app).jobs.specs
    scheduler_settings = settings.scheduler
    early = datetime(2026, 12, 6, 12, 0, 10, tzinfo=UTC)
    later = early + timedelta(minutes=3, seconds=7)
    for name in JOB_NAMES:
        spec = specs[name]
        assert spec.period is not None, name
        trigger = spec.trigger(scheduler_settings)
        first = trigger.get_next_fire_time(None, early)
        assert first is not None and trigger.get_next_fire_time(None, later) == first, name
        after = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
        assert after - first == spec.period, name


async def test_a_job_that_throws_is_recorded_and_the_scheduler_keeps_running(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """The failure is a failed run with its error; the scheduler fires the next run all the same."""
    settings = settings_for(database_url, redis_url, embedding_service_url, enabled=True)
    name = "test_fail_" + uuid.uuid4().hex[:8]
    calls: list[asyncio.Event] = [asyncio.Event(), asyncio.Event()]
    count = 0

    async def flaky(now: datetime) -> JobResult:
        nonlocal count
        count += 1
        calls[count - 1].set()
        if count == 1:
            raise RuntimeError("boom")
        return JobResult(users=2)

    async with running(settings) as (app, http):
        scheduler, runner = ctx(app).scheduler, ctx(app).jobs
        assert scheduler is not None and scheduler.enabled and runner is not None
        scheduler.add(
            JobSpec(name, "flaky", "hourly", lambda s: IntervalTrigger(hours=1), flaky, lock_seconds=30)
        )
        for called in calls:
            scheduler.run_soon(name)
            await asyncio.wait_for(called.wait(), timeout=30)
            await runner.wait_idle(30)  # the run is recorded once its task is done
        listing = (await http.get("/api/admin/jobs", params={"job": name})).json()
    statuses = sorted((r["status"], r["error"]) for r in listing["runs"])
    assert statuses[0][0] == "failed" and "RuntimeError: boom" in statuses[0][1]
    assert statuses[1] == ("succeeded", None)


async def test_admin_lists_the_five_jobs_and_runs_one_now(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """GET /api/admin/jobs names the five jobs with their schedules; POST runs one now."""
    settings = settings_for(database_url, redis_url, embedding_service_url, enabled=True)
    async with running(settings) as (_app, http):
        listing = await http.get("/api/admin/jobs")
        assert listing.status_code == 200, listing.text
        jobs = {job["name"]: job for job in listing.json()["jobs"]}
        assert set(jobs) == JOB_NAMES
        assert all(job["next_run_at"] for job in jobs.values())
        assert jobs["nightly_reflection"]["next_run_at"].endswith(("03:00:00+00:00", "03:00:00Z"))
        for name in ("memory_maintenance", "health_recovery", "needs_update", "proactive_check"):
            response = await http.post(f"/api/admin/jobs/{name}/run", params={"wait": "true"})
            assert response.status_code == 200, response.text
            run = response.json()
            assert run["status"] == "succeeded" and run["trigger"] == "manual", run
        assert {"dependencies", "bot", "pending_deletions"} <= set(run["report"]) or name != "health_recovery"
        assert (await http.post("/api/admin/jobs/nope/run")).status_code == 404
        assert (
            await http.get("/api/admin/jobs", headers={"Authorization": "Bearer wrong"})
        ).status_code == 401


async def test_maintenance_retries_pending_deletions(
    database_url: str, redis_url: str, embedding_service_url: str, user_id: str
) -> None:
    """A deletion that failed earlier (Redis keys here) is retried and its row removed."""
    settings = settings_for(database_url, redis_url, embedding_service_url)
    async with running(settings) as (app, http):
        context = ctx(app)
        await context.redis.set(f"user:{user_id}:leftover", "1")
        await context.pool.execute(
            "INSERT INTO pending_deletions (user_id, target) VALUES ($1, 'redis')", user_id
        )
        response = await http.post("/api/admin/jobs/memory_maintenance/run", params={"wait": "true"})
        assert response.status_code == 200, response.text
        report = response.json()["report"]
        assert report["errors"] == [], report  # every step ran, none failed
        assert {"live", "weakened", "untouched_30_days"} <= set(report["retention"])
        assert report["pending_deletions"]["deleted"] >= 1
        assert {
            "retention",
            "embedded",
            "index_reconcile",
            "queued_work_replayed",
            "marked_dormant",
        } <= set(report)
        assert not await context.pool.fetchval(
            "SELECT count(*) FROM pending_deletions WHERE user_id = $1", user_id
        )
        assert await context.redis.get(f"user:{user_id}:leftover") is None


async def test_shutdown_waits_for_a_running_job(
    database_url: str, redis_url: str, embedding_service_url: str
) -> None:
    """A job still running when the gateway stops finishes and is recorded before the pool closes."""
    settings = settings_for(database_url, redis_url, embedding_service_url)
    name = "test_shutdown_" + uuid.uuid4().hex[:8]
    entered = asyncio.Event()

    async def slow(now: datetime) -> JobResult:
        entered.set()
        for _ in range(5):
            await asyncio.sleep(0.02)
        return JobResult(users=3)

    async with running(settings) as (app, _http):
        runner = ctx(app).jobs
        assert runner is not None
        runner.register(
            [JobSpec(name, "slow", "never", lambda s: IntervalTrigger(hours=1), slow, lock_seconds=30)]
        )
        run, _task = await runner.start(name)
        await entered.wait()
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT status, users_processed FROM job_runs WHERE id = $1", run.id)
    finally:
        await conn.close()
    assert row["status"] == "succeeded" and row["users_processed"] == 3


def test_scheduler_timezone_must_be_a_zone() -> None:
    """SCHEDULER_TIMEZONE is checked at start, and the error names the variable."""
    from pydantic import ValidationError

    from gateway.config import describe_validation_error

    with pytest.raises(ValidationError) as caught:
        SchedulerSettings(timezone="Not/AZone", _env_file=None)  # type: ignore[call-arg]
    assert describe_validation_error(SchedulerSettings, caught.value).startswith("SCHEDULER_TIMEZONE:")


async def test_health_recovery_embeds_memories_stored_during_an_embedding_outage(
    database_url: str, redis_url: str, user_id: str
) -> None:
    """A memory kept while the embedding service was down gets its vector from the 15-minute recovery job
    once the service is back, not only from the nightly maintenance."""
    from embedding_service.app import create_app as create_embedding_app
    from embedding_service.config import Settings as EmbeddingSettings

    port = free_port()
    settings = settings_for(database_url, redis_url, f"http://127.0.0.1:{port}")
    async with running(settings) as (app, http):
        context = ctx(app)
        await add_user(context.pool, user_id, "outage")
        kept = await http.post(
            f"/api/memory/{user_id}/memories",
            json={"content": "My bike is a green Gazelle from 1998"},
            headers=service_auth(),
        )
        assert kept.status_code == 201, kept.text
        missing = "SELECT count(*) FROM memories WHERE user_id = $1 AND embedding IS NULL"
        assert await context.pool.fetchval(missing, user_id) == 1
        embedding_settings = EmbeddingSettings.load(env_file=None, provider="local", redis_url=redis_url)
        with ThreadedServer(create_embedding_app(embedding_settings), name="embedding-back", port=port):
            response = await http.post("/api/admin/jobs/health_recovery/run", params={"wait": "true"})
        assert response.status_code == 200, response.text
        assert await context.pool.fetchval(missing, user_id) == 0
        assert response.json()["report"]["embedded"] >= 1
