"""OCC emotions, their PAD coordinates (Gebhard's ALMA table) and how personality scales their intensity."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from gateway.personality.pad import PAD
from gateway.personality.profiles import BigFive


class OCCEmotion(StrEnum):
    ADMIRATION = "admiration"
    ANGER = "anger"
    DISLIKING = "disliking"
    DISAPPOINTMENT = "disappointment"
    DISTRESS = "distress"
    FEAR = "fear"
    FEARS_CONFIRMED = "fears_confirmed"
    GLOATING = "gloating"
    GRATIFICATION = "gratification"
    GRATITUDE = "gratitude"
    HAPPY_FOR = "happy_for"
    HATE = "hate"
    HOPE = "hope"
    JOY = "joy"
    LIKING = "liking"
    LOVE = "love"
    PITY = "pity"  # OCC's "sorry-for"
    PRIDE = "pride"
    RELIEF = "relief"
    REMORSE = "remorse"
    REPROACH = "reproach"
    RESENTMENT = "resentment"
    SATISFACTION = "satisfaction"
    SHAME = "shame"


# Gebhard (2005), "ALMA - A Layered Model of Affect", AAMAS, table 2: the PAD point of each OCC emotion.
ALMA_PAD: dict[OCCEmotion, PAD] = {
    OCCEmotion.ADMIRATION: PAD(0.5, 0.3, -0.2),
    OCCEmotion.ANGER: PAD(-0.51, 0.59, 0.25),
    OCCEmotion.DISLIKING: PAD(-0.4, 0.2, 0.1),
    OCCEmotion.DISAPPOINTMENT: PAD(-0.3, 0.1, -0.4),
    OCCEmotion.DISTRESS: PAD(-0.4, -0.2, -0.5),
    OCCEmotion.FEAR: PAD(-0.64, 0.6, -0.43),
    OCCEmotion.FEARS_CONFIRMED: PAD(-0.5, -0.3, -0.7),
    OCCEmotion.GLOATING: PAD(0.3, -0.3, -0.1),
    OCCEmotion.GRATIFICATION: PAD(0.6, 0.5, 0.4),
    OCCEmotion.GRATITUDE: PAD(0.4, 0.2, -0.3),
    OCCEmotion.HAPPY_FOR: PAD(0.4, 0.2, 0.2),
    OCCEmotion.HATE: PAD(-0.6, 0.6, 0.3),
    OCCEmotion.HOPE: PAD(0.2, 0.2, -0.1),
    OCCEmotion.JOY: PAD(0.4, 0.2, 0.1),
    OCCEmotion.LIKING: PAD(0.4, 0.16, -0.24),
    OCCEmotion.LOVE: PAD(0.3, 0.1, 0.2),
    OCCEmotion.PITY: PAD(-0.4, -0.2, -0.5),
    OCCEmotion.PRIDE: PAD(0.4, 0.3, 0.3),
    OCCEmotion.RELIEF: PAD(0.2, -0.3, 0.4),
    OCCEmotion.REMORSE: PAD(-0.3, 0.1, -0.6),
    OCCEmotion.REPROACH: PAD(-0.3, -0.1, 0.4),
    OCCEmotion.RESENTMENT: PAD(-0.2, -0.3, -0.2),
    OCCEmotion.SATISFACTION: PAD(0.3, -0.2, 0.4),
    OCCEmotion.SHAME: PAD(-0.3, 0.1, -0.6),
}

# Reactions to someone's blameworthy act, the ones agreeableness softens.
HOSTILE_EMOTIONS = frozenset(
    {OCCEmotion.ANGER, OCCEmotion.REPROACH, OCCEmotion.HATE, OCCEmotion.DISLIKING, OCCEmotion.RESENTMENT}
)

# How far one fully intense emotion moves the mood: half its ALMA point per message, so a single message
# never jumps the mood across the space, while a few strong ones in a row can.
MOOD_GAIN = 0.5
MAX_DELTA_PER_AXIS = 0.6
# Unexpectedness raises arousal (OCC has no "surprise" emotion; ALMA neither): up to this much per message.
SURPRISE_AROUSAL = 0.3


def personality_factor(emotion: OCCEmotion, traits: BigFive) -> float:
    """How strongly this companion feels ``emotion``: neuroticism amplifies negative emotions, extraversion
    positive ones (both 1.0 at a trait of 0.5, from 0.5 to 1.5), and agreeableness softens hostile
    reactions to reproach (from 1.5 at 0 to 0.5 at 1)."""
    negative = ALMA_PAD[emotion].pleasure < 0
    factor = (0.5 + traits.neuroticism) if negative else (0.5 + traits.extraversion)
    if emotion in HOSTILE_EMOTIONS:
        factor *= 1.5 - traits.agreeableness
    return factor


def modulate(emotions: Mapping[OCCEmotion, float], traits: BigFive) -> dict[OCCEmotion, float]:
    """Intensities after personality, each kept in [0, 1]."""
    return {
        emotion: round(min(1.0, max(0.0, intensity * personality_factor(emotion, traits))), 4)
        for emotion, intensity in emotions.items()
        if intensity > 0
    }


def pad_delta(emotions: Mapping[OCCEmotion, float], surprise: float = 0.0, valence: float = 0.0) -> PAD:
    """The mood change from felt emotions (intensity-weighted ALMA points, times MOOD_GAIN) plus the arousal
    of surprise (whose pleasure follows the message's valence), each axis capped at MAX_DELTA_PER_AXIS."""
    total = PAD()
    for emotion, intensity in emotions.items():
        total = total + ALMA_PAD[emotion].scaled(intensity * MOOD_GAIN)
    if surprise > 0:
        sign = 1.0 if valence > 0.05 else -1.0 if valence < -0.05 else 0.0
        total = total + PAD(0.1 * sign * surprise, SURPRISE_AROUSAL * surprise, 0.0)
    return PAD(*(max(-MAX_DELTA_PER_AXIS, min(MAX_DELTA_PER_AXIS, axis)) for axis in total.as_tuple()))


def combine(*intensities: float) -> float:
    """Several sources of one emotion, combined like independent chances: 1 - prod(1 - x)."""
    remaining = 1.0
    for value in intensities:
        remaining *= 1.0 - min(1.0, max(0.0, value))
    return 1.0 - remaining
