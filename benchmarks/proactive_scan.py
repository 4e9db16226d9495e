"""One proactive check over many users: how long it takes and how much SQL it issues per user.

    python -m benchmarks.proactive_scan [--users 10000[,100000...]] [--interactions 20] [--json OUT]

A throw-away stack (benchmarks.harness: Postgres + pgvector, Redis, the embedding service) is seeded with
``--users`` companions (profile in one of a dozen time zones, 1 % with an invalid one; current personality
row; five needs; ``--interactions`` exchanges each over the last 30 days, a few of them proactive), then the
real ``ProactiveService.check_all`` runs once at a fixed "now". Delivery is faked by a ``Deliverer`` that
only records (no bot), and the LLMs are absent (template thoughts and openers), so what is measured is the
scan: scoring every user, the hard limits, and the initiations it starts (at most PROACTIVE_MAX_PER_CYCLE).
Every statement sent to Postgres during the check is counted through asyncpg's query logger.
Target: ``seconds`` ≤ 5 for 10,000 users on this machine.

Memory, two ways. ``peak_python_mb_paged`` is the peak of what Python allocated during a later, identical check
(tracemalloc), beside the same with every user in one page (the scan before paging). ``rss_*_mb`` is the
resident memory of the process running the check, as the operating system sees it (psutil): just before the
measured check, just after it, and its peak in between (Linux ``VmHWM``, reset before the check; null
elsewhere). The check runs in a fresh child process for that, so its RSS holds the interpreter, the gateway's
modules, the connection pool and the check, not the seeding or the embedding model served by this process.
Growth includes the first check's one-time costs (time-zone data, templates, prepared statements).

``--users 10000,100000`` measures each size in turn, each on a fresh stack (so one check's initiations do not
shape the next), and the JSON holds ``scans``, one entry per size; a single size keeps the flat JSON.
Seeding is COPY, a few thousand users at a time; ``seed_seconds`` says how long it took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import random
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psutil
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


SEED_CHUNK_USERS = 5_000
PROFILE_COLUMNS = [
    "user_id", "username", "timezone", "proactive_enabled", "status", "last_active_at", "created_at", "updated_at",
]  # fmt: skip
STATE_COLUMNS = [
    "user_id", "profile", "openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism",
    "pleasure", "arousal", "dominance", "baseline_pleasure", "baseline_arousal", "baseline_dominance",
    "emotion_label", "is_current", "created_at",
]  # fmt: skip
NEED_COLUMNS = [
    "user_id", "need_type", "current_level", "baseline", "growth_per_hour", "trigger_threshold", "last_updated_at",
]  # fmt: skip
INTERACTION_COLUMNS = ["user_id", "created_at", "user_message", "assistant_response", "was_proactive"]


async def seed(dsn: str, users: int, interactions: int, rng: random.Random) -> None:
    """Bulk-load the users (COPY), as if each had been talking with their companion for a while.

    The rows are built and copied ``SEED_CHUNK_USERS`` users at a time, so 100,000 users (two million
    interactions) never sit in this process's memory at once."""
    conn = await asyncpg.connect(dsn)
    try:
        for first in range(0, users, SEED_CHUNK_USERS):
            profiles, states, needs, turns = _rows(
                range(first, min(first + SEED_CHUNK_USERS, users)), interactions, rng
            )
            await conn.copy_records_to_table("user_profiles", records=profiles, columns=PROFILE_COLUMNS)
            await conn.copy_records_to_table("personality_state", records=states, columns=STATE_COLUMNS)
            await conn.copy_records_to_table("needs", records=needs, columns=NEED_COLUMNS)
            await conn.copy_records_to_table("interactions", records=turns, columns=INTERACTION_COLUMNS)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


Rows = list[tuple[Any, ...]]


def _rows(indexes: range, interactions: int, rng: random.Random) -> tuple[Rows, Rows, Rows, Rows]:
    """The profile, personality, needs and interaction rows of the users numbered ``indexes``."""
    profiles: Rows = []
    states: Rows = []
    needs: Rows = []
    turns: Rows = []
    profile_names = list(PersonalityProfile)
    for index in indexes:
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
    return profiles, states, needs, turns


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
        rss_before = _rss_mb()
        peak_resettable = _reset_peak_rss()
        counter.active = True
        started = time.perf_counter()
        report = await service.check_all(NOW)
        seconds = time.perf_counter() - started
        counter.active = False
        rss_after = _rss_mb()
        rss_peak = _peak_rss_mb() if peak_resettable else None
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
        "rss_before_mb": round(rss_before, 1),
        "rss_after_mb": round(rss_after, 1),
        "rss_growth_mb": round(rss_after - rss_before, 1),
        "rss_peak_mb": None if rss_peak is None else round(rss_peak, 1),
    }


def measure_in_child(dsn: str, users: int) -> dict[str, Any]:
    """``measure`` in a fresh interpreter, so its RSS is the check's alone: not the seeding's leftovers, nor
    the embedding model that the stack serves from this process."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as child:
        return child.submit(_measure_sync, dsn, users).result()


def _measure_sync(dsn: str, users: int) -> dict[str, Any]:
    return asyncio.run(measure(dsn, users))


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def _reset_peak_rss() -> bool:
    """Restart this process's peak resident set (Linux ``VmHWM``) from its current size; False elsewhere."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss_mb() -> float | None:
    """This process's peak resident set since start or the last ``_reset_peak_rss`` (Linux only)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


async def _peak_mb(run: Awaitable[Any]) -> float:
    """The peak of memory Python allocated while ``run`` ran (tracemalloc), in MB."""
    tracemalloc.start()
    try:
        await run
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / 1e6, 2)


def run_size(users: int, interactions: int, seed_value: int) -> dict[str, Any]:
    """A fresh stack seeded with ``users`` users, and one check measured over them."""
    with local_stack() as stack:
        started = time.perf_counter()
        asyncio.run(seed(stack.database_url, users, interactions, random.Random(seed_value)))
        seeded = time.perf_counter() - started
        result = measure_in_child(stack.database_url, users)
    result["seed_seconds"] = round(seeded, 2)
    return result


def summary_line(result: dict[str, Any]) -> str:
    return (
        f"proactive_scan: {result['users']} users in {result['seconds']:.2f} s "
        f"({result['queries']} queries, {result['queries_per_user']:.4f} per user; "
        f"{result['over_threshold']} over the threshold, {result['initiated']} initiated, "
        f"target ≤ {TARGET_SECONDS:.0f} s: {'ok' if result['within_target'] else 'MISSED'}); peak Python memory "
        f"{result['peak_python_mb_paged']} MB paged, {result['peak_python_mb_all_users_in_one_page']} MB in one "
        f"page; RSS {result['rss_before_mb']} -> {result['rss_after_mb']} MB (peak {result['rss_peak_mb']}); "
        f"seeded in {result['seed_seconds']} s"
    )


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of users or a comma-separated list: {text!r}"
        ) from None
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError("every number of users must be at least 1")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--users",
        type=_sizes,
        default=[10_000],
        help="users to seed; a comma-separated list (10000,100000) measures each on a fresh stack",
    )
    parser.add_argument("--interactions", type=int, default=20, help="exchanges per user over 30 days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = []
    for users in args.users:
        results.append(run_size(users, args.interactions, args.seed))
        print(summary_line(results[-1]), flush=True)
    if args.json:
        report = (
            results[0]
            if len(results) == 1
            else {"interactions_per_user": args.interactions, "scans": results}
        )
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
