"""Fusion of the local layers: a small logistic model over named features, and the code that fits it.

Every feature means one thing and can only *raise* the odds of an attack (weights are fitted under a
non-negativity constraint), so no feature can learn "short texts are safe" or "this data set's benign texts
look like X":

- ``rules``: the matched rules' evidence, -ln(1 - noisy-OR of their hand-set weights), counted from 0.5 (a
  rule weighted below 0.5 is a hint that never decides alone; with the fitted weights, 0.6 and up does);
- ``kinds``: how many different threat kinds matched beyond the first (independent signs agree);
- ``shape``: the prompt-shape score times the length factor (a long text written like a system prompt);
- ``addressed``: the length factor when the text addresses the assistant's behaviour (half for one cue);
- ``cues``: the number of distinct prompt cues, beyond two, scaled (a text full of directives);
- ``semantic_long`` / ``semantic_short``: the semantic layer's log-odds, split by the length factor (one short
  sentence sits near *some* exemplar by chance, so the two get separate weights);
- ``obfuscation``: how much hiding normalisation undid, when there is any other sign at all.

Length alone is never a feature: a long diary entry without any cue scores like a short one.

The weights ship in ``injection_model.json`` next to this file, written by ``python -m
benchmarks.train_injection --write`` (fixed data, no randomness): fitted only on sources whose licences allow
shipping a model made from them, then calibrated by Platt scaling on leave-one-source-out scores, so that
``confidence`` is a probability of attack for a kind of text the model was never fitted on (attacks and
benign messages weighing the same). The file says which sources, and how the model did on each held out;
docs/security.md has the figures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FEATURES = (
    "rules",
    "kinds",
    "shape",
    "addressed",
    "cues",
    "semantic_long",
    "semantic_short",
    "obfuscation",
)


@dataclass(frozen=True)
class Fusion:
    """``confidence = sigmoid(bias + weights · features)``."""

    bias: float
    weights: tuple[float, ...]

    def z(self, features: Sequence[float]) -> float:
        return self.bias + sum(w * x for w, x in zip(self.weights, features, strict=True))

    def confidence(self, features: Sequence[float]) -> float:
        return sigmoid(self.z(features))

    def describe(self) -> str:
        terms = ", ".join(f"{name}={w:.3f}" for name, w in zip(FEATURES, self.weights, strict=True))
        return f"bias={self.bias:.3f}, {terms}"


MODEL_PATH = Path(__file__).with_name("injection_model.json")
HEADS = ("with_semantic", "rules_only")


@dataclass(frozen=True)
class Fusions:
    """The fusion for a message the semantic layer scored, and the one for a message it could not (the
    embedding service down, the bank still being built): fitted apart, so neither leans on a term that is
    missing."""

    with_semantic: Fusion
    rules_only: Fusion

    def head(self, semantic: bool) -> Fusion:
        return self.with_semantic if semantic else self.rules_only


def load(path: Path = MODEL_PATH) -> Fusions:
    """The shipped fusions (raises ValueError when the file does not fit ``FEATURES``)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data.get("features", ())) != FEATURES:
        raise ValueError(f"{path.name} was fitted on features {data.get('features')}, not {list(FEATURES)}")
    heads = [
        Fusion(bias=float(data[name]["bias"]), weights=tuple(float(w) for w in data[name]["weights"]))
        for name in HEADS
    ]
    return Fusions(*heads)


FUSIONS = load()


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(-40.0, min(40.0, z))))


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def length_factor(chars: int, low: int = 30, high: int = 1000) -> float:
    """0 up to ``low`` characters, 1 from ``high``, logarithmic in between."""
    if chars <= low:
        return 0.0
    return min(1.0, math.log(chars / low) / math.log(high / low))


def fit(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    sample_weight: npt.NDArray[np.float64],
    *,
    l2: float = 1.0,
    iterations: int = 100,
) -> Fusion:
    """Weighted logistic regression with a ridge and non-negative weights (an active-set Newton method).

    A weight that wants to be negative is pinned at zero and the rest refitted: a sign of an attack may be
    useless, but it may never count as evidence of innocence.
    """
    n_features = x.shape[1]
    design = np.hstack([np.ones((x.shape[0], 1)), x])
    free = np.ones(n_features + 1, dtype=bool)
    beta = np.zeros(n_features + 1)
    ridge = np.full(n_features + 1, l2)
    ridge[0] = 1e-6  # the bias is not shrunk
    for _ in range(n_features + 1):
        beta = np.where(free, beta, 0.0)
        for _ in range(iterations):
            z = np.clip(design @ beta, -30, 30)
            p = 1 / (1 + np.exp(-z))
            grad = design.T @ (sample_weight * (p - y)) + ridge * beta
            hess = (design * (sample_weight * p * (1 - p))[:, None]).T @ design + np.diag(ridge)
            idx = np.flatnonzero(free)
            step = np.zeros_like(beta)
            step[idx] = np.linalg.solve(hess[np.ix_(idx, idx)], grad[idx])
            beta = beta - step
            if np.abs(step).max() < 1e-8:
                break
        negative = [i for i in range(1, n_features + 1) if free[i] and beta[i] < 0]
        if not negative:
            break
        free[min(negative, key=lambda i: beta[i])] = False
    beta = np.where(free, beta, 0.0)
    return Fusion(bias=float(beta[0]), weights=tuple(float(b) for b in beta[1:]))


def platt(
    z: npt.NDArray[np.float64], y: npt.NDArray[np.float64], weight: npt.NDArray[np.float64]
) -> tuple[float, float]:
    """Slope and intercept of ``p = sigmoid(slope * z + intercept)`` fitted to held-out scores ``z``."""
    a, b = 1.0, 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(a * z + b, -30, 30)))
        r, s = weight * (p - y), weight * p * (1 - p)
        grad = np.array([(r * z).sum() + 1e-6 * a, r.sum()])
        hess = np.array([[(s * z * z).sum() + 1e-6, (s * z).sum()], [(s * z).sum(), s.sum() + 1e-9]])
        step = np.linalg.solve(hess, grad)
        a, b = a - float(step[0]), b - float(step[1])
        if np.abs(step).max() < 1e-9:
            break
    return a, b


def calibrated(fusion: Fusion, slope: float, intercept: float) -> Fusion:
    """The same model with its log-odds mapped through Platt scaling (still one logistic over the features)."""
    return Fusion(bias=slope * fusion.bias + intercept, weights=tuple(slope * w for w in fusion.weights))
