"""Vector search alone (no scoring) for one user, pgvector and Qdrant's local mode, at growing sizes.

    python -m benchmarks.vector_index [--sizes 1000 10000 100000] [--other-users 50] [--other-memories 200]
        [--distribution structured|random] [--queries 200] [--qdrant-queries 30] [--limit 10] [--json PATH]
        [--no-qdrant]

One user holds ``size`` memories; ``other-users`` users hold ``other-memories`` each in the same space,
so the user filter is real. Per size it measures, over ``queries`` queries after a warm-up:

- pgvector ``search`` as production runs it (the adaptive plan: exact scan or HNSW walk), its p50/p95
  and recall@limit against the exact answer; the exact scan alone; the HNSW walk alone at the ef_search
  the plan's formula gives (so the approximate path is measured even where the plan would not take it);
- ingest: rows/s inserted into a table with the live HNSW index (batches of 50, like the memory
  service), and the time to build the index over the whole table (bulk loads build it afterwards);
- Qdrant local mode (``AsyncQdrantClient(":memory:")``): upsert points/s, search p50/p95 and recall.
  Local mode is exact brute force in Python, not the server's HNSW: it is the fallback-free embedded
  option and a correctness reference, not a prediction of a Qdrant server's latency.

Vectors are 384-d unit vectors. ``random``: uniform on the sphere, the worst case for any graph index
(no structure at all). ``structured`` (default): a Gaussian with an exponentially decaying spectrum plus a
small isotropic floor around a common direction, fitted to all-MiniLM-L6-v2 embeddings of LoCoMo turns
(50/80/90/95% of variance in 4/10/15/23 dimensions vs 6/12/15/32 for the real ones; mean pairwise cosine
0.35 vs 0.34), so graph recall here is close to what real memories get, slightly pessimistic.

Postgres is a throw-away embedded cluster (scripts.localstack.EmbeddedPostgres) in a temporary directory,
default settings except ``maintenance_work_mem = 1GB`` for index builds; everything runs on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt
from pgvector.asyncpg import register_vector

from gateway.integrations.qdrant import QdrantIndex
from gateway.memory.index import EmbeddingSpace, IndexPoint, VectorHit
from gateway.memory.pgvector_index import (
    DEFAULT_MIN_EF_SEARCH,
    DEFAULT_OVERSAMPLE,
    EF_SEARCH_MAX,
    EXACT_SCAN_MAX_FLOATS,
    PgVectorIndex,
)
from gateway.memory.pgvector_repository import hnsw_index_name
from gateway.migrator import apply_migrations
from scripts.localstack import EmbeddedPostgres, free_port

DIMS = 384
SPACE = EmbeddingSpace("bench-minilm", DIMS)
WARMUP_QUERIES = 20
INGEST_BATCH = 50
LOAD_BATCH = 5000
QDRANT_BATCH = 500
# The "structured" distribution, fitted to MiniLM embeddings of LoCoMo turns (see the docstring).
SPECTRUM_DECAY = 5.0
SPECTRUM_FLOOR = 0.0005
MEAN_DIRECTION_WEIGHT = 0.7

Vectors = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]


class VectorSource:
    """Unit vectors of one distribution, reproducible from the seed."""

    def __init__(self, distribution: str, seed: int = 7) -> None:
        self.distribution = distribution
        self.rng = np.random.default_rng(seed)
        basis, _ = np.linalg.qr(self.rng.standard_normal((DIMS, DIMS)))
        self.basis: Floats = basis
        variance = np.exp(-np.arange(DIMS) / SPECTRUM_DECAY) + SPECTRUM_FLOOR
        self.scale: Floats = np.sqrt(variance)
        self.mean: Floats = MEAN_DIRECTION_WEIGHT * basis[:, -1] * np.sqrt(variance.sum())

    def take(self, n: int) -> Vectors:
        z = self.rng.standard_normal((n, DIMS))
        x = z if self.distribution == "random" else self.mean + (z * self.scale) @ self.basis.T
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)


async def _load(conn: asyncpg.Connection, user_id: str, vectors: Vectors, start: int = 0) -> None:
    """Bulk rows by COPY (binary), the way a migration or an import would write them."""
    now = datetime.now(UTC)
    for offset in range(0, len(vectors), LOAD_BATCH):
        chunk = vectors[offset : offset + LOAD_BATCH]
        await conn.copy_records_to_table(
            "memories",
            columns=[
                "id",
                "user_id",
                "memory_type",
                "content",
                "embedding",
                "embedding_model",
                "embedding_dims",
                "indexed_at",
                "created_at",
            ],
            records=[
                (
                    uuid.uuid4(),
                    user_id,
                    "episodic",
                    f"memory {start + offset + i}",
                    v,
                    SPACE.model,
                    DIMS,
                    now,
                    now,
                )
                for i, v in enumerate(chunk)
            ],
        )


async def _ingest_through_index(conn: asyncpg.Connection, user_id: str, vectors: Vectors) -> float:
    """Rows/s for INSERTs (batches of 50) into the table with its live HNSW index."""
    started = time.perf_counter()
    for offset in range(0, len(vectors), INGEST_BATCH):
        chunk = vectors[offset : offset + INGEST_BATCH]
        await conn.executemany(
            """
            INSERT INTO memories (user_id, memory_type, content, embedding, embedding_model, embedding_dims)
            VALUES ($1, 'episodic', 'ingested', $2, $3, $4)
            """,
            [(user_id, v, SPACE.model, DIMS) for v in chunk],
        )
    return len(vectors) / (time.perf_counter() - started)


def _percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return round(statistics.median(ms), 3), round(p95, 3)


def _recall(got: Sequence[VectorHit], truth: Sequence[VectorHit]) -> float:
    if not truth:
        return 1.0
    return len({h.memory_id for h in got} & {h.memory_id for h in truth}) / len(truth)


async def _timed(
    queries: Vectors, call: Callable[[list[float]], Awaitable[list[VectorHit]]], warmup: int = WARMUP_QUERIES
) -> tuple[list[float], list[list[VectorHit]]]:
    """Runs the first ``warmup`` queries untimed, then times each of the rest."""
    for query in queries[:warmup]:
        await call(query.tolist())
    times, answers = [], []
    for query in queries[warmup:]:
        as_list = query.tolist()
        started = time.perf_counter()
        answers.append(await call(as_list))
        times.append(time.perf_counter() - started)
    return times, answers


async def _points(conn: asyncpg.Connection) -> list[tuple[uuid.UUID, str, Vectors]]:
    rows = await conn.fetch(
        "SELECT id, user_id, embedding::real[] AS v FROM memories WHERE embedding_model = $1", SPACE.model
    )
    return [(row["id"], row["user_id"], np.asarray(row["v"], dtype=np.float32)) for row in rows]


async def _qdrant_figures(
    conn: asyncpg.Connection,
    user_id: str,
    queries: Vectors,
    truth: list[list[VectorHit]],
    limit: int,
    n_queries: int,
) -> dict[str, Any]:
    """Local mode filters in Python, point by point: slow at 100k, hence fewer queries (``n_queries``)."""
    from qdrant_client import AsyncQdrantClient

    rows = await _points(conn)
    client = AsyncQdrantClient(location=":memory:")
    try:
        index = QdrantIndex(client)
        with warnings.catch_warnings():
            # Local mode says it is not meant for more than 20,000 points; measuring that is the point.
            warnings.filterwarnings("ignore", "Local mode is not recommended", UserWarning)
            await index.ensure_ready(SPACE)
            now = datetime.now(UTC)
            started = time.perf_counter()
            for offset in range(0, len(rows), QDRANT_BATCH):
                batch = rows[offset : offset + QDRANT_BATCH]
                await index.upsert(
                    SPACE, [IndexPoint(i, u, "episodic", v.tolist(), 0.5, now) for i, u, v in batch]
                )
            upsert_rate = len(rows) / (time.perf_counter() - started)
            warm = 2
            subset = queries[WARMUP_QUERIES - warm : WARMUP_QUERIES + n_queries]
            times, answers = await _timed(
                subset, lambda q: index.search(SPACE, user_id, q, limit), warmup=warm
            )
            truth = truth[: len(answers)]
    finally:
        await client.close()
    p50, p95 = _percentiles(times)
    return {
        "search_ms_p50": p50,
        "search_ms_p95": p95,
        f"recall_at_{limit}_vs_pgvector_exact": round(
            statistics.mean(_recall(a, t) for a, t in zip(answers, truth, strict=True)), 4
        ),
        "upsert_points_per_s": round(upsert_rate),
        "points": len(rows),
        "queries": len(answers),
    }


async def _pgvector_figures(
    index: PgVectorIndex, user_id: str, queries: Vectors, limit: int, share: float
) -> tuple[dict[str, Any], list[list[VectorHit]]]:
    """Adaptive search, exact scan and HNSW walk over the same queries; the exact answers are the truth."""
    plan = await index.plan(SPACE, user_id, limit)
    needed = int(np.ceil(limit * index.oversample / share))
    walk_ef = min(EF_SEARCH_MAX, max(index.min_ef_search, limit, needed))

    async def exact(q: list[float]) -> list[VectorHit]:
        return await index.search_exact(SPACE, user_id, q, limit)

    async def adaptive(q: list[float]) -> list[VectorHit]:
        return await index.search(SPACE, user_id, q, limit)

    async def walk(q: list[float]) -> list[VectorHit]:
        return await index.search_hnsw(SPACE, user_id, q, limit, walk_ef)

    exact_t, truth = await _timed(queries, exact)
    search_t, search_a = await _timed(queries, adaptive)
    walk_t, walk_a = await _timed(queries, walk)
    figures = {
        "plan_strategy": plan.strategy,
        "plan_ef_search": plan.ef_search,
        "plan_reason": plan.reason,
        "search_ms_p50": _percentiles(search_t)[0],
        "search_ms_p95": _percentiles(search_t)[1],
        f"search_recall_at_{limit}": _mean_recall(search_a, truth),
        "exact_ms_p50": _percentiles(exact_t)[0],
        "exact_ms_p95": _percentiles(exact_t)[1],
        "hnsw_ef_search": walk_ef,
        "hnsw_ms_p50": _percentiles(walk_t)[0],
        "hnsw_ms_p95": _percentiles(walk_t)[1],
        f"hnsw_recall_at_{limit}": _mean_recall(walk_a, truth),
        "hnsw_short_answers": sum(len(a) < limit for a in walk_a),
    }
    return figures, truth


async def measure_distribution(args: argparse.Namespace, distribution: str) -> list[dict[str, Any]]:
    home = Path(tempfile.mkdtemp(prefix="companion-bench-vectors-"))
    server = EmbeddedPostgres(home, free_port())
    results: list[dict[str, Any]] = []
    try:
        server.start()
        server.ensure_database("bench", "bench", "bench-password")
        server.psql("ALTER DATABASE bench SET maintenance_work_mem = '1GB';")
        dsn = server.dsn("bench", "bench", "bench-password")
        conn = await asyncpg.connect(dsn)
        await apply_migrations(conn)
        await register_vector(conn)
        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4)
        assert pool is not None
        try:
            source = VectorSource(distribution)
            user_id = "bench-user"
            others = [f"bench-other-{n}" for n in range(args.other_users)]
            await conn.executemany(
                "INSERT INTO user_profiles (user_id, username) VALUES ($1, $1)",
                [(u,) for u in [user_id, *others]],
            )
            for other in others:
                await _load(conn, other, source.take(args.other_memories))
            others_rows = args.other_users * args.other_memories
            held = 0
            for size in sorted(args.sizes):
                probe = min(500, max(1, size // 10))
                await conn.execute(f"DROP INDEX IF EXISTS {hnsw_index_name(DIMS)}")
                await _load(conn, user_id, source.take(size - probe - held), start=held)
                index = PgVectorIndex(pool)
                started = time.perf_counter()
                await index.ensure_ready(SPACE)
                build_s = time.perf_counter() - started
                await conn.execute("VACUUM ANALYZE memories")
                ingest_rate = await _ingest_through_index(conn, user_id, source.take(probe))
                held = size
                await conn.execute("VACUUM ANALYZE memories")

                queries = source.take(args.queries + WARMUP_QUERIES)
                share = size / (size + others_rows)
                pgvector, truth = await _pgvector_figures(index, user_id, queries, args.limit, share)
                pgvector["hnsw_build_s_whole_table"] = round(build_s, 2)
                pgvector["insert_rows_per_s_with_live_hnsw"] = round(ingest_rate)
                run: dict[str, Any] = {
                    "distribution": distribution,
                    "user_memories": size,
                    "other_users_memories": others_rows,
                    "user_share_of_space": round(share, 4),
                    "limit": args.limit,
                    "pgvector": pgvector,
                }
                if not args.no_qdrant:
                    run["qdrant_local"] = await _qdrant_figures(
                        conn, user_id, queries, truth, args.limit, args.qdrant_queries
                    )
                results.append(run)
                print(_run_line(run), file=sys.stderr, flush=True)
        finally:
            await pool.close()
            await conn.close()
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    return results


def _mean_recall(answers: list[list[VectorHit]], truth: list[list[VectorHit]]) -> float:
    return round(statistics.mean(_recall(a, t) for a, t in zip(answers, truth, strict=True)), 4)


def _run_line(run: dict[str, Any]) -> str:
    pg, k = run["pgvector"], run["limit"]
    line = (
        f"  {run['distribution']} {run['user_memories']:>7}: pgvector {pg['search_ms_p50']}/"
        f"{pg['search_ms_p95']} ms ({pg['plan_strategy']}, recall {pg[f'search_recall_at_{k}']}); "
        f"exact {pg['exact_ms_p50']}/{pg['exact_ms_p95']}; hnsw@{pg['hnsw_ef_search']} {pg['hnsw_ms_p50']}/"
        f"{pg['hnsw_ms_p95']} recall {pg[f'hnsw_recall_at_{k}']}; build {pg['hnsw_build_s_whole_table']} s; "
        f"insert {pg['insert_rows_per_s_with_live_hnsw']}/s"
    )
    if "qdrant_local" in run:
        q = run["qdrant_local"]
        line += f"; qdrant-local {q['search_ms_p50']}/{q['search_ms_p95']} ms, upsert {q['upsert_points_per_s']}/s"
    return line


def summary(runs: list[dict[str, Any]]) -> str:
    parts = []
    for run in runs:
        pg, k = run["pgvector"], run["limit"]
        part = f"{run['user_memories']}: pgvector {pg['search_ms_p95']} ms ({pg['plan_strategy']}"
        part += f", recall@{k} {pg[f'search_recall_at_{k}']})"
        if "qdrant_local" in run:
            part += f", qdrant-local {run['qdrant_local']['search_ms_p95']} ms"
        parts.append(part)
    first = runs[0]
    return (
        f"vector search p95 for one user ({first['distribution']} {DIMS}-d, "
        f"+{first['other_users_memories']} other users' rows) — " + "; ".join(parts)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--other-users", type=int, default=50)
    parser.add_argument("--other-memories", type=int, default=200, help="memories of each other user")
    parser.add_argument("--distribution", choices=["structured", "random"], nargs="+", default=["structured"])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--qdrant-queries", type=int, default=30, help="queries for Qdrant local mode")
    parser.add_argument("--no-qdrant", action="store_true", help="skip Qdrant local mode")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args(argv)
    runs: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    for distribution in args.distribution:
        distribution_runs = asyncio.run(measure_distribution(args, distribution))
        print(summary(distribution_runs))
        runs += distribution_runs
    if args.json:
        figures = {
            "dims": DIMS,
            "queries_per_size": args.queries,
            "warmup_queries": WARMUP_QUERIES,
            # PgVectorIndex's defaults (exact_max_for without an override, min_ef_search, oversample).
            "pgvector_exact_max_vectors": EXACT_SCAN_MAX_FLOATS // DIMS,
            "pgvector_min_ef_search": DEFAULT_MIN_EF_SEARCH,
            "pgvector_oversample": DEFAULT_OVERSAMPLE,
            "postgres_maintenance_work_mem": "1GB",
            "cpu_count": os.cpu_count(),
            # Anything else running on the machine shows here (1-minute load average, before and after).
            "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "python": platform.python_version(),
            "qdrant_client": version("qdrant-client"),
            "postgres": "16 (pgserver), pgvector 0.6.2",
            "runs": runs,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
