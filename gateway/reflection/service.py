"""Nightly reflection (docs/proactive.md#nightly-reflection): for every user active in the last
``REFLECTION_ACTIVE_DAYS`` days, in batches of ``REFLECTION_BATCH_SIZE`` run in parallel, with at most
``REFLECTION_MAX_CONCURRENT_LLM_CALLS`` steps that may call an LLM (quirk mining, consolidation summaries,
conflict judging) at once:

1. quirk evolution (mined from the companion's replies of the week; reinforced, faded, capped);
2. baseline drift (toward the 7-day mean mood, at least 5 interactions);
3. memory consolidation (clusters of episodic memories become semantic ones, each checked for conflicts);
4. conflict scan of the semantic memories written since the last night by other paths (session ends).

Each step of each user is guarded on its own: a failure is recorded in the report and the rest goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from gateway.clock import Clock
from gateway.config import ReflectionSettings
from gateway.memory.consolidation import Consolidator
from gateway.memory.schemas import MemoryType
from gateway.personality.service import PersonalityService
from gateway.reflection.repository import ReflectionRepository

logger = logging.getLogger(__name__)

T = TypeVar("T")

CONFLICT_SCAN_LIMIT = 20  # semantic memories re-checked per user per night
CONFLICT_SCAN_WINDOW = timedelta(hours=24)
USER_DETAILS_IN_REPORT = 200


@dataclass
class UserReflection:
    user_id: str
    quirks: dict[str, Any] | None = None
    drift: dict[str, Any] | None = None
    consolidation: dict[str, Any] | None = None
    conflicts_scanned: int = 0
    conflicts_found: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ReflectionReport:
    started_at: datetime
    users: int = 0
    succeeded: int = 0
    failed: int = 0
    batches: int = 0
    baselines_drifted: int = 0
    quirks_created: int = 0
    semantic_memories_created: int = 0
    conflicts_found: int = 0
    seconds: float = 0.0
    details: list[UserReflection] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f"{d.user_id}: {error}" for d in self.details for error in d.errors]

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "users": self.users,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "batches": self.batches,
            "baselines_drifted": self.baselines_drifted,
            "quirks_created": self.quirks_created,
            "semantic_memories_created": self.semantic_memories_created,
            "conflicts_found": self.conflicts_found,
            "seconds": round(self.seconds, 3),
            "errors": self.errors[:50],
            "users_detail": [asdict(d) for d in self.details[:USER_DETAILS_IN_REPORT]],
        }


class ReflectionService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        personality: PersonalityService,
        consolidator: Consolidator,
        settings: ReflectionSettings,
        *,
        clock: Clock,
    ) -> None:
        self.pool = pool
        self.personality = personality
        self.consolidator = consolidator
        self.settings = settings
        self.clock = clock

    async def run(self, now: datetime | None = None, user_ids: list[str] | None = None) -> ReflectionReport:
        """Reflect for every active user (or ``user_ids``); returns the per-run report."""
        now = now or self.clock.now()
        started = time.perf_counter()
        if user_ids is None:
            user_ids = await ReflectionRepository(self.pool).active_users(
                now - timedelta(days=self.settings.active_days), now
            )
        report = ReflectionReport(started_at=now, users=len(user_ids))
        llm_slots = asyncio.Semaphore(self.settings.max_concurrent_llm_calls)
        size = self.settings.batch_size
        for start in range(0, len(user_ids), size):
            batch = user_ids[start : start + size]
            report.batches += 1
            results = await asyncio.gather(*(self.reflect(user_id, now, llm_slots) for user_id in batch))
            for result in results:
                report.details.append(result)
                if result.ok:
                    report.succeeded += 1
                else:
                    report.failed += 1
                if result.drift and result.drift.get("applied"):
                    report.baselines_drifted += 1
                report.quirks_created += int((result.quirks or {}).get("created", 0))
                report.semantic_memories_created += int(
                    (result.consolidation or {}).get("semantic_memories_created", 0)
                )
                report.conflicts_found += result.conflicts_found
        report.seconds = time.perf_counter() - started
        logger.info(
            "nightly reflection",
            extra={k: v for k, v in report.as_dict().items() if k not in ("users_detail", "errors")},
        )
        return report

    async def reflect(
        self, user_id: str, now: datetime, llm_slots: asyncio.Semaphore | None = None
    ) -> UserReflection:
        """One user's night; never raises (every failure lands in ``errors``)."""
        slots = llm_slots or asyncio.Semaphore(1)
        started = time.perf_counter()
        result = UserReflection(user_id=user_id)

        async def step(name: str, call: Callable[[], Awaitable[T]], uses_llm: bool) -> T | None:
            try:
                if uses_llm:
                    async with slots:
                        return await call()
                return await call()
            except Exception as exc:  # one step's failure is recorded; the others still run
                logger.warning("reflection step %s failed for %s: %s", name, user_id, exc)
                result.errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
                return None

        quirks = await step("quirks", lambda: self.personality.evolve_quirks(user_id, now), True)
        if quirks is not None:
            result.quirks = asdict(quirks)
        drift = await step("drift", lambda: self.personality.drift_baseline(user_id, now), False)
        if drift is not None:
            result.drift = {
                "applied": drift.applied,
                "already_drifted": drift.already_drifted,
                "interactions": drift.interactions,
                "rate": drift.rate,
                "before": drift.before.as_dict(),
                "after": drift.after.as_dict(),
            }
        consolidation = await step("consolidation", lambda: self.consolidator.consolidate(user_id, now), True)
        created: set[Any] = set()
        if consolidation is not None:
            result.consolidation = consolidation.model_dump(mode="json")
            result.conflicts_found += consolidation.conflicts_detected
            created = set(consolidation.semantic_memory_ids)
        scanned = await step(
            "conflict_scan", lambda: self._scan_conflicts(user_id, now, created, slots), False
        )
        if scanned is not None:
            result.conflicts_scanned, found = scanned
            result.conflicts_found += found
        result.seconds = round(time.perf_counter() - started, 4)
        return result

    async def _scan_conflicts(
        self, user_id: str, now: datetime, skip: set[Any], slots: asyncio.Semaphore
    ) -> tuple[int, int]:
        """Semantic memories of the last 24 h not written by this run's consolidation (which checked its
        own) are compared with the user's other semantic memories."""
        page = await self.consolidator.memory.list_page(user_id, MemoryType.SEMANTIC, CONFLICT_SCAN_LIMIT, 0)
        recent = [
            memory
            for memory in page.items
            if memory.id not in skip and now - CONFLICT_SCAN_WINDOW <= memory.created_at <= now
        ]
        found = 0
        for memory in recent:
            async with slots:
                found += await self.consolidator.detect_conflicts(user_id, memory.id, now)
        return len(recent), found
