"""Scoring recalled memories: relevance (vector + full text), importance, retention, then MMR diversity.

Pure functions over numbers and arrays, so every part of a score can be tested and explained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

# Weights of the combined score; relevance dominates, importance and retention break near-ties.
RELEVANCE_WEIGHT = 0.80
IMPORTANCE_WEIGHT = 0.10
RETENTION_WEIGHT = 0.10
# Relevance fuses the cosine similarity and BM25, each standardised over the candidates (z-scores).
SEMANTIC_WEIGHT = 1.0
LEXICAL_WEIGHT = 1.2
# BM25 parameters (the usual ones).
BM25_K1 = 1.5
BM25_B = 0.75
# Contiguity: a memory next to a strongly relevant one (same conversation) is recalled with it, at this
# fraction of its neighbour's standardised relevance. Measured on LoCoMo: answers often sit one turn away
# from the words of the question.
CONTIGUITY = 0.5
CONTIGUITY_ANCHORS_PER_K = 2
# Conversation context: a memory's window (its vector plus those of the memories just before and after it in
# its conversation) is compared with the query too; the semantic z-score blends the memory's own with its
# window's (MEMORY_CONTEXT_WEIGHT, the window's share). A short answer ("yes!! it was amazing") is about what
# was said around it. A memory without neighbours is its own window, so its score does not change.

# Retention R = exp(-days / stability); stability grows with importance and with every recall.
BASE_STABILITY_DAYS = 7.0
RECALL_STRENGTH_GROWTH = 1.5
MAX_STRENGTH = 64.0


@dataclass(frozen=True)
class Scored:
    """One candidate with every component of its score (see ScoreComponents in schemas)."""

    index: int
    similarity: float | None
    lexical: float
    relevance: float
    importance: float
    retention: float
    score: float
    mmr: float = 0.0
    time_fit: float = 0.0  # how well when it was said fits the days the query names (gateway/memory/when.py)


def idf(document_frequency: int, total: int) -> float:
    """BM25's inverse document frequency (never negative)."""
    return math.log(1.0 + (total - document_frequency + 0.5) / (document_frequency + 0.5))


def bm25(
    term_frequencies: Mapping[str, int], length: int, idfs: Mapping[str, float], average_length: float
) -> float:
    """BM25 of one memory for the query words in ``idfs``."""
    if not term_frequencies or average_length <= 0:
        return 0.0
    norm = BM25_K1 * (1.0 - BM25_B + BM25_B * length / average_length)
    total = 0.0
    for word, frequency in term_frequencies.items():
        weight = idfs.get(word)
        if weight:
            total += weight * frequency * (BM25_K1 + 1.0) / (frequency + norm)
    return total


@dataclass(frozen=True)
class Standardiser:
    """z-scores with a fixed mean and spread, so late-coming candidates are scored on the same scale."""

    mean: float
    std: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Standardiser:
        if not values:
            return cls(0.0, 1.0)
        array = np.asarray(values, dtype=np.float64)
        std = float(array.std())
        return cls(float(array.mean()), std if std > 1e-9 else 1.0)

    def __call__(self, value: float) -> float:
        return (value - self.mean) / self.std


def fuse(z_semantic: float, z_lexical: float) -> float:
    return SEMANTIC_WEIGHT * z_semantic + LEXICAL_WEIGHT * z_lexical


def similarities(
    vectors: Sequence[npt.NDArray[np.float32] | None],
    neighbours: Sequence[Sequence[npt.NDArray[np.float32]]],
    query: npt.NDArray[np.float32] | None,
) -> tuple[list[float | None], list[float | None]]:
    """Each memory's cosine with the query, and its window's: its unit vector plus its neighbours' (summed,
    then normalised; without neighbours, its own). None for a memory without a vector (or no query).
    One matrix product for all of them: per memory, numpy's call overhead outweighed the arithmetic."""
    own: list[float | None] = [None] * len(vectors)
    window: list[float | None] = [None] * len(vectors)
    rows = [i for i, vector in enumerate(vectors) if vector is not None]
    if query is None or not rows:
        return own, window
    matrix = np.stack([vector for vector in vectors if vector is not None])
    windows = matrix.copy()
    for row, i in enumerate(rows):
        for neighbour in neighbours[i]:
            windows[row] += neighbour
    norms = np.linalg.norm(windows, axis=1)
    to_window = np.divide(windows @ query, norms, out=np.zeros_like(norms), where=norms > 0)
    for i, similarity, in_window in zip(rows, (matrix @ query).tolist(), to_window.tolist(), strict=True):
        own[i] = similarity
        window[i] = in_window
    return own, window


def with_contiguity(fused: Sequence[float], pairs: Sequence[tuple[int, int]]) -> list[float]:
    """Each (anchor, neighbour) pair lifts the neighbour to CONTIGUITY x the anchor's fused relevance."""
    lifted = list(fused)
    for anchor, neighbour in pairs:
        if fused[anchor] > 0:
            lifted[neighbour] = max(lifted[neighbour], CONTIGUITY * fused[anchor])
    return lifted


def relevance_from_fused(value: float) -> float:
    """Maps fused z-scores (about -3..6) into (0, 1) for the combined score and for display."""
    return 1.0 / (1.0 + math.exp(-value / 2.0))


def retention(
    now: datetime, created_at: datetime, last_accessed_at: datetime | None, strength: float, importance: float
) -> float:
    """Ebbinghaus-style retention in [0, 1]: time since the last recall (or creation) against stability.

    Stability (in days) is ``BASE_STABILITY_DAYS * strength * (0.5 + importance)``: important memories fade
    slower, and each recall multiplies ``strength``. A memory dated after ``now`` counts as fresh.
    """
    reference = max(created_at, last_accessed_at) if last_accessed_at else created_at
    days = max(0.0, (now - reference).total_seconds() / 86400.0)
    stability = BASE_STABILITY_DAYS * max(strength, 1e-3) * (0.5 + importance)
    return math.exp(-days / stability)


def combine(relevance_value: float, importance: float, retention_value: float, weight: float) -> float:
    """The combined score; ``weight`` (retrieval weight in [0, 1]) is lowered by forgetting or conflicts."""
    base = (
        RELEVANCE_WEIGHT * relevance_value
        + IMPORTANCE_WEIGHT * importance
        + RETENTION_WEIGHT * retention_value
    )
    return base * weight


def mmr_select(
    scores: Sequence[float],
    vectors: npt.NDArray[np.float32] | None,
    has_vector: Sequence[bool],
    k: int,
    lam: float,
) -> list[tuple[int, float]]:
    """Maximal marginal relevance: repeatedly take the candidate maximising
    ``lam * score - (1 - lam) * max cosine to what is already taken``; returns (index, mmr value).

    Candidates without a vector have no similarity to anything (they can only be penalised by nothing).
    """
    n = len(scores)
    if n == 0 or k <= 0:
        return []
    score_array = np.asarray(scores, dtype=np.float64)
    if vectors is None or not any(has_vector):
        order = np.argsort(-score_array)[:k]
        return [(int(i), float(lam * score_array[i])) for i in order]
    mask = np.asarray(has_vector, dtype=bool)
    sims = vectors @ vectors.T  # rows are unit vectors
    sims[~mask, :] = 0.0
    sims[:, ~mask] = 0.0
    max_sim = np.zeros(n, dtype=np.float64)
    chosen: list[tuple[int, float]] = []
    available = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        mmr = lam * score_array - (1.0 - lam) * max_sim
        mmr[~available] = -np.inf
        best = int(np.argmax(mmr))
        chosen.append((best, float(mmr[best])))
        available[best] = False
        max_sim = np.maximum(max_sim, sims[best])
    return chosen


def explain(
    item: Scored,
    matched_words: Sequence[str],
    now: datetime,
    created_at: datetime,
    named_time: str | None = None,
) -> str:
    """A sentence saying why this memory came back (``named_time``: the words of the query that named when)."""
    parts = []
    if item.similarity is not None and item.similarity >= 0.3:
        parts.append(f"close in meaning to the query (similarity {item.similarity:.2f})")
    if matched_words:
        parts.append("shares the words " + ", ".join(f"'{w}'" for w in matched_words[:4]))
    if named_time and item.time_fit >= 0.5:
        parts.append(f"said around {named_time!r}")
    if not parts:
        parts.append("the best remaining match for the query")
    if item.importance >= 0.7:
        parts.append(f"important (importance {item.importance:.2f})")
    age_days = (now - created_at).total_seconds() / 86400
    if age_days < 1:
        parts.append("from today")
    elif item.retention >= 0.5:
        parts.append(f"still vivid after {age_days:.0f} days (retention {item.retention:.2f})")
    return "; ".join(parts)
