"""Prompt-injection detection: precision, recall, F1 and false-positive rate of the real detector.

    python -m benchmarks.injection [--data PATH] [--layers rules,semantic,llm] [--threshold 0.7] [--json OUT]

Reads JSONL rows with ``text``, ``label`` ("attack" or "benign") and ``source`` (any other field is
ignored; rows without those are skipped and counted). The detector is the gateway's own
(``gateway.security.detector.Detector``); the semantic layer embeds with the real embedding service (local
provider) of a throw-away local stack.

Latency: ``detection`` is normalisation + rules + semantic scoring + fusion for one message, timed per
message, *excluding* the embedding call; the embedding call is measured apart (one message per request,
on a sample) and reported as ``embedding_ms``. The texts for the semantic layer are embedded in batches
first so the detection loop is not slowed by HTTP.

Held-out checks of the fusion (``benchmarks/train_injection.py`` fits it the same way for the shipped model):
``--loso`` scores each source with a fusion fitted on the other shippable sources and the project's corpus,
calibrated on those held-out scores (the figure the detector is judged by); ``--cv K`` refits it on K-1 folds
that hold out whole groups (a row's ``source`` with its ``group`` and ``subset``: a conversation, a forum, an
attack technique) and scores the K-th. Both flag at the configured threshold.

The llm layer needs ``GROQ_API_KEY``; without it the layer is reported as skipped.
The data file is read in place (its licenses forbid copying it); any file in that layout works.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.data import INJECTION_DEV, INJECTION_EXTRA
from gateway.runtime import limit_blas_threads
from gateway.security.schemas import Layer

logger = logging.getLogger("benchmarks.injection")

EMBED_BATCH = 64
EMBED_LATENCY_SAMPLE = 100
CV_CHAT_SOURCE = "locomo_turns"  # the companion's own chat: the false positives users feel
CV_SEED = 7


@dataclass(frozen=True)
class Row:
    text: str
    attack: bool
    source: str
    group: str = ""  # the row's group and subset, when given: the unit a cross-validation fold holds out


@dataclass(frozen=True)
class Outcome:
    row: Row
    flagged: bool
    confidence: float
    detection_ms: float
    features: tuple[float, ...] = ()
    rule_features: tuple[float, ...] = ()  # the features without the semantic layer (the rules-only head's)
    floor: float = 0.0  # the detector's least confidence for this text (detector.confidence_floor)


def load_rows(path: Path) -> tuple[list[Row], int]:
    """The usable rows of a JSONL file and how many lines were skipped (bad JSON or missing fields)."""
    rows: list[Row] = []
    skipped = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                skipped += 1
                continue
            if not isinstance(item, dict):
                skipped += 1
                continue
            text, label, source = item.get("text"), item.get("label"), item.get("source")
            if not isinstance(text, str) or label not in ("attack", "benign"):
                skipped += 1
                continue
            group = "/".join(str(item[key]) for key in ("group", "subset") if item.get(key) is not None)
            rows.append(Row(text, label == "attack", str(source) if source is not None else "unknown", group))
    return rows, skipped


def parse_layers(value: str) -> frozenset[Layer]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    try:
        layers = frozenset(Layer(name) for name in names)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"layers are a comma-separated subset of {[x.value for x in Layer]}"
        ) from None
    if Layer.RULES not in layers:
        raise argparse.ArgumentTypeError("the rules layer always runs; include 'rules'")
    return layers


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def metrics(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    tp = sum(1 for o in outcomes if o.row.attack and o.flagged)
    fn = sum(1 for o in outcomes if o.row.attack and not o.flagged)
    fp = sum(1 for o in outcomes if not o.row.attack and o.flagged)
    tn = sum(1 for o in outcomes if not o.row.attack and not o.flagged)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = (
        round(2 * precision * recall / (precision + recall), 4)
        if precision is not None and recall is not None and precision + recall > 0
        else None
    )
    return {
        "n": len(outcomes),
        "attacks": tp + fn,
        "benign": fp + tn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_positive_rate": _ratio(fp, fp + tn),
    }


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 3)


def metrics_by_source(outcomes: Sequence[Outcome]) -> dict[str, dict[str, Any]]:
    by_source: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_source[outcome.row.source].append(outcome)
    return {source: metrics(items) for source, items in sorted(by_source.items())}


def summarize(outcomes: Sequence[Outcome], extra: dict[str, Any]) -> dict[str, Any]:
    latencies = [o.detection_ms for o in outcomes]
    return {
        "overall": metrics(outcomes),
        "by_source": metrics_by_source(outcomes),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "max_ms": percentile(latencies, 100),
        **extra,
    }


def fold_of(outcomes: Sequence[Outcome], k: int, seed: int = CV_SEED) -> list[int]:
    """A fold per row: whole groups are assigned round-robin within each source, after a seeded shuffle."""
    import random

    groups = sorted({(o.row.source, o.row.group) for o in outcomes})
    random.Random(seed).shuffle(groups)
    seen: dict[str, int] = defaultdict(int)
    assign: dict[tuple[str, str], int] = {}
    for group in groups:
        assign[group] = seen[group[0]] % k
        seen[group[0]] += 1
    return [assign[(o.row.source, o.row.group)] for o in outcomes]


def fit_fusion(outcomes: Sequence[Outcome]) -> Any:
    """The fusion fitted on ``outcomes`` as the shipped one is (``benchmarks.train_injection``)."""
    from benchmarks.train_injection import fit_fusion as fit

    return fit(outcomes)


def rescored(outcome: Outcome, fusion: Any, threshold: float) -> Outcome:
    """``outcome`` as scored by another ``fusion`` (one fitted without it)."""
    from gateway.security.fusion import sigmoid

    confidence = max(outcome.floor, sigmoid(fusion.z(outcome.features)))
    return replace(outcome, flagged=confidence >= threshold, confidence=confidence)


def cross_validate(outcomes: Sequence[Outcome], k: int, threshold: float) -> tuple[list[Outcome], list[str]]:
    """Held-out outcomes (each row scored by a fusion fitted without its fold) and each fold's weights."""
    folds = fold_of(outcomes, k)
    held: list[Outcome | None] = [None] * len(outcomes)
    described: list[str] = []
    for fold in range(k):
        train = [o for o, f in zip(outcomes, folds, strict=True) if f != fold]
        if not train or all(f != fold for f in folds):
            continue
        fusion = fit_fusion(train)
        described.append(f"fold {fold}: {fusion.describe()}")
        for index, (o, f) in enumerate(zip(outcomes, folds, strict=True)):
            if f == fold:
                held[index] = rescored(o, fusion, threshold)
    return [o for o in held if o is not None], described


def leave_one_source_out(outcomes: Sequence[Outcome], threshold: float) -> dict[str, Any]:
    """Each source scored by a fusion fitted on the other shippable sources and the project's corpus (rows of
    ``outcomes`` too), calibrated as the shipped one is (``benchmarks.train_injection``): how the detector
    does on a kind of text it was never fitted on. Per-source metrics (the corpus left out), the mean recall
    over attack sources, the worst benign FPR, and the FPR on the companion chat source."""
    from benchmarks.train_injection import train

    _, report = train(outcomes, threshold)
    figures: dict[str, Any] = report["leave_one_source_out"]
    return figures


def loso_figures(held: Sequence[Outcome]) -> dict[str, Any]:
    """Per-source metrics of held-out outcomes, and the figures the issue is judged by."""
    per_source = metrics_by_source(held)
    attack_recalls = [m["recall"] for m in per_source.values() if m["attacks"] and m["recall"] is not None]
    benign_fprs = {s: m["false_positive_rate"] for s, m in per_source.items() if m["benign"]}
    return {
        "by_source": per_source,
        "mean_attack_recall": round(statistics.fmean(attack_recalls), 4) if attack_recalls else None,
        "worst_benign_fpr": max(benign_fprs.values(), default=None),
        "worst_benign_source": max(benign_fprs, key=lambda s: benign_fprs[s] or 0.0) if benign_fprs else None,
        "chat_fpr": benign_fprs.get(CV_CHAT_SOURCE),
    }


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.4f}"


def _table(overall: dict[str, Any] | None, by_source: dict[str, Any]) -> list[str]:
    lines = [f"{'source':<22} {'n':>6} {'precision':>9} {'recall':>7} {'f1':>7} {'fpr':>7}"]
    rows = [("OVERALL", overall)] if overall is not None else []
    for name, m in [*rows, *by_source.items()]:
        lines.append(
            f"{name:<22} {m['n']:>6} {_fmt(m['precision']):>9} {_fmt(m['recall']):>7} {_fmt(m['f1']):>7} "
            f"{_fmt(m['false_positive_rate']):>7}"
        )
    return lines


def report(summary: dict[str, Any]) -> str:
    lines = _table(summary["overall"], summary["by_source"])
    lines.append(
        f"detection latency (no embedding): p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
        f"max {summary['max_ms']} ms"
    )
    if summary.get("embedding_ms"):
        e = summary["embedding_ms"]
        lines.append(f"embedding call (one message): p50 {e['p50']} ms, p95 {e['p95']} ms")
    if summary.get("skipped_layers"):
        lines.append("skipped layers: " + "; ".join(summary["skipped_layers"]))
    if summary.get("loso"):
        loso = summary["loso"]
        lines.append(
            "leave-one-source-out (each source scored by a fusion fitted on the other shippable sources):"
        )
        lines.extend("  " + line for line in _table(None, loso["by_source"]))
        lines.append(
            f"  LOSO mean attack recall {loso['mean_attack_recall']}, worst benign FPR {loso['worst_benign_fpr']} "
            f"({loso['worst_benign_source']}), chat FPR {loso['chat_fpr']}"
        )
    if summary.get("held_out"):
        held = summary["held_out"]
        lines.append(f"held-out ({held['folds']}-fold, grouped; fusion refitted without each fold):")
        lines.extend("  " + line for line in _table(held["overall"], held["by_source"]))
        lines.extend("  " + line for line in held["fusions"])
    o = summary["overall"]
    lines.append(
        f"SUMMARY injection layers={summary['layers']} threshold={summary['threshold']} "
        f"precision={_fmt(o['precision']).strip()} recall={_fmt(o['recall']).strip()} "
        f"f1={_fmt(o['f1']).strip()} fpr={_fmt(o['false_positive_rate']).strip()} p95_ms={summary['p95_ms']}"
    )
    return "\n".join(lines)


async def _run(rows: list[Row], layers: frozenset[Layer], threshold: float, embedding_url: str | None,
               redis_url: str | None) -> tuple[list[Outcome], dict[str, Any]]:  # fmt: skip
    from gateway.config import GroqSettings
    from gateway.integrations.embedding import EmbeddingClient
    from gateway.integrations.llm import FastLLM
    from gateway.security import corpus
    from gateway.security.detector import Detector, embedding_input
    from gateway.security.judge import InjectionJudge
    from gateway.security.normalize import normalize

    extra: dict[str, Any] = {"skipped_layers": []}
    embedding = EmbeddingClient(embedding_url, timeout=120) if embedding_url else None
    judge = None
    fast_llm = None
    redis = None
    if Layer.LLM in layers:
        fast_llm = FastLLM.from_settings(GroqSettings())
        if fast_llm is None or redis_url is None:
            extra["skipped_layers"].append("llm: GROQ_API_KEY not set")
        else:
            import redis.asyncio as aioredis

            redis = aioredis.Redis.from_url(redis_url)
            judge = InjectionJudge(fast_llm, redis, 3600)
    detector = Detector(threshold=threshold, embedding=embedding, judge=judge)
    limit_blas_threads()  # as the gateway's startup does (gateway/runtime.py)
    try:
        normalized = [normalize(row.text) for row in rows]
        vectors: list[list[float] | None] = [None] * len(rows)
        if Layer.SEMANTIC in layers and embedding is not None:
            if not await detector.warm_up():
                raise SystemExit("the embedding service could not embed the exemplar bank")
            inputs = [embedding_input(n) for n in normalized]
            # A text with nothing visible to embed is never sent (the detector skips its semantic layer too).
            embeddable = [i for i, text in enumerate(inputs) if text]
            started = time.perf_counter()
            for start in range(0, len(embeddable), EMBED_BATCH):
                chunk = embeddable[start : start + EMBED_BATCH]
                batch = await embedding.embed_documents([inputs[i] for i in chunk])
                assert batch is not None
                for i, embedded in zip(chunk, batch.vectors, strict=True):
                    vectors[i] = embedded
            extra["embedding_batch_seconds"] = round(time.perf_counter() - started, 2)
            single: list[float] = []
            sample = [inputs[i] for i in embeddable]
            for text in sample[:: max(1, len(sample) // EMBED_LATENCY_SAMPLE)][:EMBED_LATENCY_SAMPLE]:
                started = time.perf_counter()
                await embedding.embed_documents([text + " "])  # a fresh cache key: a real model call
                single.append((time.perf_counter() - started) * 1000)
            extra["embedding_ms"] = {"p50": percentile(single, 50), "p95": percentile(single, 95)}
        outcomes: list[Outcome] = []
        for row, norm, vector in zip(rows, normalized, vectors, strict=True):
            started = time.perf_counter()
            analysis = detector.analyse(
                row.text,
                vector,
                normalized=norm,
                use_semantic=vector is not None,
                bank_without=row.group if row.source == corpus.SOURCE else None,  # never its own evidence
            )
            verdict = detector.verdict(analysis)
            elapsed = (time.perf_counter() - started) * 1000
            if judge is not None:
                verdict = await detector.consult_judge(analysis, layers)
            outcomes.append(
                Outcome(
                    row,
                    verdict.is_threat,
                    verdict.confidence,
                    elapsed,
                    analysis.features,
                    analysis.rule_features,
                    analysis.floor,
                )
            )
        return outcomes, extra
    finally:
        if embedding is not None:
            await embedding.aclose()
        if fast_llm is not None:
            await fast_llm.aclose()
        if redis is not None:
            await redis.aclose()


def run(rows: list[Row], layers: frozenset[Layer], threshold: float) -> tuple[list[Outcome], dict[str, Any]]:
    if Layer.SEMANTIC in layers or Layer.LLM in layers:
        from benchmarks.harness import local_stack

        with local_stack() as stack:
            return asyncio.run(_run(rows, layers, threshold, stack.embedding_url, stack.redis_url))
    return asyncio.run(_run(rows, layers, threshold, None, None))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.injection", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", type=Path, nargs="+", default=[INJECTION_DEV, INJECTION_EXTRA],
                        help="JSONL files with text, label, source (default: shared dev and extra)")  # fmt: skip
    parser.add_argument("--layers", type=parse_layers, default=frozenset({Layer.RULES, Layer.SEMANTIC}),
                        help="comma-separated: rules,semantic,llm (default rules,semantic)")  # fmt: skip
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--cv", type=int, default=0, metavar="K",
                        help="also report K-fold grouped cross-validation of the fusion (held-out)")  # fmt: skip
    parser.add_argument("--loso", action="store_true",
                        help="also report leave-one-source-out: each source scored by a fusion fitted on the "
                        "others")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    rows, skipped = [], 0
    for path in args.data:
        if not path.is_file():
            print(f"no data file at {path}", file=sys.stderr)
            return 2
        found, missed = load_rows(path)
        rows.extend(found)
        skipped += missed
    if not rows:
        print(f"{', '.join(map(str, args.data))}: no usable rows ({skipped} skipped)", file=sys.stderr)
        return 2
    own: list[Row] = []
    if args.loso:
        from benchmarks.train_injection import corpus_rows

        own = corpus_rows()  # fitted on in every fold, never a figure
    everything, extra = run(rows + own, args.layers, args.threshold)
    outcomes = everything[: len(rows)]
    layer_names = ",".join(layer.value for layer in Layer if layer in args.layers)
    summary = summarize(
        outcomes, {**extra, "layers": layer_names, "threshold": args.threshold, "rows_skipped": skipped}
    )
    if args.cv >= 2:
        held, fusions = cross_validate(outcomes, args.cv, args.threshold)
        summary["held_out"] = {
            "folds": args.cv,
            "overall": metrics(held),
            "by_source": metrics_by_source(held),
            "fusions": [*fusions, f"all rows: {fit_fusion(outcomes).describe()}"],
        }
    if args.loso:
        summary["loso"] = leave_one_source_out(everything, args.threshold)
    print(report(summary))
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    latencies = [o.detection_ms for o in outcomes]
    if latencies:
        logger.debug("mean detection %.3f ms", statistics.fmean(latencies))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
