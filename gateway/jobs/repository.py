"""``job_runs``: one row per run of a job, written by the runner, read by the admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.db import Connection
from gateway.jobs.schemas import JobRunRead


class JobRunRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def start(self, name: str, trigger: str, instance: str, started_at: datetime) -> JobRunRead:
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
        assert row is not None  # INSERT ... RETURNING always returns its row
        return JobRunRead.model_validate(dict(row))

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
    ) -> JobRunRead:
        row = await self.conn.fetchrow(
            """
            UPDATE job_runs SET status = $2, finished_at = $3, duration_ms = $4, users_processed = $5,
                                errors = $6, error = $7, report = $8
            WHERE id = $1 RETURNING *
            """,
            run_id, status, finished_at, duration_ms, users, errors, error, report,
        )  # fmt: skip
        if row is None:
            raise LookupError(f"no job run {run_id}")
        return JobRunRead.model_validate(dict(row))

    async def page(self, name: str | None, limit: int, offset: int) -> tuple[list[JobRunRead], int]:
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
        return [
            JobRunRead.model_validate({k: v for k, v in dict(row).items() if k != "total"}) for row in rows
        ], total

    async def last_runs(self) -> dict[str, JobRunRead]:
        rows = await self.conn.fetch(
            "SELECT DISTINCT ON (job_name) * FROM job_runs ORDER BY job_name, started_at DESC, id DESC"
        )
        return {row["job_name"]: JobRunRead.model_validate(dict(row)) for row in rows}
