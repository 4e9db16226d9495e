"""How long the embedded local stack takes to be ready: cold (a new state directory) and warm (restart).

    python -m benchmarks.stack_startup [--runs 3] [--json PATH]

"Ready" means `LocalStack.up()` returned, i.e. the gateway's /health answered, and then /health/ready
reports every dependency ok. Cold runs include initdb, role and database creation, migrations and the
model load; warm runs reuse the data directory. Install time (`make install`) is not included.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from scripts.localstack import LocalStack, StackConfig, isolated_env


def _config(home: Path) -> StackConfig:
    return StackConfig.from_env(isolated_env(home, os.environ))


def _timed_up(stack: LocalStack) -> tuple[float, float]:
    """Seconds until up() returned, and until /health/ready said ok."""
    started = time.perf_counter()
    stack.up()
    up_s = time.perf_counter() - started
    ready = httpx.get(stack.gateway.base_url + "/health/ready", timeout=30).json()
    if ready["status"] != "ok":
        raise RuntimeError(f"stack came up degraded: {ready}")
    return up_s, time.perf_counter() - started


def _stop_timed(stack: LocalStack) -> float:
    started = time.perf_counter()
    stack.down()
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, Any]:
    cold_ready: list[float] = []
    warm_ready: list[float] = []
    stops: list[float] = []
    for _ in range(runs):
        home = Path(tempfile.mkdtemp(prefix="companion-bench-"))
        try:
            stack = LocalStack(_config(home / ".companion"))
            try:
                cold_ready.append(_timed_up(stack)[1])
                stops.append(_stop_timed(stack))
                warm_ready.append(_timed_up(stack)[1])
            finally:
                stops.append(_stop_timed(stack))
        finally:
            shutil.rmtree(home, ignore_errors=True)
    return {
        "runs": runs,
        "cold_start_to_ready_s_median": round(statistics.median(cold_ready), 3),
        "cold_start_to_ready_s_max": round(max(cold_ready), 3),
        "warm_restart_to_ready_s_median": round(statistics.median(warm_ready), 3),
        "warm_restart_to_ready_s_max": round(max(warm_ready), 3),
        "stop_all_s_median": round(statistics.median(stops), 3),
        "stop_all_s_max": round(max(stops), 3),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args(argv)
    figures = measure(args.runs)
    print(
        f"stack startup over {args.runs} runs: cold {figures['cold_start_to_ready_s_median']} s, "
        f"warm {figures['warm_restart_to_ready_s_median']} s, stop {figures['stop_all_s_median']} s (medians)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
