"""Many users chatting at human pace for a few minutes, with a realistic LLM, plus the proactive job.

    python -m benchmarks.load [--users 200] [--minutes 2] [--llm-ms 800] [--think-s 20] [--replicas 1]
                              [--json OUT]

A throw-away embedded stack (benchmarks.harness: Postgres + pgvector, Redis, the real embedding service),
a fake OpenAI-compatible LLM answering after ``--llm-ms`` (benchmarks.fake_llm), and the gateway as its own
process (``python -m gateway``), as deployed, with Groq absent and its scheduler off. Each simulated user
sends a message, waits for the reply, pauses ``--think-s`` seconds on average (exponential, like people), and
repeats until the time is up. Their starts are spread over the first think time. ``--think-s 0`` saturates
instead: every user sends again as soon as the reply arrives, all from the first second, so throughput is
limited by the gateway and the stack rather than by the users. Meanwhile the proactive check runs through
the admin API (``POST /api/admin/jobs/{job}/run``) every ``--proactive-every-s`` seconds. Before the clock
starts, each gateway process answers one turn of each canned message (warm-up users, not counted), so no
phase pays for cold caches the other one inherits.

Reported:
- end-to-end latency seen by the users (p50/p95/p99);
- the gateway's own overhead per turn (``processing_ms − agent_ms``);
- errors (any non-200);
- lost messages (turns sent − interactions stored);
- memory growth (memories stored, expected two per turn);
- the gateway's resident memory (RSS) at the start and at the end, and throughput.

``--replicas N`` (N > 1) measures scale-out in one run: first a phase with one gateway process, then a phase
with N of them (other ports, same environment) on the same stack, each with the same users count, minutes,
LLM latency and think time, the second with fresh user ids. Like a load balancer without affinity, message
``t`` of user ``u`` goes to replica ``(t + u) % N``, so one user's turns alternate between processes (the
gateway keeps them in order across replicas). The report then holds ``phases``: per phase the replicas,
``turns_per_second`` (turns answered, whatever the status, within the phase's minutes, divided by them; the
turns still in flight then finish afterwards, and ``wall_seconds`` says when the last one did), latency and
overhead percentiles, per-stage timings, errors, lost messages, and per process its RSS at start and end and
the CPU it used; plus the machine's CPU busy share over the phase, and the CPU of this benchmark process,
which also hosts the simulated users, the fake LLM and the embedding service.

On a 2-core machine do not expect 2x: the replicas share the same two cores with Postgres, Redis, the
embedding service and the load generator. A second process helps as far as one gateway process is bounded
by its own event loop (one core at most) while the machine still has idle CPU; once ``machine_cpu_busy_percent``
is near 100 in the one-replica phase, a second replica can only shorten queues, not add capacity. Only a
saturated run (``--think-s 0``, enough users to keep every process busy) says anything about throughput; at
human pace both phases serve the same demand and only latency and overhead can differ. Two more differences
are the gateway's, not the machine's: each process has its own Postgres pool (``DATABASE_POOL_MAX_SIZE``) and
client connections, and a turn waits for the memory writes still in flight behind the user's previous reply
only when that reply came from the same process, so with alternating replicas and no think time the
N-replica phase skips part of a wait the one-replica phase pays (``stage_ms.mood_and_recall`` shows it).
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
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
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
CLIENT_KEEPALIVE_S = 2.0
# Longer than the gateway's wait for a user's earlier turns (CHAT_LOCK_TIMEOUT_SECONDS, 120 s by default), so a
# turn the gateway gives up on is reported with its own answer rather than as the client's timeout.
CLIENT_TIMEOUT_S = 180.0


@dataclass
class Phase:
    """What one phase (a number of gateway processes serving the same load) measured."""

    replicas: int
    user_ids: list[str]
    sent: int = 0
    wall_s: float = 0.0
    window_s: float = 0.0
    answered_in_window: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    proactive_runs: list[dict[str, Any]] = field(default_factory=list)
    processes: list[dict[str, float]] = field(default_factory=list)
    machine_cpu_busy_percent: float = 0.0
    load_generator_cpu_s: float = 0.0
    interactions: int = 0
    memories: int = 0


async def user_loop(
    clients: Sequence[httpx.AsyncClient],
    user_id: str,
    index: int,
    deadline: float,
    think_s: float,
    samples: list[Any],
) -> int:
    rng = random.Random(index)
    if think_s:
        await asyncio.sleep(rng.uniform(0, think_s))  # arrivals spread out, not a thundering herd
    sent = 0
    while time.monotonic() < deadline:
        text = MESSAGES[(index + sent) % len(MESSAGES)]
        replica = (index + sent) % len(clients)
        started = time.perf_counter()
        try:
            response = await clients[replica].post(
                f"/api/chat/{user_id}/messages", json={"message": text, "username": f"load{index}"}
            )
        except httpx.HTTPError as exc:
            samples.append({"status": 0, "replica": replica, "at": time.monotonic(), "error": repr(exc)})
            sent += 1
            continue
        e2e_ms = (time.perf_counter() - started) * 1000
        sent += 1
        if response.status_code != 200:
            samples.append(
                {
                    "status": response.status_code,
                    "replica": replica,
                    "at": time.monotonic(),
                    "error": response.text[:200],
                }
            )
        else:
            body = response.json()
            samples.append(
                {
                    "status": 200,
                    "replica": replica,
                    "at": time.monotonic(),
                    "e2e_ms": e2e_ms,
                    "overhead_ms": body["processing_ms"] - body["agent_ms"],
                    "runtime": body["runtime"],
                    "stores_reply": body["runtime"] != "template" and not body["security"]["restricted"],
                    "refused": body["runtime"] == "security",
                    "stages": body.get("timings_ms", {}),
                }
            )
        if think_s:
            await asyncio.sleep(min(rng.expovariate(1 / think_s), 4 * think_s))
    return sent


async def proactive_loop(
    clients: Sequence[httpx.AsyncClient], deadline: float, every_s: float, runs: list[Any]
) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    while time.monotonic() + every_s < deadline:
        await asyncio.sleep(every_s)
        started = time.perf_counter()
        replica = len(runs) % len(clients)
        response = await clients[replica].post(f"/api/admin/jobs/{PROACTIVE_JOB}/run", headers=headers)
        runs.append(
            {
                "status": response.status_code,
                "replica": replica,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        )


async def warm_up(client: httpx.AsyncClient, prefix: str) -> None:
    """One turn of each canned message, each from its own user (first contact, embeddings, model calls)."""
    responses = await asyncio.gather(
        *(
            client.post(f"/api/chat/{prefix}-{i}/messages", json={"message": text, "username": "warmup"})
            for i, text in enumerate(MESSAGES)
        )
    )
    for response in responses:
        response.raise_for_status()


async def run_phase(
    args: argparse.Namespace, stack: Any, llm: FakeLLM, replicas: int, user_prefix: str
) -> Phase:
    """``replicas`` gateway processes on ``stack`` serving ``args.users`` users for ``args.minutes``."""
    phase = Phase(replicas, [f"{user_prefix}-{i}" for i in range(args.users)])
    ports = [free_port() for _ in range(replicas)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for replica, port in enumerate(ports):
            env = gateway_env(stack, llm.base_url, port, "direct", None)
            # The benchmark triggers the proactive job itself, on its own clock.
            env["SCHEDULER_ENABLED"] = "false"
            log_path = Path(stack.home) / f"gateway-{user_prefix}-{replica}.log"
            processes.append(start_gateway(env, log_path))
        base_urls = [f"http://127.0.0.1:{port}" for port in ports]
        await asyncio.gather(*(wait_ready(url, p) for url, p in zip(base_urls, processes, strict=True)))
        gateways = [psutil.Process(p.pid) for p in processes]
        rss_start = [g.memory_info().rss / 2**20 for g in gateways]
        headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
        # Idle connections are dropped before uvicorn's own keep-alive timeout (5 s) closes them, as a load
        # balancer in front of replicas must be set up: at the same 5 s, a request sent on a connection the
        # server is closing fails (ReadError), and with turns spread over replicas connections idle that long.
        limits = httpx.Limits(max_connections=args.users + 10, keepalive_expiry=CLIENT_KEEPALIVE_S)
        async with AsyncExitStack() as clients_cm:
            clients = [
                await clients_cm.enter_async_context(
                    httpx.AsyncClient(base_url=url, headers=headers, timeout=CLIENT_TIMEOUT_S, limits=limits)
                )
                for url in base_urls
            ]
            await asyncio.gather(
                *(warm_up(client, f"warmup-{user_prefix}-{r}") for r, client in enumerate(clients))
            )
            cpu_start = [_cpu_s(g) for g in gateways]
            own_cpu_start = _cpu_s(psutil.Process())
            psutil.cpu_percent(interval=None)  # starts the machine-wide measurement window
            started = time.monotonic()
            deadline = started + args.minutes * 60
            sent_counts, _ = await asyncio.gather(
                asyncio.gather(
                    *(
                        user_loop(clients, u, i, deadline, args.think_s, phase.samples)
                        for i, u in enumerate(phase.user_ids)
                    )
                ),
                proactive_loop(clients, deadline, args.proactive_every_s, phase.proactive_runs),
            )
            phase.wall_s = time.monotonic() - started
            phase.window_s = args.minutes * 60
            phase.answered_in_window = sum(1 for s in phase.samples if s["at"] <= deadline)
            phase.machine_cpu_busy_percent = psutil.cpu_percent(interval=None)
            phase.load_generator_cpu_s = _cpu_s(psutil.Process()) - own_cpu_start
            cpu_end = [_cpu_s(g) for g in gateways]
            # An export waits for the memory writes behind the user's replies, but only those of the process
            # it asks: with turns spread over replicas, every replica is asked.
            for user_id in phase.user_ids:
                for client in clients:
                    await client.get(f"/api/users/{user_id}/export")
        rss_end = [g.memory_info().rss / 2**20 for g in gateways]
        phase.processes = [
            {
                "replica": replica,
                "rss_start_mb": round(rss_start[replica], 1),
                "rss_end_mb": round(rss_end[replica], 1),
                "rss_growth_mb": round(rss_end[replica] - rss_start[replica], 1),
                "cpu_s": round(cpu_end[replica] - cpu_start[replica], 2),
            }
            for replica in range(replicas)
        ]
        phase.interactions, phase.memories = await count_stored(stack.database_url, phase.user_ids)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    phase.sent = sum(sent_counts)
    return phase


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _r(value: float | None) -> float:
    return round(value or 0.0, 2)


def _ok(phase: Phase) -> list[dict[str, Any]]:
    return [s for s in phase.samples if s["status"] == 200]


def _expected_memories(phase: Phase) -> int:
    return sum(0 if s["refused"] else (2 if s["stores_reply"] else 1) for s in _ok(phase))


def _meets_target(phase: Phase) -> bool:
    overhead = [s["overhead_ms"] for s in _ok(phase)]
    return (
        (percentile(overhead, 95) or 1e9) <= TARGET_OVERHEAD_P95_MS
        and len(phase.samples) == len(_ok(phase))
        and phase.sent <= phase.interactions
    )


def _stages(ok: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per stage of a turn as the gateway timed it (``timings_ms``): p50 and p95."""
    stages: dict[str, list[float]] = {}
    for sample in ok:
        for name, value in sample["stages"].items():
            stages.setdefault(name, []).append(value)
    return {
        name: {"p50": _r(percentile(values, 50)), "p95": _r(percentile(values, 95))}
        for name, values in stages.items()
    }


def single_report(args: argparse.Namespace, phase: Phase) -> dict[str, Any]:
    """One gateway process: the flat report this benchmark has always written."""
    ok = _ok(phase)
    e2e = [s["e2e_ms"] for s in ok]
    overhead = [s["overhead_ms"] for s in ok]
    expected_memories = _expected_memories(phase)
    (process,) = phase.processes
    # Proactive messages the job sent are interactions too (never to these users without a bot: recorded
    # as failed deliveries), so lost messages count only the users' own turns.
    return {
        "users": args.users,
        "minutes": args.minutes,
        "llm_latency_ms": args.llm_ms,
        "think_s_mean": args.think_s,
        "turns": phase.sent,
        "turns_per_s": round(phase.sent / phase.wall_s, 2) if phase.wall_s else 0.0,
        "errors": len(phase.samples) - len(ok),
        "error_samples": [s for s in phase.samples if s["status"] != 200][:5],
        "e2e_p50_ms": _r(percentile(e2e, 50)),
        "e2e_p95_ms": _r(percentile(e2e, 95)),
        "e2e_p99_ms": _r(percentile(e2e, 99)),
        "overhead_p50_ms": _r(percentile(overhead, 50)),
        "overhead_p95_ms": _r(percentile(overhead, 95)),
        "overhead_p99_ms": _r(percentile(overhead, 99)),
        "lost_messages": max(0, phase.sent - phase.interactions),
        "interactions_stored": phase.interactions,
        "memories_stored": phase.memories,
        "memories_expected": expected_memories,
        "lost_memories": max(0, expected_memories - phase.memories),
        "rss_mb": process["rss_end_mb"],
        "rss_start_mb": process["rss_start_mb"],
        "rss_growth_mb": process["rss_growth_mb"],
        "proactive_runs": phase.proactive_runs,
        "target_overhead_p95_ms": TARGET_OVERHEAD_P95_MS,
        "meets_target": _meets_target(phase),
        "cpu_count": os.cpu_count(),
    }


def phase_report(phase: Phase) -> dict[str, Any]:
    """One phase of a scale-out run, with nested keys that say what they hold."""
    ok = _ok(phase)
    e2e = [s["e2e_ms"] for s in ok]
    overhead = [s["overhead_ms"] for s in ok]
    expected_memories = _expected_memories(phase)
    return {
        "replicas": phase.replicas,
        "turns": phase.sent,
        "turns_per_replica": [
            sum(1 for s in phase.samples if s["replica"] == r) for r in range(phase.replicas)
        ],
        "wall_seconds": round(phase.wall_s, 2),
        "turns_answered_in_time": phase.answered_in_window,
        "turns_per_second": round(phase.answered_in_window / phase.window_s, 2) if phase.window_s else 0.0,
        "latency_ms": {q: _r(percentile(e2e, p)) for q, p in (("p50", 50), ("p95", 95), ("p99", 99))},
        "overhead_ms": {q: _r(percentile(overhead, p)) for q, p in (("p50", 50), ("p95", 95), ("p99", 99))},
        "errors": len(phase.samples) - len(ok),
        "error_samples": [s for s in phase.samples if s["status"] != 200][:5],
        "lost_messages": max(0, phase.sent - phase.interactions),
        "interactions_stored": phase.interactions,
        "memories_stored": phase.memories,
        "memories_expected": expected_memories,
        "lost_memories": max(0, expected_memories - phase.memories),
        "stage_ms": _stages(ok),
        "gateway_processes": phase.processes,
        "machine_cpu_busy_percent": round(phase.machine_cpu_busy_percent, 1),
        "load_generator_cpu_s": round(phase.load_generator_cpu_s, 2),
        "proactive_runs": phase.proactive_runs,
        "meets_target": _meets_target(phase),
    }


def scale_out_report(args: argparse.Namespace, phases: Sequence[Phase]) -> dict[str, Any]:
    reports = [phase_report(phase) for phase in phases]
    one, many = reports[0], reports[-1]
    return {
        "users": args.users,
        "minutes_per_phase": args.minutes,
        "llm_latency_ms": args.llm_ms,
        "think_s_mean": args.think_s,
        "saturated": args.think_s == 0,
        "proactive_every_s": args.proactive_every_s,
        "phases": reports,
        "throughput_ratio": round(many["turns_per_second"] / one["turns_per_second"], 3)
        if one["turns_per_second"]
        else None,
        "target_overhead_p95_ms": TARGET_OVERHEAD_P95_MS,
        "cpu_count": os.cpu_count(),
    }


async def run(args: argparse.Namespace, stack: Any, llm: FakeLLM) -> dict[str, Any]:
    if args.replicas == 1:
        return single_report(args, await run_phase(args, stack, llm, 1, "load"))
    phases = [
        await run_phase(args, stack, llm, replicas, f"load-{replicas}r") for replicas in (1, args.replicas)
    ]
    return scale_out_report(args, phases)


def summary_line(report: dict[str, Any]) -> str:
    return (
        f"load {report['users']} users x {report['minutes']:g} min (LLM {report['llm_latency_ms']:g} ms): "
        f"{report['turns']} turns ({report['turns_per_s']}/s), e2e p50 {report['e2e_p50_ms']} / p95 "
        f"{report['e2e_p95_ms']} / p99 {report['e2e_p99_ms']} ms, overhead p95 {report['overhead_p95_ms']} ms "
        f"({'meets' if report['meets_target'] else 'MISSES'} {TARGET_OVERHEAD_P95_MS:g} ms), errors "
        f"{report['errors']}, lost messages {report['lost_messages']}, lost memories {report['lost_memories']}, "
        f"RSS {report['rss_start_mb']} -> {report['rss_mb']} MB"
    )


def scale_out_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"load scale-out {report['users']} users x {report['minutes_per_phase']:g} min per phase "
        f"(LLM {report['llm_latency_ms']:g} ms, think {report['think_s_mean']:g} s"
        f"{', saturated' if report['saturated'] else ''}): throughput x{report['throughput_ratio']}"
    ]
    for phase in report["phases"]:
        rss = ", ".join(f"{p['rss_start_mb']} -> {p['rss_end_mb']}" for p in phase["gateway_processes"])
        lines.append(
            f"  {phase['replicas']} replica(s): {phase['turns']} turns ({phase['turns_per_second']}/s), "
            f"latency p50 {phase['latency_ms']['p50']} / p95 {phase['latency_ms']['p95']} ms, overhead p50 "
            f"{phase['overhead_ms']['p50']} / p95 {phase['overhead_ms']['p95']} ms, errors {phase['errors']}, "
            f"lost messages {phase['lost_messages']}, machine CPU {phase['machine_cpu_busy_percent']} %, "
            f"RSS MB {rss}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=2.0, help="per phase")
    parser.add_argument("--llm-ms", type=float, default=800.0)
    parser.add_argument(
        "--think-s", type=float, default=20.0, help="mean pause between a reply and the next (0: saturate)"
    )
    parser.add_argument("--proactive-every-s", type=float, default=30.0)
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="gateway processes; above 1, a phase with one process is measured first in the same run",
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.replicas < 1 or args.think_s < 0:
        parser.error("--replicas must be at least 1 and --think-s at least 0")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with ExitStack() as stack_cm:
        stack = stack_cm.enter_context(local_stack())
        llm = stack_cm.enter_context(FakeLLM(latency_seconds=args.llm_ms / 1000))
        report = asyncio.run(run(args, stack, llm))
    print("\n".join(scale_out_lines(report)) if "phases" in report else summary_line(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
