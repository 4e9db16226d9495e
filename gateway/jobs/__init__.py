"""Background jobs, the infrastructure only: the runner, the scheduler and the run records. Each job's body
lives in its domain's ``jobs.py`` and is wired once in ``gateway/app.py``. APScheduler's ``AsyncIOScheduler``
runs inside the gateway, every job behind a Redis lock and every run recorded in ``job_runs``.

| job                  | when                                  | what                                              |
|----------------------|---------------------------------------|---------------------------------------------------|
| ``proactive_check``  | every 5 minutes (:00, :05, ...)       | score everyone, start proactive conversations     |
| ``needs_update``     | hourly (:00)                          | write the risen need levels (``refresh_needs``)   |
| ``nightly_reflection`` | 03:00 ``SCHEDULER_TIMEZONE``        | quirks, baseline drift, consolidation, conflicts  |
| ``memory_maintenance`` | 04:00 ``SCHEDULER_TIMEZONE``        | re-score/re-embed/index backlogs, queued writes,  |
|                      |                                       | dormant users, pending deletions                  |
| ``health_recovery``  | every 15 minutes (:00, :15, ...)      | dependencies, bot heartbeat, lost Letta agents,   |
|                      |                                       | pending deletions                                 |

Every trigger is aligned to the clock, so all replicas fire a job at the same moments; a scheduled run first
claims that moment (``job-slot:<name>``, ``SET NX`` for most of the job's period), so N replicas run it once
per scheduled time. A run then takes the job's Redis lock (``SET NX`` on a short lease, renewed while it runs:
``LeasedLock``), so N replicas never run one job twice at once; the one that finds it taken skips its turn,
and a lock whose holder died frees within a lease. Redis down: an in-process lock (one replica stays safe;
docs/architecture.md#decisions, D11). A job that throws is recorded as failed and the scheduler goes on.
Shutdown stops the scheduler and waits (``SCHEDULER_SHUTDOWN_TIMEOUT_SECONDS``) for running jobs; what is
still running then is cancelled and recorded as ``interrupted``.
"""

from gateway.jobs.runner import (
    JobAlreadyRunningError,
    JobFunc,
    JobResult,
    JobRunner,
    JobSpec,
    UnknownJobError,
    run_step,
)
from gateway.jobs.scheduler import JobScheduler

__all__ = [
    "JobAlreadyRunningError",
    "JobFunc",
    "JobResult",
    "JobRunner",
    "JobScheduler",
    "JobSpec",
    "UnknownJobError",
    "run_step",
]
