"""PAD mood arithmetic: clamping, exponential decay toward the baseline, baseline drift and emotion labels.

Pure functions of their inputs (time included), so a simulated week can run through them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class PAD:
    pleasure: float = 0.0
    arousal: float = 0.0
    dominance: float = 0.0

    def clamped(self) -> PAD:
        """Each axis clamped to [-1, 1] (every stored update goes through this)."""
        return PAD(_clamp(self.pleasure), _clamp(self.arousal), _clamp(self.dominance))

    def __add__(self, other: PAD) -> PAD:
        return PAD(
            self.pleasure + other.pleasure, self.arousal + other.arousal, self.dominance + other.dominance
        )

    def __sub__(self, other: PAD) -> PAD:
        return PAD(
            self.pleasure - other.pleasure, self.arousal - other.arousal, self.dominance - other.dominance
        )

    def scaled(self, factor: float) -> PAD:
        return PAD(self.pleasure * factor, self.arousal * factor, self.dominance * factor)

    def distance(self, other: PAD) -> float:
        return math.dist(self.as_tuple(), other.as_tuple())

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.pleasure, self.arousal, self.dominance)

    def as_dict(self) -> dict[str, float]:
        return {"pleasure": self.pleasure, "arousal": self.arousal, "dominance": self.dominance}

    def rounded(self, digits: int = 4) -> PAD:
        return PAD(round(self.pleasure, digits), round(self.arousal, digits), round(self.dominance, digits))

    @classmethod
    def from_mapping(cls, value: object) -> PAD | None:
        """A PAD from ``{"pleasure", "arousal", "dominance"}`` (e.g. ``interactions.pad_after``); None if not one."""
        if not isinstance(value, dict):
            return None
        try:
            axes = [float(value[name]) for name in ("pleasure", "arousal", "dominance")]
        except (KeyError, TypeError, ValueError):
            return None
        if not all(math.isfinite(x) for x in axes):
            return None
        return cls(*axes)


def _clamp(value: float) -> float:
    return min(1.0, max(-1.0, value))


def decay_factor(elapsed_hours: float, half_life_hours: float) -> float:
    """The share of the distance from the baseline left after ``elapsed_hours`` (1 when no time passed)."""
    if elapsed_hours <= 0:
        return 1.0
    return float(0.5 ** (elapsed_hours / half_life_hours))


def decayed(current: PAD, baseline: PAD, since: datetime, now: datetime, half_life_hours: float) -> PAD:
    """The mood at ``now``: exponential decay of ``current`` (stored at ``since``) toward ``baseline``.

    A ``now`` earlier than ``since`` (clocks disagree, or an out-of-order write) counts as no time passed.
    """
    elapsed_hours = (now - since).total_seconds() / 3600.0
    factor = decay_factor(elapsed_hours, half_life_hours)
    return (baseline + (current - baseline).scaled(factor)).clamped()


def drifted_baseline(baseline: PAD, recent_moods: Sequence[PAD], rate: float, minimum: int = 5) -> PAD | None:
    """The baseline moved ``rate`` of the way toward the mean of ``recent_moods`` (the last 7 days'
    ``pad_after``), clamped; None when there are fewer than ``minimum`` of them (the baseline stays)."""
    if len(recent_moods) < minimum:
        return None
    count = len(recent_moods)
    mean = PAD(
        sum(m.pleasure for m in recent_moods) / count,
        sum(m.arousal for m in recent_moods) / count,
        sum(m.dominance for m in recent_moods) / count,
    )
    return (baseline + (mean - baseline).scaled(rate)).clamped()


class EmotionLabel(StrEnum):
    NEUTRAL = "neutral"
    HAPPY = "happy"
    SAD = "sad"
    ANGRY = "angry"
    FEARFUL = "fearful"
    SURPRISED = "surprised"
    DISGUSTED = "disgusted"
    CALM = "calm"
    EXCITED = "excited"
    CONTENT = "content"
    ANXIOUS = "anxious"


# Prototype coordinates of the ten labels (docs/personality.md#mood-pad). Directions follow Mehrabian's PAD
# ratings and Gebhard's ALMA table (e.g. anger -0.51/0.59/0.25, fear -0.64/0.60/-0.43, distress
# -0.4/-0.2/-0.5, joy 0.4/0.2/0.1); magnitudes sit at about 0.6-0.7 (0.8-0.9 for the two high-arousal ones),
# where a day of strong emotion takes the mood, and are kept similar so that ordinary moods (a few tenths from
# the origin) reach the prototype nearest in direction rather than whichever is closest to the origin. Pairs
# that share a direction are separated by arousal (happy/excited, content/calm, anxious/fearful) or dominance
# (angry/disgusted versus fearful).
EMOTION_PROTOTYPES: dict[EmotionLabel, PAD] = {
    EmotionLabel.HAPPY: PAD(0.55, 0.25, 0.25),
    EmotionLabel.EXCITED: PAD(0.50, 0.60, 0.25),
    EmotionLabel.CONTENT: PAD(0.45, -0.30, 0.30),
    EmotionLabel.CALM: PAD(0.25, -0.55, 0.10),
    EmotionLabel.SURPRISED: PAD(0.15, 0.65, -0.10),
    EmotionLabel.SAD: PAD(-0.50, -0.30, -0.40),
    EmotionLabel.ANGRY: PAD(-0.50, 0.50, 0.30),
    EmotionLabel.DISGUSTED: PAD(-0.60, 0.05, 0.35),
    EmotionLabel.FEARFUL: PAD(-0.50, 0.55, -0.45),
    EmotionLabel.ANXIOUS: PAD(-0.35, 0.45, -0.35),
}


def emotion_label(current: PAD, baseline: PAD, neutral_radius: float) -> EmotionLabel:
    """``neutral`` within ``neutral_radius`` of the baseline, else the label whose prototype is nearest."""
    if current.distance(baseline) < neutral_radius:
        return EmotionLabel.NEUTRAL
    return min(EMOTION_PROTOTYPES, key=lambda label: current.distance(EMOTION_PROTOTYPES[label]))
