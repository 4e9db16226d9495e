"""The scoring arithmetic of recall, one rule per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from gateway.memory import retrieval

NOW = datetime(2024, 1, 10, tzinfo=UTC)


def test_rare_words_weigh_more_than_common_ones() -> None:
    """IDF: a word in 2 of 1000 memories outweighs one in 500 of them."""
    assert retrieval.idf(2, 1000) > 5 * retrieval.idf(500, 1000)
    assert retrieval.idf(1000, 1000) >= 0


def test_bm25_rewards_matches_and_penalises_length() -> None:
    """More occurrences score higher, with diminishing returns; a longer memory scores lower."""
    idfs = {"pottery": 3.0}
    once = retrieval.bm25({"pottery": 1}, 10, idfs, 10.0)
    twice = retrieval.bm25({"pottery": 2}, 10, idfs, 10.0)
    long_once = retrieval.bm25({"pottery": 1}, 40, idfs, 10.0)
    assert twice > once > long_once > 0
    assert twice < 2 * once
    assert retrieval.bm25({}, 10, idfs, 10.0) == 0.0


def test_contiguity_lifts_only_neighbours_of_relevant_memories() -> None:
    """A neighbour of a strong hit rises to half its relevance; a negative anchor lifts nothing."""
    fused = [4.0, -1.0, -2.0, 0.5]
    lifted = retrieval.with_contiguity(fused, [(0, 1), (2, 3)])
    assert lifted == [4.0, 2.0, -2.0, 0.5]


def test_retention_decays_and_recall_slows_forgetting() -> None:
    """A month-old memory is fainter than yesterday's; recall strength and importance slow the fading."""
    month_ago = NOW - timedelta(days=30)
    fresh = retrieval.retention(NOW, NOW - timedelta(days=1), None, 1.0, 0.5)
    old = retrieval.retention(NOW, month_ago, None, 1.0, 0.5)
    rehearsed = retrieval.retention(NOW, month_ago, None, 8.0, 0.5)
    important = retrieval.retention(NOW, month_ago, None, 1.0, 1.0)
    assert fresh > rehearsed > old
    assert important > old
    assert retrieval.retention(NOW, NOW + timedelta(days=3), None, 1.0, 0.5) == pytest.approx(1.0)


def test_retention_counts_from_the_last_recall() -> None:
    """A memory recalled yesterday is as fresh as one made yesterday."""
    made = NOW - timedelta(days=100)
    recalled = NOW - timedelta(days=1)
    assert retrieval.retention(NOW, made, recalled, 1.0, 0.5) == retrieval.retention(
        NOW, recalled, None, 1.0, 0.5
    )


def test_mmr_skips_a_duplicate_for_a_different_memory() -> None:
    """With lambda 0.5 the second pick is the different memory, not the near-copy of the first."""
    vectors = np.asarray([[1.0, 0.0], [0.999, 0.0447], [0.0, 1.0]], dtype=np.float32)
    chosen = retrieval.mmr_select([0.9, 0.89, 0.7], vectors, [True, True, True], k=2, lam=0.5)
    assert [i for i, _ in chosen] == [0, 2]
    greedy = retrieval.mmr_select([0.9, 0.89, 0.7], vectors, [True, True, True], k=2, lam=1.0)
    assert [i for i, _ in greedy] == [0, 1]


def test_relevance_maps_into_the_unit_interval() -> None:
    """Fused z-scores map monotonically into (0, 1)."""
    values = [retrieval.relevance_from_fused(x) for x in (-6.0, 0.0, 6.0)]
    assert 0 < values[0] < values[1] == 0.5 < values[2] < 1
