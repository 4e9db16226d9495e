"""Throughput and latency of the local embedding provider, and of the HTTP app with its Redis cache.

    python -m benchmarks.embedding_throughput [--json PATH] [--n 400] [--threads 2] [--no-http]

Texts are conversation turns from the LoCoMo data set when ../shared/data/locomo/locomo10.json is
readable (read in place, never copied), otherwise synthetic sentences. The HTTP figures run the real app
in process (httpx ASGITransport, lifespan and all) against a throw-away embedded Redis server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.data import LOCOMO
from embedding_service.app import create_app
from embedding_service.config import Settings
from embedding_service.providers import LocalProvider, Task

BATCH_SIZE = 32
WARMUP_CALLS = 10


def load_texts(n: int) -> tuple[list[str], str]:
    """``n`` distinct texts and where they came from."""
    if LOCOMO.is_file():
        seen: dict[str, None] = {}
        for sample in json.loads(LOCOMO.read_text()):
            conversation = sample.get("conversation", {})
            for key, turns in conversation.items():
                if key.startswith("session_") and isinstance(turns, list):
                    for turn in turns:
                        text = str(turn.get("text", "")).strip()
                        if text:
                            seen[text] = None
                if len(seen) >= n:
                    return list(seen)[:n], "locomo10"
    subjects = ["my sister", "the dog", "our neighbour", "my boss", "the new café", "grandma", "the band"]
    verbs = ["called about", "complained about", "was excited about", "forgot about", "kept talking about"]
    objects = [
        "the weekend trip",
        "a broken bike",
        "the tax forms",
        "a painting class",
        "the garden",
        "a job offer",
    ]
    synthetic = [f"Yesterday {subjects[i % 7]} {verbs[i % 5]} {objects[i % 6]} (note {i})." for i in range(n)]
    return synthetic, "synthetic"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def timed_calls(calls: list[Callable[[], Awaitable[Any]]]) -> tuple[float, list[float]]:
    """Run ``calls`` one after another; total seconds and each call's milliseconds."""
    latencies = []
    started = time.perf_counter()
    for call in calls:
        t0 = time.perf_counter()
        await call()
        latencies.append((time.perf_counter() - t0) * 1000)
    return time.perf_counter() - started, latencies


async def bench_provider(texts: list[str], threads: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    provider = await LocalProvider.load(threads=threads)
    load_s = time.perf_counter() - t0
    try:
        for text in texts[:WARMUP_CALLS]:
            await provider.embed([text], Task.RETRIEVAL_DOCUMENT)

        def single(text: str) -> Callable[[], Awaitable[Any]]:
            return lambda: provider.embed([text], Task.RETRIEVAL_DOCUMENT)

        def batch(chunk: list[str]) -> Callable[[], Awaitable[Any]]:
            return lambda: provider.embed(chunk, Task.RETRIEVAL_DOCUMENT)

        single_s, single_ms = await timed_calls([single(t) for t in texts])
        chunks = [texts[i : i + BATCH_SIZE] for i in range(0, len(texts), BATCH_SIZE)]
        batched_s, batched_ms = await timed_calls([batch(c) for c in chunks])
    finally:
        await provider.aclose()
    return {
        "model_load_s": round(load_s, 3),
        "single_texts_per_s": round(len(texts) / single_s, 1),
        "single_p50_ms": round(percentile(single_ms, 50), 2),
        "single_p95_ms": round(percentile(single_ms, 95), 2),
        "batched_batch_size": BATCH_SIZE,
        "batched_texts_per_s": round(len(texts) / batched_s, 1),
        "batched_p50_ms_per_batch": round(percentile(batched_ms, 50), 2),
        "batched_p95_ms_per_batch": round(percentile(batched_ms, 95), 2),
    }


@contextmanager
def temporary_redis() -> Iterator[str]:
    """A throw-away Redis server (from the embedded local stack); yields its URL."""
    from scripts.localstack import EmbeddedRedis, free_port

    password = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as home:
        server = EmbeddedRedis(Path(home), free_port())
        server.start(password)
        try:
            yield server.url(password)
        finally:
            server.stop()


async def bench_http(texts: list[str], threads: int, redis_url: str) -> dict[str, Any]:
    settings = Settings.load(env_file=None, redis_url=redis_url, local_threads=threads, environment="testing")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def post(path: str, body: dict[str, Any], expect_cached: bool) -> None:
                response = await client.post(path, json=body)
                response.raise_for_status()
                cached = response.json()["cached"]
                if (all(cached) if isinstance(cached, list) else cached) is not expect_cached:
                    raise RuntimeError(f"expected cached={expect_cached} on {path}, got {cached}")

            def single(text: str, cached: bool) -> Callable[[], Awaitable[None]]:
                return lambda: post("/embed", {"texts": [text]}, cached)

            def batch(chunk: list[str]) -> Callable[[], Awaitable[None]]:
                return lambda: post("/embed", {"texts": chunk}, True)

            miss_s, miss_ms = await timed_calls([single(t, False) for t in texts])
            hit_s, hit_ms = await timed_calls([single(t, True) for t in texts])
            chunks = [texts[i : i + BATCH_SIZE] for i in range(0, len(texts), BATCH_SIZE)]
            hit_batched_s, _ = await timed_calls([batch(c) for c in chunks])
    return {
        "http_uncached_single_texts_per_s": round(len(texts) / miss_s, 1),
        "http_uncached_single_p50_ms": round(percentile(miss_ms, 50), 2),
        "http_uncached_single_p95_ms": round(percentile(miss_ms, 95), 2),
        "http_cached_single_texts_per_s": round(len(texts) / hit_s, 1),
        "http_cached_single_p50_ms": round(percentile(hit_ms, 50), 2),
        "http_cached_single_p95_ms": round(percentile(hit_ms, 95), 2),
        "http_cached_batched_texts_per_s": round(len(texts) / hit_batched_s, 1),
    }


async def run(n: int, threads: int, http: bool) -> dict[str, Any]:
    import onnxruntime

    texts, source = load_texts(n)
    results: dict[str, Any] = {
        "provider": "local",
        "model": "all-MiniLM-L6-v2 (int8 ONNX)",
        "dimensions": 384,
        "n_texts": len(texts),
        "text_source": source,
        "mean_text_chars": round(statistics.fmean(len(t) for t in texts), 1),
        "intra_op_threads": threads,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
    }
    results.update(await bench_provider(texts, threads))
    if http:
        try:
            with temporary_redis() as redis_url:
                results.update(await bench_http(texts, threads, redis_url))
        except Exception as exc:  # the HTTP figures are optional; say why they are missing
            results["http_skipped_because"] = f"{type(exc).__name__}: {exc}"
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument("--n", type=int, default=400, help="number of distinct texts (default 400)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP + Redis cache figures")
    args = parser.parse_args(argv)

    results = asyncio.run(run(args.n, args.threads, not args.no_http))
    summary = (
        f"local embeddings, {results['n_texts']} {results['text_source']} texts, {args.threads} threads: "
        f"single {results['single_texts_per_s']}/s (p50 {results['single_p50_ms']} ms, "
        f"p95 {results['single_p95_ms']} ms), batched x{BATCH_SIZE} {results['batched_texts_per_s']}/s"
    )
    if "http_cached_single_p50_ms" in results:
        summary += (
            f"; HTTP miss p50 {results['http_uncached_single_p50_ms']} ms, "
            f"hit p50 {results['http_cached_single_p50_ms']} ms"
        )
    print(summary)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
