"""Recall latency of the memory service as one user's memories grow (hybrid search + scoring + MMR).

    python -m benchmarks.retrieval [--memories 1000 10000 100000] [--index pgvector|qdrant] [--json OUT]
                                   [--embedding local|gemini] [--queries 200] [--store-sample 2000]
                                   [--other-users 10 --other-each 300]

One throw-away stack (benchmarks.harness). First a few thousand memories of other users go in, so every
query really filters by user. Then, for each size in increasing order, a new user gets that many memories:

- the first ``--store-sample`` of them through ``MemoryService.store_many`` in batches of 100 (importance
  scoring, Postgres, the embedding service, the index): ``ingest_per_s`` is measured there;
- the rest by the bulk path (``bulk_path`` in the JSON): vectors made by the same embedding service
  (``/embed``, batches of 100), rows written with their vectors by ``MemoryRepository.insert_many`` (with
  Qdrant, points upserted and rows marked indexed), then ``VACUUM (ANALYZE)``. Only the per-memory importance LLM
  call and the per-batch bookkeeping are skipped; the rows are the ones store_many would write.

Then ``--queries`` questions (embedded beforehand: ``query_embedding`` is given, so the figures are the
service's own work, not the model's) are each timed once through
``MemoryService.search(user, q, k=10, query_embedding=..., record_access=False)`` after a warm-up.
Earlier sizes' users stay in the database, so a later size also filters them out.

``--embedding gemini`` runs the embedding service with gemini-embedding-001 (``GEMINI_API_KEY`` from the
environment, as for benchmarks.locomo) instead of the local all-MiniLM-L6-v2; the report's ``embedding``
says which.

Memories are synthetic but sentence-like (templates over people, activities, places, feelings and times),
all distinct; their dates are spread over the two years before ``now``.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from benchmarks.harness import (
    EMBEDDING_PROVIDERS,
    StackError,
    embedding_in_use,
    embedding_settings,
    local_stack,
)
from benchmarks.locomo import describe_embedding, percentile

logger = logging.getLogger("benchmarks.retrieval")

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SPAN_DAYS = 730
EMBED_BATCH = 100
INSERT_CHUNK = 1000
STORE_BATCH = 100
WARMUP_QUERIES = 20
TARGETS_P95_MS = {"10000": 15.0, "100000": 50.0}

PEOPLE = [
    "my sister", "my brother", "my mum", "my dad", "grandma", "my best friend Sam", "my boss", "a coworker",
    "my neighbour", "my partner", "our landlord", "my cousin Leo", "my therapist", "the new intern",
    "my old roommate", "my daughter", "my son", "Aunt Rosa", "my piano teacher", "the dog walker",
    "my friend Priya", "my gym buddy", "the kids", "my uncle", "a stranger on the train",
]  # fmt: skip
ACTIVITIES = [
    "went hiking", "baked sourdough", "watched a horror film", "painted the fence", "played chess",
    "went to a concert", "tried a new ramen place", "cleaned out the garage", "went swimming",
    "argued about politics", "planned a road trip", "fixed the bike", "visited the museum",
    "went to a pottery class", "ran a 10k", "planted tomatoes", "did a jigsaw puzzle", "went camping",
    "cooked a curry", "went to the dentist", "had a long phone call", "went birdwatching",
    "started learning Spanish", "went to a wedding", "adopted a kitten", "repainted the bedroom",
    "went thrift shopping", "did karaoke", "went to the farmers market", "volunteered at the food bank",
]  # fmt: skip
PLACES = [
    "in the park", "at the lake", "downtown", "at home", "at the beach", "in the mountains", "at work",
    "at the library", "in Lisbon", "at the community centre", "in the old town", "near the river",
    "at the stadium", "in the garden", "at the café on the corner", "in Edinburgh", "at the mall",
    "at the cabin", "on the rooftop", "at school",
]  # fmt: skip
FEELINGS = [
    "and it was wonderful", "and I felt anxious the whole time", "and it made me really happy",
    "but honestly it was exhausting", "and I keep thinking about it", "and we laughed a lot",
    "and it was a bit awkward", "and I felt proud of myself", "but it rained the entire time",
    "and it reminded me of my childhood", "and I was bored stiff", "and it calmed me down",
    "and I cried a little", "and I want to do it again", "though I was nervous at first",
]  # fmt: skip
TIMES = [
    "Yesterday", "Last weekend", "This morning", "On Tuesday", "Last night", "A few weeks ago",
    "On my birthday", "Over the holidays", "Last summer", "On Friday evening", "Two days ago",
    "During the heatwave", "After work", "On Sunday", "Last month",
]  # fmt: skip
TEMPLATES = [
    "{time} {person} and I {activity} {place}, {feeling}.",
    "{time} I {activity} {place} with {person} {feeling}.",
    "I told {person} that I {activity} {place} {time_lower}, {feeling}.",
    "{time} {person} {activity} {place} without me {feeling}.",
    "Note to self: {person} {activity} {place} {time_lower} {feeling}.",
    "{time} I finally {activity} {place}; {person} came along {feeling}.",
]
QUESTIONS = [
    "What did I do with {person}?",
    "When did I last {activity_base}?",
    "What happened {place}?",
    "How did I feel when I {activity}?",
    "Tell me about the time {person} {activity}.",
    "Have I ever {activity} {place}?",
    "What does {person} like doing?",
    "Where did we go {time_lower}?",
]


def _base(activity: str) -> str:
    """'went hiking' -> 'go hiking' (good enough for a question)."""
    return activity.replace("went ", "go ", 1).replace("had ", "have ", 1).replace("did ", "do ", 1)


def synthetic_memories(n: int, seed: int) -> list[str]:
    """``n`` distinct sentence-like memories (a seeded walk over every slot combination)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        time_ = rng.choice(TIMES)
        text = rng.choice(TEMPLATES).format(
            time=time_,
            time_lower=time_[0].lower() + time_[1:],
            person=rng.choice(PEOPLE),
            activity=rng.choice(ACTIVITIES),
            place=rng.choice(PLACES),
            feeling=rng.choice(FEELINGS),
        )
        text = text[0].upper() + text[1:]
        if text in seen:  # ~16M combinations; make the rare repeat distinct rather than retry forever
            text = f"{text} (again, #{len(out)})"
        seen.add(text)
        out.append(text)
    return out


def synthetic_queries(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        time_ = rng.choice(TIMES)
        activity = rng.choice(ACTIVITIES)
        out.append(
            rng.choice(QUESTIONS).format(
                person=rng.choice(PEOPLE),
                activity=activity,
                activity_base=_base(activity),
                place=rng.choice(PLACES),
                time_lower=time_[0].lower() + time_[1:],
            )
        )
    return out


def random_dates(n: int, seed: int) -> list[datetime]:
    rng = random.Random(seed)
    return sorted(NOW - timedelta(seconds=rng.uniform(3600, SPAN_DAYS * 86400)) for _ in range(n))


# --- ingesting ----------------------------------------------------------------------------------------------


async def add_user(service: Any, user_id: str) -> None:
    await service.pool.execute(
        "INSERT INTO user_profiles (user_id, username) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        user_id,
        user_id,
    )


async def store_through_service(
    service: Any, user_id: str, texts: Sequence[str], dates: Sequence[datetime]
) -> float:
    """store_many in batches of STORE_BATCH; returns seconds."""
    from gateway.memory.service import MemoryInput

    started = time.perf_counter()
    for start in range(0, len(texts), STORE_BATCH):
        items = [
            MemoryInput(content=text, created_at=date)
            for text, date in zip(
                texts[start : start + STORE_BATCH], dates[start : start + STORE_BATCH], strict=True
            )
        ]
        await service.store_many(user_id, items)
    return time.perf_counter() - started


async def bulk_insert(
    service: Any, user_id: str, texts: Sequence[str], dates: Sequence[datetime], progress: str = ""
) -> dict[str, float]:
    """Rows with vectors made beforehand, written as store_many writes them: insert_many with the vectors (and,
    for an index outside Postgres, upsert + mark_indexed)."""
    from gateway.memory.index import IndexPoint
    from gateway.memory.repository import MemoryRepository, NewMemory, StoredVector

    if not texts:
        return {"embed_s": 0.0, "write_s": 0.0}
    embed_s = write_s = 0.0
    ready = False
    for start in range(0, len(texts), INSERT_CHUNK):
        chunk = list(texts[start : start + INSERT_CHUNK])
        t0 = time.perf_counter()
        vectors: list[list[float]] = []
        space = None
        for b in range(0, len(chunk), EMBED_BATCH):
            embedded = await service.embedding.embed_documents(chunk[b : b + EMBED_BATCH])
            vectors += embedded.vectors
            space = embedded.space
        t1 = time.perf_counter()
        assert space is not None
        if not ready:
            await service.index.ensure_ready(space)
            ready = True
        rows = []
        for i, text in enumerate(chunk):
            scored = await service.scorer.score(text, "user")
            rows.append(
                NewMemory(
                    id=uuid4(),
                    user_id=user_id,
                    memory_type="episodic",
                    content=text,
                    speaker="user",
                    importance=float(scored.value),
                    importance_source=str(scored.source),
                    created_at=dates[start + i],
                )
            )
        ids = [row.id for row in rows]
        # As store_many writes them: with pgvector the row's vector is its index entry (indexed now); another
        # index gets the points, then the rows are stamped.
        in_postgres = service.index.in_postgres
        indexed_at = datetime.now(UTC) if in_postgres else None
        async with service.pool.acquire() as conn, conn.transaction():
            await MemoryRepository(conn).insert_many(
                rows, [StoredVector(vector, space, indexed_at) for vector in vectors]
            )
        if not in_postgres:
            points = [
                IndexPoint(row.id, user_id, row.memory_type, vector, row.importance, row.created_at)
                for row, vector in zip(rows, vectors, strict=True)
            ]
            await service.index.upsert(space, points)
            async with service.pool.acquire() as conn:
                await MemoryRepository(conn).mark_indexed(user_id, ids, datetime.now(UTC))
        write_s += time.perf_counter() - t1
        embed_s += t1 - t0
        if progress and (start // INSERT_CHUNK) % 10 == 9:
            done = start + len(chunk)
            print(f"  {progress}: {done}/{len(texts)} bulk rows ({embed_s:.0f} s embedding, {write_s:.0f} s writing)",
                  file=sys.stderr, flush=True)  # fmt: skip
    return {"embed_s": embed_s, "write_s": write_s}


# --- measuring ----------------------------------------------------------------------------------------------


async def measure(service: Any, user_id: str, queries: Sequence[Any], k: int) -> dict[str, Any]:
    """One timed search per query (query vectors given), after WARMUP_QUERIES untimed ones."""
    latencies: list[float] = []
    returned: list[int] = []
    degraded: set[str] = set()
    for i, (text, embedding) in enumerate(queries):
        t0 = time.perf_counter()
        outcome = await service.search(
            user_id, text, k=k, now=NOW, query_embedding=embedding, record_access=False
        )
        elapsed = (time.perf_counter() - t0) * 1000
        degraded.update(outcome.degraded)
        if i >= WARMUP_QUERIES:
            latencies.append(elapsed)
            returned.append(len(outcome.results))
    return {
        "queries": len(latencies),
        "p50_ms": round(percentile(latencies, 50) or 0.0, 2),
        "p95_ms": round(percentile(latencies, 95) or 0.0, 2),
        "p99_ms": round(percentile(latencies, 99) or 0.0, 2),
        "mean_ms": round(sum(latencies) / len(latencies), 2),
        "results_per_query_min": min(returned),
        "degraded": sorted(degraded),
    }


async def breakdown(service: Any, user_id: str, queries: Sequence[Any], k: int) -> dict[str, Any]:
    """Where a search spends its time: every repository query and the vector index search it makes, timed
    inside real ``search`` calls (benchmarks.harness.CallProbe), p50 / p95 ms per query for each.

    ``rest_ms`` is the search's time minus those calls: Python scoring, MMR and result building; it reads
    low (even negative) when the full-text query and the vector search overlap, as they run concurrently.
    """
    from benchmarks.harness import CallProbe
    from gateway.memory.repository import MemoryRepository

    names = [n for n in vars(MemoryRepository) if not n.startswith("_") and inspect.iscoroutinefunction(
        getattr(MemoryRepository, n))]  # fmt: skip
    per_label: dict[str, list[float]] = {}
    rest: list[float] = []
    lexical_hits: list[int] = []
    with CallProbe([(MemoryRepository, n) for n in names] + [(service.index, "search")]) as probe:
        for i, (text, embedding) in enumerate(queries):
            probe.reset()
            t0 = time.perf_counter()
            await service.search(user_id, text, k=k, now=NOW, query_embedding=embedding, record_access=False)
            total = (time.perf_counter() - t0) * 1000
            if i < WARMUP_QUERIES:
                continue
            sums: dict[str, float] = {}
            for label, ms, result in probe.calls:
                sums[label] = sums.get(label, 0.0) + ms
                if label.endswith("fulltext_search") and isinstance(result, list):
                    lexical_hits.append(len(result))
            for label, ms in sums.items():
                per_label.setdefault(label, []).append(ms)
            rest.append(total - sum(sums.values()))
    measured = len(queries) - WARMUP_QUERIES
    out: dict[str, Any] = {}
    for label, values in sorted(per_label.items(), key=lambda item: -sum(item[1])):
        values += [0.0] * (measured - len(values))  # queries that did not make this call
        out[f"{label}_ms"] = {"p50": _r(percentile(values, 50)), "p95": _r(percentile(values, 95))}
    out["rest_ms"] = {"p50": _r(percentile(rest, 50)), "p95": _r(percentile(rest, 95))}
    if lexical_hits:
        out["fulltext_hits_mean"] = round(sum(lexical_hits) / len(lexical_hits), 1)
    return out


def _r(value: float | None) -> float:
    return round(value or 0.0, 2)


async def vector_plan(service: Any, user_id: str, space: Any, k: int) -> str | None:
    plan = getattr(service.index, "plan", None)
    if plan is None:
        return None
    n = max(service.settings.candidates, 3 * k)
    result = await plan(space, user_id, n)
    return f"{result.strategy}: {result.reason}"


async def run(args: argparse.Namespace, stack: Any) -> dict[str, Any]:
    sizes = sorted(set(args.memories))
    report: dict[str, Any] = {
        "benchmark": "retrieval",
        "index": args.index,
        "k": args.k,
        "measured": "MemoryService.search(k, query_embedding given, record_access=False): hybrid candidates "
        "(vector index + Postgres full text), scoring, MMR; one call per query, sequential",
        "targets_p95_ms": TARGETS_P95_MS,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "sizes": {},
    }
    async with stack.memory_service(index=args.index) as service:
        report["embedding"] = await embedding_in_use(service)
        # Other users first, so every search filters.
        other_texts = synthetic_memories(args.other_users * args.other_each, seed=1)
        other_dates = random_dates(len(other_texts), seed=2)
        t0 = time.perf_counter()
        for u in range(args.other_users):
            user = f"other-{u}"
            await add_user(service, user)
            part = slice(u * args.other_each, (u + 1) * args.other_each)
            await bulk_insert(service, user, other_texts[part], other_dates[part])
        report["other_users"] = {"users": args.other_users, "memories_each": args.other_each}
        print(
            f"other users: {len(other_texts)} memories in {time.perf_counter() - t0:.1f} s", file=sys.stderr
        )

        query_texts = synthetic_queries(args.queries + WARMUP_QUERIES, seed=3)
        queries = [(q, await service.embedding.embed_query(q)) for q in query_texts]
        space = queries[0][1].space

        for number, size in enumerate(sizes):
            user = f"user-{size}"
            await add_user(service, user)
            texts = synthetic_memories(size, seed=100 + number)
            dates = random_dates(size, seed=200 + number)
            sample = min(size, args.store_sample)
            # store_many measures the real write path; the bulk path fills the rest.
            store_s = await store_through_service(service, user, texts[:sample], dates[:sample])
            bulk = await bulk_insert(service, user, texts[sample:], dates[sample:], progress=f"{size}")
            # The state autovacuum keeps tables in, reached now: a vacuum of the bulk-written rows running
            # during the measurement, or a table not yet analysed, measured autovacuum's timing instead.
            for table in ("memories", "memory_words"):
                await service.pool.execute(f"VACUUM (ANALYZE) {table}")
            entry: dict[str, Any] = {
                "memories": size,
                "ingest_per_s": round(sample / store_s, 1),
                "ingest_measured_on": f"{sample} memories through store_many (batches of {STORE_BATCH})",
                "bulk_path": (
                    {
                        "memories": size - sample,
                        "embed_per_s": round((size - sample) / bulk["embed_s"], 1)
                        if bulk["embed_s"]
                        else None,
                        "write_per_s": round((size - sample) / bulk["write_s"], 1)
                        if bulk["write_s"]
                        else None,
                        "how": "vectors from the embedding service /embed, then insert_many with the vectors (and, "
                        "for an index outside Postgres, upsert + mark_indexed; no per-memory store_many)",
                    }
                    if size > sample
                    else None
                ),
            }
            total = await service.pool.fetchval("SELECT count(*) FROM memories")
            entry["database_memories"] = int(total)
            load_before = os.getloadavg()[0]
            if args.index == "pgvector":
                # A fresh service (and index object): no per-user counts cached during the ingest.
                async with stack.memory_service(index=args.index) as fresh:
                    entry["vector_plan"] = await vector_plan(fresh, user, space, args.k)
                    entry.update(await measure(fresh, user, queries, args.k))
                    entry["breakdown"] = await breakdown(fresh, user, queries, args.k)
            else:  # the in-memory Qdrant holds the points: a new client would be empty
                entry["vector_plan"] = None
                entry.update(await measure(service, user, queries, args.k))
                entry["breakdown"] = await breakdown(service, user, queries, args.k)
            # Other processes on the box skew latency: the 1-minute load average around the measurement.
            entry["loadavg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            target = TARGETS_P95_MS.get(str(size))
            if target is not None:
                entry["target_p95_ms"] = target
                entry["meets_target"] = entry["p95_ms"] <= target
            report["sizes"][str(size)] = entry
            print(
                f"{size:>7} memories: p50 {entry['p50_ms']} ms, p95 {entry['p95_ms']} ms, "
                f"store_many {entry['ingest_per_s']}/s, plan {entry['vector_plan']}\n"
                f"          breakdown {json.dumps(entry['breakdown'])}",
                file=sys.stderr,
                flush=True,
            )
    return report


def summary_line(report: dict[str, Any]) -> str:
    parts = []
    for size, entry in report["sizes"].items():
        target = entry.get("target_p95_ms")
        mark = (
            ""
            if target is None
            else (f" (≤{target:g} ok)" if entry["meets_target"] else f" (>{target:g} MISS)")
        )
        parts.append(
            f"{int(size):,}: p50 {entry['p50_ms']} / p95 {entry['p95_ms']} ms{mark}, {entry['ingest_per_s']}/s"
        )
    return f"retrieval [{report['index']}, {describe_embedding(report['embedding'])}] " + " | ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.retrieval", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--memories", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--index", choices=("pgvector", "qdrant"), default="pgvector")
    parser.add_argument(
        "--embedding",
        choices=EMBEDDING_PROVIDERS,
        default="local",
        help="the embedding service's provider: local (all-MiniLM-L6-v2) or gemini (gemini-embedding-001, "
        "GEMINI_API_KEY from the environment)",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--store-sample", type=int, default=2000, help="memories per size through store_many")
    parser.add_argument("--other-users", type=int, default=10)
    parser.add_argument("--other-each", type=int, default=300)
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.memories) or args.queries < 1:
        parser.error("sizes and --queries must be positive")
    try:
        embedding_settings(args.embedding)
    except StackError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    try:
        with local_stack(embedding=args.embedding) as stack:
            report = asyncio.run(run(args, stack))
    except StackError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(summary_line(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
