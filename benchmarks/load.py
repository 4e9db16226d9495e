"""Many users chatting at human pace for a few minutes, with a realistic LLM, plus the proactive job.

    python -m benchmarks.load [--users 200] [--minutes 2] [--llm-ms 800] [--think-s 20] [--json OUT]

A throw-away embedded stack (benchmarks.harness: Postgres + pgvector, Redis, the real embedding service),
a fake OpenAI-compatible LLM answering after ``--llm-ms`` (benchmarks.fake_llm), and the gateway as its own
process (``python -m gateway``), as deployed, with Groq absent. Each simulated user sends a message, waits
for the reply, pauses ``--think-s`` seconds on average (exponential, like people), and repeats until the
time is up. Their starts are spread over the first think time. Meanwhile the proactive check runs through
the admin API (``POST /api/admin/jobs/{job}/run``) every ``--proactive-every-s`` seconds.

Reported:
- end-to-end latency seen by the users (p50/p95/p99);
- the gateway's own overhead per turn (``processing_ms − agent_ms``);
- errors (any non-200);
- lost messages (turns sent − interactions stored);
- memory growth (memories stored, expected two per turn);
- the gateway's resident memory (RSS) at the start and at the end, and throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.fake_llm import FakeLLM
from benchmarks.harness import local_stack
from benchmarks.locomo import percentile
from benchmarks.turn_latency import (
    ADMIN_KEY,
    MESSAGES,
    SERVICE_TOKEN,
    count_stored,
    free_port,
    gateway_env,
    start_gateway,
    wait_ready,
)

logger = logging.getLogger("benchmarks.load")

TARGET_OVERHEAD_P95_MS = 50.0
PROACTIVE_JOB = "proactive_check"


async def user_loop(
    client: httpx.AsyncClient, user_id: str, index: int, deadline: float, think_s: float, samples: list[Any]
) -> int:
    rng = random.Random(index)
    await asyncio.sleep(rng.uniform(0, think_s))  # arrivals spread out, not a thundering herd
    sent = 0
    while time.monotonic() < deadline:
        text = MESSAGES[(index + sent) % len(MESSAGES)]
        started = time.perf_counter()
        try:
            response = await client.post(
                f"/api/chat/{user_id}/messages", json={"message": text, "username": f"load{index}"}
            )
        except httpx.HTTPError as exc:
            samples.append({"status": 0, "error": repr(exc)})
            sent += 1
            continue
        e2e_ms = (time.perf_counter() - started) * 1000
        sent += 1
        if response.status_code != 200:
            samples.append({"status": response.status_code, "error": response.text[:200]})
        else:
            body = response.json()
            samples.append(
                {
                    "status": 200,
                    "e2e_ms": e2e_ms,
                    "overhead_ms": body["processing_ms"] - body["agent_ms"],
                    "runtime": body["runtime"],
                    "stores_reply": body["runtime"] != "template" and not body["security"]["restricted"],
                    "refused": body["runtime"] == "security",
                }
            )
        await asyncio.sleep(min(rng.expovariate(1 / think_s), 4 * think_s))
    return sent


async def proactive_loop(client: httpx.AsyncClient, deadline: float, every_s: float, runs: list[Any]) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    while time.monotonic() + every_s < deadline:
        await asyncio.sleep(every_s)
        started = time.perf_counter()
        response = await client.post(f"/api/admin/jobs/{PROACTIVE_JOB}/run", headers=headers)
        runs.append({"status": response.status_code, "ms": round((time.perf_counter() - started) * 1000, 1)})


async def run(args: argparse.Namespace, stack: Any, llm: FakeLLM) -> dict[str, Any]:
    port = free_port()
    env = gateway_env(stack, llm.base_url, port, "direct", None)
    env["SCHEDULER_ENABLED"] = "false"  # the benchmark triggers the proactive job itself, on its own clock
    log_path = Path(stack.home) / "gateway-load.log"
    process = start_gateway(env, log_path)
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base_url, process)
        gateway = psutil.Process(process.pid)
        rss_start = gateway.memory_info().rss / 2**20
        headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
        limits = httpx.Limits(max_connections=args.users + 10)
        user_ids = [f"load-{i}" for i in range(args.users)]
        samples: list[dict[str, Any]] = []
        proactive_runs: list[dict[str, Any]] = []
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=120, limits=limits
        ) as client:
            started = time.monotonic()
            deadline = started + args.minutes * 60
            sent_counts, _ = await asyncio.gather(
                asyncio.gather(
                    *(
                        user_loop(client, u, i, deadline, args.think_s, samples)
                        for i, u in enumerate(user_ids)
                    )
                ),
                proactive_loop(client, deadline, args.proactive_every_s, proactive_runs),
            )
            wall = time.monotonic() - started
            for user_id in user_ids:  # waits for the memory writes behind the replies
                await client.get(f"/api/users/{user_id}/export")
        rss_end = gateway.memory_info().rss / 2**20
        interactions, memories = await count_stored(stack.database_url, user_ids)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except Exception:
            process.kill()
    sent = sum(sent_counts)
    ok = [s for s in samples if s["status"] == 200]
    e2e = [s["e2e_ms"] for s in ok]
    overhead = [s["overhead_ms"] for s in ok]
    expected_memories = sum(0 if s["refused"] else (2 if s["stores_reply"] else 1) for s in ok)
    # Proactive messages the job sent are interactions too (never to these users without a bot: recorded
    # as failed deliveries), so lost messages count only the users' own turns.
    return {
        "users": args.users,
        "minutes": args.minutes,
        "llm_latency_ms": args.llm_ms,
        "think_s_mean": args.think_s,
        "turns": sent,
        "turns_per_s": round(sent / wall, 2) if wall else 0.0,
        "errors": len(samples) - len(ok),
        "error_samples": [s for s in samples if s["status"] != 200][:5],
        "e2e_p50_ms": _r(percentile(e2e, 50)),
        "e2e_p95_ms": _r(percentile(e2e, 95)),
        "e2e_p99_ms": _r(percentile(e2e, 99)),
        "overhead_p50_ms": _r(percentile(overhead, 50)),
        "overhead_p95_ms": _r(percentile(overhead, 95)),
        "overhead_p99_ms": _r(percentile(overhead, 99)),
        "lost_messages": max(0, sent - interactions),
        "interactions_stored": interactions,
        "memories_stored": memories,
        "memories_expected": expected_memories,
        "lost_memories": max(0, expected_memories - memories),
        "rss_mb": round(rss_end, 1),
        "rss_start_mb": round(rss_start, 1),
        "rss_growth_mb": round(rss_end - rss_start, 1),
        "proactive_runs": proactive_runs,
        "target_overhead_p95_ms": TARGET_OVERHEAD_P95_MS,
        "meets_target": (percentile(overhead, 95) or 1e9) <= TARGET_OVERHEAD_P95_MS
        and len(samples) == len(ok)
        and sent <= interactions,
        "cpu_count": os.cpu_count(),
    }


def _r(value: float | None) -> float:
    return round(value or 0.0, 2)


def summary_line(report: dict[str, Any]) -> str:
    return (
        f"load {report['users']} users x {report['minutes']:g} min (LLM {report['llm_latency_ms']:g} ms): "
        f"{report['turns']} turns ({report['turns_per_s']}/s), e2e p50 {report['e2e_p50_ms']} / p95 "
        f"{report['e2e_p95_ms']} / p99 {report['e2e_p99_ms']} ms, overhead p95 {report['overhead_p95_ms']} ms "
        f"({'meets' if report['meets_target'] else 'MISSES'} {TARGET_OVERHEAD_P95_MS:g} ms), errors "
        f"{report['errors']}, lost messages {report['lost_messages']}, lost memories {report['lost_memories']}, "
        f"RSS {report['rss_start_mb']} -> {report['rss_mb']} MB"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--llm-ms", type=float, default=800.0)
    parser.add_argument("--think-s", type=float, default=20.0, help="mean pause between a reply and the next")
    parser.add_argument("--proactive-every-s", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with ExitStack() as stack_cm:
        stack = stack_cm.enter_context(local_stack())
        llm = stack_cm.enter_context(FakeLLM(latency_seconds=args.llm_ms / 1000))
        report = asyncio.run(run(args, stack, llm))
    print(summary_line(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
