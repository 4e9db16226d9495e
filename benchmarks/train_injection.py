"""Fit the injection detector's fusion and judge it on sources it never saw.

    python -m benchmarks.train_injection [--data FILE ...] [--write] [--json OUT] [--threshold 0.7]

1. Reads the attack and benign rows of the shared injection sets (dev + extra by default; ``harmful_request``
   rows are neither and are left out) and the project's own corpus (``gateway/security/corpus.py``), and runs
   the real detector's local layers on each (rules and the semantic layer, embedded by the embedding service
   of a throw-away local stack; a corpus text is scored without its own group of the bank) to get the
   fusion's features (``gateway.security.fusion.FEATURES``).
2. **Leave one source out**: for each source, the fusion is fitted on the *shippable* sources other than it,
   and that source is scored. Sources whose licence forbids shipping a model made from them (non-commercial
   or copyleft, ``VALIDATION_ONLY``) are never fitted on; they are scored by the fit on every shippable
   source, so every figure is held out. This is the figure the detector is judged by.
3. **Calibration**: Platt scaling of the shippable sources' held-out log-odds, so ``confidence`` is the
   probability that a message of a kind never seen in fitting is an attack, with attacks and benign messages
   weighing the same.
4. **The shipped model**: the fusion fitted on every shippable row, with that calibration; and a second one
   fitted the same way on the features the detector has without the semantic layer (embedding service
   down), so neither leans on a missing term. ``--write`` saves both to
   ``gateway/security/injection_model.json`` with the sources they were fitted on, their licences and their
   held-out figures.

Fitting is deterministic (Newton's method, no randomness): the same data gives the same file. Every class
weighs half, and every source the same within its class, whatever its size.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.data import INJECTION_DEV, INJECTION_EXTRA
from benchmarks.injection import Outcome, Row, load_rows, loso_figures, rescored
from gateway.security import corpus
from gateway.security import fusion as fusion_module
from gateway.security.fusion import FEATURES, HEADS, Fusion, Fusions, calibrated, fit, platt, sigmoid
from gateway.security.schemas import Layer

logger = logging.getLogger("benchmarks.train_injection")

CORPUS_SOURCE = corpus.SOURCE
# Licences that allow shipping a model fitted on the source (../shared/data/README.md).
SHIPPABLE = {
    CORPUS_SOURCE: "this repository's (gateway/security/corpus.py)",
    "jailbreak_llms": "MIT",
    "cyberseceval_pi_en": "MIT",
    "notinject": "MIT",
    "garak_probes": "Apache-2.0",
    "gptfuzz_templates": "MIT",
    "clinc150_queries": "CC BY 3.0",
    "topicalchat_turns": "CDLA-Sharing-1.0",
    "gsm8k_questions": "MIT",
    "mtbench_questions": "Apache-2.0",
}
# Non-commercial or copyleft: never fitted on, scored for validation only.
VALIDATION_ONLY = {
    "locomo_turns": "CC BY-NC 4.0",
    "alpacaeval_instructions": "CC BY-NC 4.0",
    "alpaca_seed_tasks": "CC BY-NC 4.0",
    "dailydialog_turns": "CC BY-NC-SA 4.0",
    "commonsense_dialogues_turns": "CC BY-NC 4.0",
    "promptmap_rules": "GPL-3.0",
}
# Written for this project to fit on: held out like any source, but never one of the figures judged.
TRAINING_ONLY = frozenset({CORPUS_SOURCE})
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def class_balanced_weights(rows: Sequence[Row]) -> npt.NDArray[np.float64]:
    """Each class weighs half and each source the same within its class; the weights average 1."""
    counts: dict[tuple[bool, str], int] = defaultdict(int)
    for row in rows:
        counts[(row.attack, row.source)] += 1
    per_class = {label: sum(1 for a, _ in counts if a == label) for label in (True, False)}
    weights = np.array(
        [0.5 / (per_class[row.attack] * counts[(row.attack, row.source)]) for row in rows], dtype=np.float64
    )
    return weights * len(rows)


def fit_fusion(outcomes: Sequence[Outcome]) -> Fusion:
    """The fusion fitted on ``outcomes`` (non-negative weights, classes and sources balanced)."""
    x = np.array([o.features for o in outcomes], dtype=np.float64)
    y = np.array([1.0 if o.row.attack else 0.0 for o in outcomes])
    return fit(x, y, class_balanced_weights([o.row for o in outcomes]))


def held_out_log_odds(outcomes: Sequence[Outcome]) -> npt.NDArray[np.float64]:
    """Each row's log-odds from a fusion fitted without its source, and never on a validation-only source
    (those, and a source without which one class would be missing, are scored by the fit on every
    shippable source)."""
    held = np.zeros(len(outcomes))
    shippable = [o for o in outcomes if o.row.source in SHIPPABLE]
    everything = fit_fusion(shippable) if len({o.row.attack for o in shippable}) == 2 else None
    fits = {}
    for source in sorted({o.row.source for o in shippable}):
        rest = [o for o in shippable if o.row.source != source]
        fits[source] = fit_fusion(rest) if len({o.row.attack for o in rest}) == 2 else everything
    for i, o in enumerate(outcomes):
        fusion = fits.get(o.row.source, everything)
        if fusion is not None:
            held[i] = fusion.z(o.features)
    return held


def judged(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Leave-one-source-out figures of ``outcomes``, leaving out the sources written for fitting."""
    return loso_figures([o for o in outcomes if o.row.source not in TRAINING_ONLY])


def rules_only(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """``outcomes`` with the features the detector has when the semantic layer cannot run."""
    return [replace(o, features=o.rule_features or o.features) for o in outcomes]


def train_head(outcomes: Sequence[Outcome], threshold: float) -> tuple[Fusion, dict[str, Any]]:
    """One calibrated fusion to ship, and its held-out figures (at ``threshold`` and at ``THRESHOLDS``)."""
    held = held_out_log_odds(outcomes)
    # Calibrated on the shippable sources' held-out scores only: nothing shipped is fitted on the others.
    ship = [i for i, o in enumerate(outcomes) if o.row.source in SHIPPABLE]
    rows = [outcomes[i].row for i in ship]
    y = np.array([1.0 if row.attack else 0.0 for row in rows])
    slope, intercept = platt(held[ship], y, class_balanced_weights(rows))
    probabilities = [
        max(o.floor, sigmoid(slope * z + intercept)) for o, z in zip(outcomes, held, strict=True)
    ]
    by_threshold = {}
    for cut in sorted({*THRESHOLDS, threshold}):
        scored = [
            replace(o, flagged=p >= cut, confidence=p) for o, p in zip(outcomes, probabilities, strict=True)
        ]
        by_threshold[str(cut)] = judged(scored)
    shipped = calibrated(fit_fusion([o for o in outcomes if o.row.source in SHIPPABLE]), slope, intercept)
    return shipped, {
        "bias": round(shipped.bias, 6),
        "weights": [round(w, 6) for w in shipped.weights],
        "calibration": {"slope": round(slope, 6), "intercept": round(intercept, 6)},
        "leave_one_source_out": by_threshold[str(threshold)],
        "leave_one_source_out_by_threshold": {
            cut: {k: v for k, v in figures.items() if k != "by_source"}
            for cut, figures in by_threshold.items()
        },
        "shipped_model_on_every_row": judged([rescored(o, shipped, threshold) for o in outcomes]),
    }


def train(outcomes: Sequence[Outcome], threshold: float) -> tuple[Fusions, dict[str, Any]]:
    """Both calibrated heads (``fusion.HEADS``) and the report: each head's held-out figures, and at the top
    the figures of the head that serves while the semantic layer runs."""
    with_semantic, report_semantic = train_head(outcomes, threshold)
    rules, report_rules = train_head(rules_only(outcomes), threshold)
    present = {o.row.source for o in outcomes}
    report = {
        "features": list(FEATURES),
        "threshold": threshold,
        "fitted_on": {s: SHIPPABLE[s] for s in sorted(present & set(SHIPPABLE))},
        "validation_only": {s: VALIDATION_ONLY[s] for s in sorted(present & set(VALIDATION_ONLY))},
        "leave_one_source_out": report_semantic["leave_one_source_out"],
        "with_semantic": report_semantic,
        "rules_only": report_rules,
    }
    return Fusions(with_semantic, rules), report


def model_file(report: dict[str, Any]) -> dict[str, Any]:
    """What ``injection_model.json`` holds: both heads, where they came from, and how they did held out."""
    file: dict[str, Any] = {
        "made_by": "python -m benchmarks.train_injection --write",
        "features": report["features"],
        "fitted_on": report["fitted_on"],
        "validation_only": report["validation_only"],
        "threshold": report["threshold"],
    }
    for name in HEADS:
        head = report[name]
        held = head["leave_one_source_out"]
        file[name] = {
            "bias": head["bias"],
            "weights": head["weights"],
            "calibration": head["calibration"],
            "held_out": {
                "mean_attack_recall": held["mean_attack_recall"],
                "worst_benign_fpr": held["worst_benign_fpr"],
                "worst_benign_source": held["worst_benign_source"],
                "chat_fpr": held["chat_fpr"],
                "by_source": {
                    s: {"recall": m["recall"], "false_positive_rate": m["false_positive_rate"]}
                    for s, m in held["by_source"].items()
                },
            },
        }
    return file


def corpus_rows() -> list[Row]:
    """The project's own corpus (``gateway/security/corpus.py``) as benchmark rows."""
    from gateway.security import corpus

    return [Row(row.text, row.attack, row.source, row.group) for row in corpus.rows()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.train_injection", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", type=Path, nargs="+", default=[INJECTION_DEV, INJECTION_EXTRA])
    parser.add_argument("--threshold", type=float, default=0.7, help="the flag threshold the figures are at")
    parser.add_argument("--write", action="store_true", help=f"save the model to {fusion_module.MODEL_PATH}")
    parser.add_argument("--json", type=Path, default=None, help="write the full report as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    rows = corpus_rows()
    for path in args.data:
        if not path.is_file():
            print(f"no data file at {path}", file=sys.stderr)
            return 2
        rows.extend(load_rows(path)[0])
    from benchmarks.injection import run

    outcomes, _ = run(rows, frozenset({Layer.RULES, Layer.SEMANTIC}), args.threshold)
    shipped, report = train(outcomes, args.threshold)
    for name in HEADS:
        head = report[name]
        print(
            f"{name}: leave-one-source-out at threshold {args.threshold} (fitted on shippable sources only):"
        )
        for source, m in head["leave_one_source_out"]["by_source"].items():
            print(f"  {source:<30} n={m['n']:>5} recall={m['recall']} fpr={m['false_positive_rate']}")
        for cut, figures in head["leave_one_source_out_by_threshold"].items():
            print(
                f"  threshold {cut}: mean attack recall {figures['mean_attack_recall']}, worst benign FPR "
                f"{figures['worst_benign_fpr']} ({figures['worst_benign_source']}), chat FPR {figures['chat_fpr']}"
            )
        print(f"  shipped: {shipped.head(name == 'with_semantic').describe()}")
    if args.write:
        fusion_module.MODEL_PATH.write_text(json.dumps(model_file(report), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {fusion_module.MODEL_PATH}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
