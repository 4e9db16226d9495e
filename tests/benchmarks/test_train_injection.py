"""The training command of the detector's fusion: class and source balance, held-out scores that never see
their own source, licences respected, calibration, and the shipped file round trip. Synthetic features
only; the shared data sets are never read here."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from benchmarks.injection import Outcome, Row
from benchmarks.train_injection import (
    CORPUS_SOURCE,
    class_balanced_weights,
    fit_fusion,
    held_out_log_odds,
    model_file,
    train,
)
from gateway.security import fusion
from gateway.security.fusion import FEATURES, Fusion, calibrated, sigmoid

SEMANTIC = FEATURES.index("semantic_short")


def outcome(source: str, attack: bool, rng: np.random.Generator) -> Outcome:
    """An attack leans on the first two features, a benign row on none; each source a little differently."""
    shift = (zlib.crc32(source.encode()) % 7) / 20
    features = rng.random(len(FEATURES)) * 0.3
    if attack:
        features[0] += 0.5 + shift
        features[3] += rng.random()
        features[SEMANTIC] += rng.random()
    without = features.copy()
    without[SEMANTIC] = 0.0
    return Outcome(
        Row(f"{source} {attack}", attack, source), False, 0.0, 0.0, tuple(features), tuple(without)
    )


def synthetic(seed: int = 0) -> list[Outcome]:
    rng = np.random.default_rng(seed)
    spec = [
        ("jailbreak_llms", True, 60),
        ("garak_probes", True, 30),
        (CORPUS_SOURCE, True, 40),
        (CORPUS_SOURCE, False, 40),
        ("notinject", False, 30),
        ("clinc150_queries", False, 80),
        ("locomo_turns", False, 100),  # validation only (CC BY-NC)
        ("promptmap_rules", True, 10),  # validation only (GPL)
    ]
    return [outcome(source, attack, rng) for source, attack, n in spec for _ in range(n)]


def test_each_class_weighs_half_and_each_source_the_same_within_it() -> None:
    rows = [Row("a", True, "big")] * 90 + [Row("b", True, "small")] * 10 + [Row("c", False, "chat")] * 50
    weights = class_balanced_weights(rows)
    assert weights.mean() == pytest.approx(1.0)
    attack, benign = weights[:100].sum(), weights[100:].sum()
    assert attack == pytest.approx(benign)
    assert weights[:90].sum() == pytest.approx(weights[90:100].sum())


def test_a_held_out_score_never_depends_on_its_own_sources_labels() -> None:
    """Flipping every label of one source leaves that source's held-out scores as they were."""
    outcomes = synthetic()
    before = held_out_log_odds(outcomes)
    flipped = [
        Outcome(Row(o.row.text, not o.row.attack, o.row.source), False, 0.0, 0.0, o.features)
        if o.row.source == "garak_probes"
        else o
        for o in outcomes
    ]
    after = held_out_log_odds(flipped)
    garak = [i for i, o in enumerate(outcomes) if o.row.source == "garak_probes"]
    assert np.allclose(before[garak], after[garak])
    others = [i for i, o in enumerate(outcomes) if o.row.source == "jailbreak_llms"]
    assert not np.allclose(before[others], after[others])  # the flipped source did count for the others


def test_the_shipped_fusion_is_never_fitted_on_a_validation_only_source() -> None:
    """Sources whose licence forbids shipping a model made from them change the figures, not the model."""
    outcomes = synthetic()
    shipped, report = train(outcomes, 0.7)
    rng = np.random.default_rng(5)
    changed = [
        Outcome(o.row, False, 0.0, 0.0, tuple(rng.random(len(FEATURES))))
        if o.row.source in ("locomo_turns", "promptmap_rules")
        else o
        for o in outcomes
    ]
    again, _ = train(changed, 0.7)
    uncalibrated = fit_fusion(
        [o for o in outcomes if o.row.source not in ("locomo_turns", "promptmap_rules")]
    )
    assert report["fitted_on"] == {
        CORPUS_SOURCE: "this repository's (gateway/security/corpus.py)",
        "clinc150_queries": "CC BY 3.0",
        "garak_probes": "Apache-2.0",
        "jailbreak_llms": "MIT",
        "notinject": "MIT",
    }
    assert set(report["validation_only"]) == {"locomo_turns", "promptmap_rules"}
    assert again == shipped
    slope = report["with_semantic"]["calibration"]["slope"]
    assert slope > 0
    assert np.allclose(np.array(uncalibrated.weights) * slope, shipped.with_semantic.weights, rtol=1e-6)


def test_the_rules_only_head_is_fitted_without_the_semantic_term() -> None:
    """While the embedding service is down the detector has no semantic term: its head never expects one."""
    shipped, report = train(synthetic(), 0.7)
    assert shipped.rules_only.weights[SEMANTIC] == 0.0
    assert shipped.with_semantic.weights[SEMANTIC] > 0.0
    assert report["rules_only"]["leave_one_source_out"]["mean_attack_recall"] is not None


def test_the_figures_judged_leave_out_the_projects_corpus() -> None:
    _, report = train(synthetic(), 0.7)
    held = report["leave_one_source_out"]
    assert CORPUS_SOURCE not in held["by_source"]
    recalls = [held["by_source"][s]["recall"] for s in ("jailbreak_llms", "garak_probes", "promptmap_rules")]
    assert held["mean_attack_recall"] == pytest.approx(sum(recalls) / 3, abs=1e-4)
    assert held["chat_fpr"] == held["by_source"]["locomo_turns"]["false_positive_rate"]
    assert set(report["with_semantic"]["leave_one_source_out_by_threshold"]) >= {"0.5", "0.7", "0.95"}


def test_held_out_figures_keep_the_detectors_confidence_floor() -> None:
    """A text the detector flags whatever the fusion says (hidden from the reader) counts as flagged in the
    held-out figures too: they measure the detector, not the fusion alone."""
    from dataclasses import replace

    from gateway.security.detector import HIDDEN_TEXT_CONFIDENCE

    rows = synthetic()
    quiet = tuple(0.0 for _ in FEATURES)
    smuggled = [
        replace(o, features=quiet, rule_features=quiet, floor=HIDDEN_TEXT_CONFIDENCE)
        for o in rows
        if o.row.source == "garak_probes"
    ]
    plain = [replace(o, floor=0.0) for o in smuggled]
    rest = [o for o in rows if o.row.source != "garak_probes"]
    _, with_floor = train(rest + smuggled, 0.7)
    _, without = train(rest + plain, 0.7)
    assert with_floor["leave_one_source_out"]["by_source"]["garak_probes"]["recall"] == 1.0
    assert without["leave_one_source_out"]["by_source"]["garak_probes"]["recall"] == 0.0


def test_calibration_maps_the_log_odds_and_stays_one_logistic() -> None:
    base = Fusion(bias=-1.0, weights=tuple(float(i) for i in range(len(FEATURES))))
    scaled = calibrated(base, 0.5, 0.25)
    x = [0.1] * len(FEATURES)
    assert scaled.confidence(x) == pytest.approx(sigmoid(0.5 * base.z(x) + 0.25))


def test_the_model_file_round_trips_and_a_stale_file_is_refused(tmp_path: Path) -> None:
    shipped, report = train(synthetic(), 0.7)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model_file(report)), encoding="utf-8")
    loaded = fusion.load(path)
    for name in fusion.HEADS:
        head, kept = getattr(loaded, name), getattr(shipped, name)
        assert head.bias == pytest.approx(kept.bias, abs=1e-6)
        assert np.allclose(head.weights, kept.weights, atol=1e-6)
    stale = json.loads(path.read_text())
    stale["features"] = stale["features"][:-1]
    path.write_text(json.dumps(stale), encoding="utf-8")
    with pytest.raises(ValueError, match="fitted on features"):
        fusion.load(path)


def test_the_shipped_file_was_made_by_the_training_command_from_shippable_sources_only() -> None:
    data = json.loads(fusion.MODEL_PATH.read_text(encoding="utf-8"))
    assert data["made_by"] == "python -m benchmarks.train_injection --write"
    assert tuple(data["features"]) == FEATURES
    assert not set(data["fitted_on"]) & set(data["validation_only"])
    from benchmarks.train_injection import SHIPPABLE

    assert set(data["fitted_on"]) <= set(SHIPPABLE)
    assert CORPUS_SOURCE in data["fitted_on"]
