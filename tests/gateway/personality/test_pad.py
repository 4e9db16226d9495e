"""PAD arithmetic: clamping, exponential decay toward the baseline, baseline drift and emotion labels."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.personality.pad import (
    EMOTION_PROTOTYPES,
    PAD,
    EmotionLabel,
    decayed,
    drifted_baseline,
    emotion_label,
)
from tests.gateway.personality.conftest import T0


def test_clamp_keeps_every_axis_in_range() -> None:
    """Values beyond [-1, 1] are clamped axis by axis."""
    assert PAD(1.7, -3.0, 0.2).clamped() == PAD(1.0, -1.0, 0.2)


def test_decay_halves_the_distance_every_half_life() -> None:
    """After one half-life the mood is halfway back to the baseline; after three, an eighth of the way."""
    baseline = PAD(0.1, 0.0, -0.1)
    mood = PAD(0.9, 0.4, -0.5)
    one = decayed(mood, baseline, T0, T0 + timedelta(hours=4), half_life_hours=4)
    assert one.pleasure == pytest.approx(0.5)
    assert one.arousal == pytest.approx(0.2)
    assert one.dominance == pytest.approx(-0.3)
    three = decayed(mood, baseline, T0, T0 + timedelta(hours=12), half_life_hours=4)
    assert three.pleasure == pytest.approx(0.1 + 0.8 / 8)


def test_no_time_or_time_backwards_means_no_decay() -> None:
    """A read at (or before) the write time returns the mood as written."""
    mood = PAD(0.6, 0.2, 0.1)
    assert decayed(mood, PAD(), T0, T0, 4) == mood
    assert decayed(mood, PAD(), T0, T0 - timedelta(hours=2), 4) == mood


def test_drift_moves_the_baseline_one_percent_toward_the_mean() -> None:
    """new = old + 0.01 x (mean - old), per axis."""
    moods = [PAD(0.5, 0.2, 0.1)] * 3 + [PAD(0.3, 0.0, 0.1)] * 2  # mean 0.42, 0.12, 0.1
    drifted = drifted_baseline(PAD(0.0, 0.1, -0.2), moods, rate=0.01)
    assert drifted is not None
    assert drifted.pleasure == pytest.approx(0.0042)
    assert drifted.arousal == pytest.approx(0.1 + 0.01 * 0.02)
    assert drifted.dominance == pytest.approx(-0.2 + 0.01 * 0.3)


def test_drift_needs_five_interactions() -> None:
    """Four moods are not enough evidence; the baseline stays."""
    assert drifted_baseline(PAD(), [PAD(0.9, 0.9, 0.9)] * 4, rate=0.01) is None


def test_the_neutral_start_is_neutral() -> None:
    """(0, 0, 0) at a (0, 0, 0) baseline is neutral, not the all-negative octant's label."""
    assert emotion_label(PAD(), PAD(), neutral_radius=0.1) is EmotionLabel.NEUTRAL


def test_neutral_follows_the_baseline() -> None:
    """Near a drifted baseline is neutral too; the same point far from it is not."""
    baseline = PAD(0.3, 0.1, 0.1)
    assert emotion_label(PAD(0.33, 0.1, 0.12), baseline, 0.1) is EmotionLabel.NEUTRAL
    assert emotion_label(PAD(0.33, 0.1, 0.12), PAD(), 0.1) is EmotionLabel.HAPPY


@pytest.mark.parametrize("label", list(EMOTION_PROTOTYPES))
def test_every_prototype_is_its_own_nearest_label(label: EmotionLabel) -> None:
    """Each of the ten labels is reachable: its prototype point gets it."""
    assert emotion_label(EMOTION_PROTOTYPES[label], PAD(), 0.1) is label


@pytest.mark.parametrize(
    ("mood", "label"),
    [
        (PAD(0.2, 0.08, 0.08), EmotionLabel.HAPPY),
        (PAD(-0.2, -0.1, -0.2), EmotionLabel.SAD),
        (PAD(-0.2, 0.2, 0.1), EmotionLabel.ANGRY),
        (PAD(0.15, -0.3, 0.05), EmotionLabel.CALM),
    ],
)
def test_modest_moods_get_the_label_of_their_direction(mood: PAD, label: EmotionLabel) -> None:
    """Everyday moods, a few tenths from the origin, still get the label their direction suggests."""
    assert emotion_label(mood, PAD(), 0.1) is label
