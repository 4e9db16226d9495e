"""Scoring recalled memories: relevance (vector + full text), importance, retention, then MMR diversity.

Pure functions over numbers and arrays, so every part of a score can be tested and explained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

# Weights of the combined score; relevance dominates, importance and retention break near-ties.
RELEVANCE_WEIGHT = 0.75
IMPORTANCE_WEIGHT = 0.10
RETENTION_WEIGHT = 0.15
# Within relevance: how much the vector similarity counts against the full-text match.
SEMANTIC_SHARE = 0.65
# Reciprocal-rank constant used to turn each list's rank into a score (the usual RRF k).
RRF_K = 20

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


def rank_scores(ranked_ids: Sequence[object], k: int = RRF_K) -> dict[object, float]:
    """Reciprocal-rank scores of one ranked list, scaled so the first item scores 1."""
    return {item: (k + 1) / (k + position + 1) for position, item in enumerate(ranked_ids)}


def relevance(similarity: float | None, semantic_rank: float, lexical_rank: float) -> float:
    """Fuses the two candidate lists: rank-based (robust across queries) plus the raw cosine.

    ``semantic_rank`` and ``lexical_rank`` are reciprocal-rank scores in (0, 1] (0 when absent).
    """
    semantic = semantic_rank if similarity is None else 0.5 * semantic_rank + 0.5 * max(0.0, similarity)
    return SEMANTIC_SHARE * semantic + (1.0 - SEMANTIC_SHARE) * lexical_rank


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


def explain(item: Scored, matched_words: Sequence[str], now: datetime, created_at: datetime) -> str:
    """A sentence saying why this memory came back."""
    parts = []
    if item.similarity is not None and item.similarity >= 0.3:
        parts.append(f"close in meaning to the query (similarity {item.similarity:.2f})")
    if matched_words:
        parts.append("shares the words " + ", ".join(f"'{w}'" for w in matched_words[:4]))
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
