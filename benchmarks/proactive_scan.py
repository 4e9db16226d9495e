"""One proactive check over many users: how long it takes and how much SQL it issues per user.

    python -m benchmarks.proactive_scan [--users 10000] [--interactions 20] [--json OUT]

A throw-away stack (benchmarks.harness: Postgres + pgvector, Redis, the embedding service) is seeded with
``--users`` companions (profile in one of a dozen time zones, 1 % with an invalid one; current personality
row; five needs; ``--interactions`` exchanges each over the last 30 days, a few of them proactive), then the
real ``ProactiveService.check_all`` runs once at a fixed "now". Delivery is faked by a ``Deliverer`` that
only records (no bot), and the LLMs are absent (template thoughts and openers), so what is measured is the
scan: scoring every user, the hard limits, and the initiations it starts (at most PROACTIVE_MAX_PER_CYCLE).
Every statement sent to Postgres during the check is counted through asyncpg's query logger.
Target: ``seconds`` ≤ 5 for 10,000 users on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from pgvector.asyncpg import register_vector

from benchmarks.harness import local_stack
from gateway.clock import FrozenClock
from gateway.config import PersonalitySettings, ProactiveSettings
from gateway.integrations.discord_push import Delivery
from gateway.personality.needs import GROWTH_PER_HOUR
from gateway.personality.profiles import PROFILE_TRAITS, PersonalityProfile
from gateway.personality.service import PersonalityService
from gateway.proactive.service import SCAN_BATCH, ProactiveService
from gateway.users.service import UsersService

logger = logging.getLogger("benchmarks.proactive_scan")

TARGET_SECONDS = 5.0
NOW = datetime(2025, 6, 4, 18, 30, tzinfo=UTC)
ZONES = (
    "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "America/Sao_Paulo", "Asia/Karachi", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney",
)  # fmt: skip


class RecordingDeliverer:
    """Delivery faked: every push is recorded and reported delivered by DM."""

    def __init__(self) -> None:
        self.pushes: list[tuple[str, str, str]] = []

    async def deliver(
        self,
        user_id: str,
        text: str,
        reason: str,
        channel_id: str | None = None,
        channel_text: str | None = None,
    ) -> Delivery:
        self.pushes.append((user_id, text, reason))
        return Delivery("delivered_dm", channel_id=f"dm-{user_id}")


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0
        self.active = False

    def __call__(self, record: Any) -> None:
        if self.active:
            self.count += 1


async def seed(dsn: str, users: int, interactions: int, rng: random.Random) -> None:
    """Bulk-load the users (COPY), as if each had been talking with their companion for a while."""
    conn = await asyncpg.connect(dsn)
    try:
        profiles, states, needs, turns = [], [], [], []
        profile_names = list(PersonalityProfile)
        for index in range(users):
            user_id = f"9{index:017d}"
            zone = "Invalid/Zone" if index % 100 == 99 else ZONES[index % len(ZONES)]
            last_active = NOW - timedelta(hours=rng.uniform(0.2, 96))
            profiles.append(
                (user_id, f"user{index}", zone, True, "active", last_active, NOW - timedelta(days=40), NOW)
            )
            profile = profile_names[index % len(profile_names)]
            t = PROFILE_TRAITS[profile]
            mood = [round(rng.uniform(-0.5, 0.6), 3) for _ in range(3)]
            states.append(
                (user_id, profile.value, t.openness, t.conscientiousness, t.extraversion, t.agreeableness,
                 t.neuroticism, *mood, 0.05, 0.0, 0.0, "neutral", True, last_active)
            )  # fmt: skip
            for need, rate in GROWTH_PER_HOUR.items():
                needs.append((user_id, need.value, rng.uniform(0.3, 0.95), 0.5, rate, 0.8, last_active))
            hour = rng.randrange(24)
            for turn in range(interactions):
                when = NOW - timedelta(days=rng.uniform(0, 30), minutes=rng.uniform(0, 60))
                when = when.replace(hour=(hour + rng.choice((0, 0, 1, -1))) % 24)
                proactive = turn % 17 == 16
                turns.append(
                    (user_id, min(when, last_active), "" if proactive else "hello there", "hi!", proactive)
                )
        await conn.copy_records_to_table(
            "user_profiles",
            records=profiles,
            columns=["user_id", "username", "timezone", "proactive_enabled", "status", "last_active_at",
                     "created_at", "updated_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "personality_state",
            records=states,
            columns=["user_id", "profile", "openness", "conscientiousness", "extraversion", "agreeableness",
                     "neuroticism", "pleasure", "arousal", "dominance", "baseline_pleasure", "baseline_arousal",
                     "baseline_dominance", "emotion_label", "is_current", "created_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "needs",
            records=needs,
            columns=["user_id", "need_type", "current_level", "baseline", "growth_per_hour", "trigger_threshold",
                     "last_updated_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "interactions",
            records=turns,
            columns=["user_id", "created_at", "user_message", "assistant_response", "was_proactive"],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def measure(dsn: str, users: int) -> dict[str, Any]:
    counter = QueryCounter()

    async def init(conn: asyncpg.Connection) -> None:
        for type_name in ("json", "jsonb"):
            await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        await register_vector(conn)
        conn.add_query_logger(counter)

    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10, init=init)
    assert pool is not None
    try:
        personality_settings = PersonalitySettings(_env_file=None)  # type: ignore[call-arg]
        deliverer = RecordingDeliverer()
        clock = FrozenClock(NOW)
        users_service = UsersService(pool, clock)
        service = ProactiveService(
            pool,
            PersonalityService.create(pool, None, None, personality_settings, 0.01, users=users_service),
            ProactiveSettings(_env_file=None),  # type: ignore[call-arg]
            personality_settings,
            users=users_service,
            clock=clock,
            deliverer=deliverer,
        )
        await service.evaluate(["900000000000000000"], NOW)  # warm the connections, not the data
        counter.active = True
        started = time.perf_counter()
        report = await service.check_all(NOW)
        seconds = time.perf_counter() - started
        counter.active = False
        # The scan's peak Python memory, paged as it runs and, for comparison, with every user in one page
        # (the scan before paging); both after the measured run, so its initiations are not repeated.
        peak_paged = await _peak_mb(service.check_all(NOW))
        service.scan_batch = max(users, 1)
        peak_one_page = await _peak_mb(service.check_all(NOW))
    finally:
        await pool.close()
    return {
        "users": users,
        "users_scored": report.users_scored,
        "seconds": round(seconds, 3),
        "queries": counter.count,
        "queries_per_user": round(counter.count / max(users, 1), 5),
        "over_threshold": report.over_threshold,
        "initiated": report.initiated,
        "delivered": report.delivered,
        "pushes_recorded": len(deliverer.pushes),
        "blocked": dict(report.blocked),
        "timezone_fallbacks": report.timezone_fallbacks,
        "target_seconds": TARGET_SECONDS,
        "within_target": seconds <= TARGET_SECONDS,
        "scan_page_users": SCAN_BATCH,
        "peak_python_mb_paged": peak_paged,
        "peak_python_mb_all_users_in_one_page": peak_one_page,
    }


async def _peak_mb(run: Awaitable[Any]) -> float:
    """The peak of memory Python allocated while ``run`` ran (tracemalloc), in MB."""
    tracemalloc.start()
    try:
        await run
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / 1e6, 2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--interactions", type=int, default=20, help="exchanges per user over 30 days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with local_stack() as stack:
        started = time.perf_counter()
        asyncio.run(seed(stack.database_url, args.users, args.interactions, random.Random(args.seed)))
        seeded = time.perf_counter() - started
        result = asyncio.run(measure(stack.database_url, args.users))
    result["seed_seconds"] = round(seeded, 2)
    print(
        f"proactive_scan: {result['users']} users in {result['seconds']:.2f} s "
        f"({result['queries']} queries, {result['queries_per_user']:.4f} per user; "
        f"{result['over_threshold']} over the threshold, {result['initiated']} initiated, "
        f"target ≤ {TARGET_SECONDS:.0f} s: {'ok' if result['within_target'] else 'MISSED'}); peak Python memory "
        f"{result['peak_python_mb_paged']} MB paged, {result['peak_python_mb_all_users_in_one_page']} MB in one page"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
