"""The gateway's own cost per chat turn, with many users talking at once.

    python -m benchmarks.turn_latency [--runtime direct|letta] [--users 20] [--turns 10] [--json OUT]

A throw-away stack (benchmarks.harness: Postgres + pgvector, Redis, the real embedding service) and a
zero-latency fake LLM (benchmarks.fake_llm); the gateway runs as its own process (``python -m gateway``)
exactly as deployed, with Groq absent (local appraisal, heuristic importance, rules + semantic security).
``--users`` simulated users each send ``--turns`` messages one after another, all users at once; each waits
for its reply, then pauses ``--think-ms`` on average (exponential, capped at 4x; default 1 s, a fast typist)
before the next, and the users' first messages are spread over one think time. ``--think-ms 0`` saturates
the gateway instead: then latency is queueing (users / throughput) and the figure that matters is
``turns_per_s``. Per turn the gateway reports ``processing_ms`` (its whole
handling) and ``agent_ms`` (the part spent waiting on Letta or the LLM); **overhead = processing_ms −
agent_ms** is what we add. With ``--runtime letta`` a real Letta 0.6.8 (scripts/letta_server.py) sits
between us and the fake LLM and its share of each turn is reported.

Afterwards every user's data is exported (which waits for memory writes behind the replies) and counted:
``lost_messages`` = turns sent − interactions stored, ``lost_memories`` = memories expected (the message and
the reply of each turn) − memories stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchmarks.fake_llm import FakeLLM
from benchmarks.harness import local_stack
from benchmarks.locomo import percentile

logger = logging.getLogger("benchmarks.turn_latency")

TARGET_OVERHEAD_P95_MS = 40.0
SERVICE_TOKEN = "bench-service-token-0123456789abcdef"  # noqa: S105 - a throw-away stack
ADMIN_KEY = "bench-admin-key-0123456789abcdef012"
MESSAGES = (
    "Hey, how are you doing today?",
    "I finally finished the painting I started last month.",
    "Work was exhausting, my boss moved the deadline again.",
    "Do you think I should take the job offer in Lisbon?",
    "My sister is visiting this weekend, we're going hiking.",
    "I tried that ramen place downtown, it was amazing.",
    "Couldn't sleep much last night, too many thoughts.",
    "What kind of music do you like?",
    "I adopted a kitten! Her name is Miso.",
    "We had a long talk about moving to a bigger flat.",
    "I ran my first 10k this morning!",
    "The garden is full of tomatoes now.",
)


def free_port() -> int:
    from scripts.localstack import free_port as pick

    return pick()


def gateway_env(stack: Any, llm_url: str, port: int, runtime: str, letta_url: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GATEWAY_", "LETTA_"))}
    env.update(
        {
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": stack.database_url,
            "REDIS_URL": stack.redis_url,
            "EMBEDDING_SERVICE_URL": stack.embedding_url,
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(port),
            "GATEWAY_SERVICE_TOKEN": SERVICE_TOKEN,
            "ADMIN_API_KEY": ADMIN_KEY,
            "LLM_BASE_URL": llm_url,
            "PRIMARY_LLM_MODEL": "bench-model",
            "FALLBACK_LLM_MODEL": "",
            "GROQ_API_KEY": "",
            "CHUTES_API_KEY": "",
            "CHAT_RUNTIME": runtime,
            # The scheduler's jobs would compete for the same cores at random moments: off while measuring.
            "SCHEDULER_ENABLED": "false",
            # The benchmark is one client hammering on purpose: abuse limits would only measure themselves.
            "SECURITY_RATE_LIMIT_ENABLED": "false",
        }
    )
    if letta_url:
        env["LETTA_SERVER_URL"] = letta_url
    return env


def start_gateway(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``python -m gateway`` as its own process, as deployed (its log next to the stack's data, 0600: it
    holds message excerpts)."""
    with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as log:
        log_path.chmod(0o600)
        return subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=log)


async def wait_ready(base_url: str, process: subprocess.Popen[bytes], within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gateway exited with {process.returncode}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("gateway did not become healthy")


async def simulate_user(
    client: httpx.AsyncClient,
    user_id: str,
    turns: int,
    offset: int,
    samples: list[dict[str, Any]],
    think_ms: float = 0.0,
) -> int:
    sent = 0
    pause = random.Random(offset)
    if think_ms:  # people do not start in lockstep: arrivals spread over one think time
        await asyncio.sleep(pause.uniform(0, think_ms / 1000))
    for turn in range(turns):
        if think_ms and turn:  # exponential pauses (mean think_ms, capped at 4x), like independent people
            await asyncio.sleep(min(pause.expovariate(1000 / think_ms), 4 * think_ms / 1000))
        text = MESSAGES[(offset + turn) % len(MESSAGES)]
        started = time.perf_counter()
        response = await client.post(
            f"/api/chat/{user_id}/messages", json={"message": text, "username": f"bench{offset}"}
        )
        client_ms = (time.perf_counter() - started) * 1000
        sent += 1
        if response.status_code != 200:
            samples.append({"status": response.status_code, "error": response.text[:200]})
            continue
        body = response.json()
        samples.append(
            {
                "status": 200,
                "client_ms": client_ms,
                "processing_ms": body["processing_ms"],
                "agent_ms": body["agent_ms"],
                "runtime": body["runtime"],
                "degraded": body["degraded"],
                "stores_reply": body["runtime"] != "template" and not body["security"]["restricted"],
                "refused": body["runtime"] == "security",
                "timings": body.get("timings_ms", {}),
            }
        )
    return sent


async def count_stored(database_url: str, user_ids: Sequence[str]) -> tuple[int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        interactions = await conn.fetchval(
            "SELECT count(*) FROM interactions WHERE user_id = ANY($1::text[])", list(user_ids)
        )
        memories = await conn.fetchval(
            "SELECT count(*) FROM memories WHERE user_id = ANY($1::text[]) AND deleted_at IS NULL",
            list(user_ids),
        )
    finally:
        await conn.close()
    return int(interactions), int(memories)


async def run(args: argparse.Namespace, stack: Any, llm: FakeLLM, letta_url: str | None) -> dict[str, Any]:
    port = free_port()
    env = gateway_env(stack, llm.base_url, port, args.runtime, letta_url)
    log_path = Path(stack.home) / "gateway-bench.log"
    process = start_gateway(env, log_path)
    base_url = f"http://127.0.0.1:{port}"
    try:
        try:
            await wait_ready(base_url, process)
        except (RuntimeError, TimeoutError) as exc:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
            raise RuntimeError(f"{exc}; gateway log:\n{tail}") from exc
        headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
        limits = httpx.Limits(max_connections=args.users + 5)
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=300, limits=limits
        ) as client:
            user_ids = [f"bench-{args.runtime}-{i}" for i in range(args.users)]
            # Warm-up: every user's first contact (profile, personality) and the first model calls.
            await asyncio.gather(*(simulate_user(client, u, 1, i, []) for i, u in enumerate(user_ids)))
            samples: list[dict[str, Any]] = []
            started = time.perf_counter()
            sent = sum(
                await asyncio.gather(
                    *(
                        simulate_user(client, u, args.turns, i + 1, samples, args.think_ms)
                        for i, u in enumerate(user_ids)
                    )
                )
            )
            wall = time.perf_counter() - started
            for user_id in user_ids:  # waits for the memory writes behind the replies
                (await client.get(f"/api/users/{user_id}/export")).raise_for_status()
        interactions, memories = await count_stored(stack.database_url, user_ids)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    warmup_turns = args.users
    ok = [s for s in samples if s["status"] == 200]
    overhead = [s["processing_ms"] - s["agent_ms"] for s in ok]
    expected_memories = warmup_turns * 2 + sum(
        0 if s.get("refused") else (2 if s.get("stores_reply") else 1) for s in samples if s["status"] == 200
    )
    agent_share = sum(s["agent_ms"] for s in ok) / max(1e-9, sum(s["processing_ms"] for s in ok))
    degraded: dict[str, int] = {}
    for sample in ok:
        for name in sample["degraded"]:
            degraded[name] = degraded.get(name, 0) + 1
    stages: dict[str, list[float]] = {}
    for sample in ok:
        for name, value in sample["timings"].items():
            stages.setdefault(name, []).append(value)
    return {
        "runtime": args.runtime,
        "users": args.users,
        "turns_per_user": args.turns,
        "think_ms": args.think_ms,
        "turns": sent,
        "errors": len(samples) - len(ok),
        "error_samples": [s for s in samples if s["status"] != 200][:5],
        "overhead_p50_ms": _r(percentile(overhead, 50)),
        "overhead_p95_ms": _r(percentile(overhead, 95)),
        "overhead_p99_ms": _r(percentile(overhead, 99)),
        "processing_p50_ms": _r(percentile([s["processing_ms"] for s in ok], 50)),
        "processing_p95_ms": _r(percentile([s["processing_ms"] for s in ok], 95)),
        "client_p95_ms": _r(percentile([s["client_ms"] for s in ok], 95)),
        "agent_p50_ms": _r(percentile([s["agent_ms"] for s in ok], 50)),
        "agent_share_of_processing": round(agent_share, 3),
        "turns_per_s": round(sent / wall, 2) if wall else 0.0,
        "wall_seconds": round(wall, 2),
        "lost_messages": sent + warmup_turns - interactions,
        "lost_memories": max(0, expected_memories - memories),
        "memories_stored": memories,
        "memories_expected": expected_memories,
        "degraded_counts": degraded,
        "stage_ms": {
            name: {"p50": _r(percentile(values, 50)), "p95": _r(percentile(values, 95))}
            for name, values in stages.items()
        },
        "llm_requests": llm.requests,
        "target_overhead_p95_ms": TARGET_OVERHEAD_P95_MS,
        "meets_target": (percentile(overhead, 95) or 1e9) <= TARGET_OVERHEAD_P95_MS,
        "cpu_count": os.cpu_count(),
    }


def _r(value: float | None) -> float:
    return round(value or 0.0, 2)


def summary_line(report: dict[str, Any]) -> str:
    return (
        f"turn_latency [{report['runtime']}] {report['users']} users x {report['turns_per_user']} turns "
        f"(think {report['think_ms']:g} ms): "
        f"overhead p50 {report['overhead_p50_ms']} / p95 {report['overhead_p95_ms']} / "
        f"p99 {report['overhead_p99_ms']} ms "
        f"({'meets' if report['meets_target'] else 'MISSES'} {TARGET_OVERHEAD_P95_MS:g} ms), "
        f"{report['turns_per_s']} turns/s, agent share {report['agent_share_of_processing']:.0%}, "
        f"lost messages {report['lost_messages']}, lost memories {report['lost_memories']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runtime", choices=("direct", "letta"), default="direct")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=1000.0,
        help="mean pause of each user between receiving a reply and sending the next message (0: saturate)",
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with ExitStack() as stack_cm:
        stack = stack_cm.enter_context(local_stack())
        llm = stack_cm.enter_context(FakeLLM(latency_seconds=0.0))
        letta_url = None
        if args.runtime == "letta":
            from scripts.letta_server import running_letta

            # Letta lives in its own venv under COMPANION_HOME (installed on first use, then reused).
            letta_url = stack_cm.enter_context(running_letta({"LLM_BASE_URL": llm.base_url})).base_url
        report = asyncio.run(run(args, stack, llm, letta_url))
    print(summary_line(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
