"""The four personality profiles, their Big Five values, the per-user jitter and the poles of each trait.

Traits are chosen once, at initialisation, and never change (migration 008 enforces it in the database).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class PersonalityProfile(StrEnum):
    CURIOUS_COMPANION = "curious_companion"
    SUPPORTIVE_FRIEND = "supportive_friend"
    INTELLECTUAL_MENTOR = "intellectual_mentor"
    CREATIVE_COLLABORATOR = "creative_collaborator"


DEFAULT_PROFILE = PersonalityProfile.CURIOUS_COMPANION
TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")


@dataclass(frozen=True)
class BigFive:
    openness: float
    conscientiousness: float
    extraversion: float
    agreeableness: float
    neuroticism: float

    def __post_init__(self) -> None:
        for name, value in self.as_dict().items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")

    def as_dict(self) -> dict[str, float]:
        # Not dataclasses.asdict: its deep copy is most of the cost of a proactive scan's trait reads.
        return {name: getattr(self, name) for name in TRAITS}


# Chosen so each profile reads as its name and the four differ where it matters: openness drives curiosity
# and novelty, agreeableness warmth, extraversion how much good news lifts it, neuroticism how hard bad
# news hits (the appraisal scales intensities by these three).
PROFILE_TRAITS: dict[PersonalityProfile, BigFive] = {
    # Asks questions, enjoys ideas and people, warm, fairly steady.
    PersonalityProfile.CURIOUS_COMPANION: BigFive(0.85, 0.50, 0.65, 0.75, 0.35),
    # The warmest and calmest: listens more than it talks, never competitive.
    PersonalityProfile.SUPPORTIVE_FRIEND: BigFive(0.60, 0.60, 0.55, 0.90, 0.30),
    # Organised and open to ideas, more reserved and more candid (less agreeable), very steady.
    PersonalityProfile.INTELLECTUAL_MENTOR: BigFive(0.80, 0.80, 0.45, 0.60, 0.25),
    # The most open and outgoing, spontaneous rather than organised, a little more sensitive.
    PersonalityProfile.CREATIVE_COLLABORATOR: BigFive(0.90, 0.35, 0.70, 0.70, 0.45),
}

JITTER = 0.05  # each trait moves by at most this much, per user


def jitter(user_id: str, trait: str) -> float:
    """A deterministic offset in [-JITTER, JITTER] for one user's trait (sha256 of user and trait)."""
    digest = hashlib.sha256(f"personality-jitter\x00{user_id}\x00{trait}".encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / float(2**64)  # [0, 1)
    return (unit * 2.0 - 1.0) * JITTER


def traits_for(profile: PersonalityProfile, user_id: str) -> BigFive:
    """The profile's traits plus the user's jitter, clamped to [0, 1] and rounded to three decimals."""
    base = PROFILE_TRAITS[profile].as_dict()
    return BigFive(
        **{name: round(min(1.0, max(0.0, value + jitter(user_id, name))), 3) for name, value in base.items()}
    )


# (0 pole, 1 pole) of each trait, as the persona text describes them (plan §4.1).
TRAIT_POLES: dict[str, tuple[str, str]] = {
    "openness": ("traditional", "creative and curious"),
    "conscientiousness": ("spontaneous", "organised and disciplined"),
    "extraversion": ("reserved", "outgoing"),
    "agreeableness": ("competitive and skeptical", "cooperative and trusting"),
    "neuroticism": ("calm and resilient", "sensitive and nervous"),
}


def describe_trait(trait: str, value: float) -> str:
    """``"openness 0.87: very creative and curious"``: the pole the value leans to, and how far."""
    low, high = TRAIT_POLES[trait]
    distance = abs(value - 0.5)
    if distance < 0.1:
        leaning = f"balanced between {low} and {high}"
    else:
        degree = "very " if distance >= 0.3 else "fairly " if distance >= 0.2 else "somewhat "
        leaning = degree + (high if value > 0.5 else low)
    return f"{trait} {value:.2f}: {leaning}"
