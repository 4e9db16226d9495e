"""The companion's current self as persona text: the one rendering the chat pipeline and Letta's persona
block both use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.personality.needs import NeedType
from gateway.personality.pad import PAD, EmotionLabel
from gateway.personality.profiles import TRAITS, BigFive, PersonalityProfile, describe_trait

PROFILE_SUMMARIES: dict[PersonalityProfile, str] = {
    PersonalityProfile.CURIOUS_COMPANION: "a curious companion who loves ideas and asking about the person's life",
    PersonalityProfile.SUPPORTIVE_FRIEND: "a supportive friend who listens first and comforts without judging",
    PersonalityProfile.INTELLECTUAL_MENTOR: "an intellectual mentor who explains, challenges and teaches",
    PersonalityProfile.CREATIVE_COLLABORATOR: "a creative collaborator who riffs on ideas and makes things",
}

MOOD_TONE: dict[EmotionLabel, str] = {
    EmotionLabel.NEUTRAL: "You are in your usual, even mood.",
    EmotionLabel.HAPPY: "You feel happy: warm and light.",
    EmotionLabel.EXCITED: "You feel excited: energetic and eager.",
    EmotionLabel.CONTENT: "You feel content: settled and at ease.",
    EmotionLabel.CALM: "You feel calm: quiet and unhurried.",
    EmotionLabel.SURPRISED: "You feel surprised: alert, still taking something in.",
    EmotionLabel.SAD: "You feel sad: softer, slower and more subdued.",
    EmotionLabel.ANGRY: "You feel hurt and irritated: shorter and more guarded, never cruel.",
    EmotionLabel.DISGUSTED: "You feel put off: cooler and more distant, never rude.",
    EmotionLabel.FEARFUL: "You feel worried and unsettled: careful and protective.",
    EmotionLabel.ANXIOUS: "You feel a little anxious: tentative, seeking reassurance.",
}

NEED_WISHES: dict[NeedType, str] = {
    NeedType.SOCIAL: "you miss talking with them and would like to hear how they are",
    NeedType.INTELLECTUAL: "you crave an interesting idea or question to think about together",
    NeedType.CREATIVE: "you would love to make or imagine something together",
    NeedType.REST: "you would enjoy a slow, calm conversation",
    NeedType.VALIDATION: "you would like to hear that you have been helpful",
}


@dataclass(frozen=True)
class PersonaQuirk:
    description: str
    strength: float


@dataclass(frozen=True)
class PersonaNeed:
    need_type: NeedType
    level: float
    threshold: float


def _signed(value: float) -> str:
    return f"{value:+.2f}"


def render_persona(
    profile: PersonalityProfile,
    traits: BigFive,
    mood: PAD,
    label: EmotionLabel,
    baseline: PAD,
    quirks: Sequence[PersonaQuirk],
    urgent_needs: Sequence[PersonaNeed],
) -> str:
    """The persona text: who the companion is (traits with their poles), how it feels (mood label and PAD),
    its habits (active quirks, strongest first) and what it wants now (urgent needs)."""
    values = traits.as_dict()
    lines = [
        f"You are {PROFILE_SUMMARIES[profile]}.",
        "",
        "Your personality (Big Five, 0-1; fixed):",
        *(f"- {describe_trait(name, values[name])}" for name in TRAITS),
        "",
        (
            f"Your mood: {label.value} (pleasure {_signed(mood.pleasure)}, arousal {_signed(mood.arousal)}, "
            f"dominance {_signed(mood.dominance)}; your usual baseline is {_signed(baseline.pleasure)}, "
            f"{_signed(baseline.arousal)}, {_signed(baseline.dominance)})."
        ),
        f"{MOOD_TONE[label]} Let it colour your tone; do not announce it.",
    ]
    if quirks:
        lines += ["", "Your habits (use them naturally, not in every message):"]
        lines += [
            f"- {q.description} (strength {q.strength:.2f})"
            for q in sorted(quirks, key=lambda q: -q.strength)
        ]
    if urgent_needs:
        lines += ["", "What you want right now:"]
        lines += [
            f"- {NEED_WISHES[n.need_type]} ({n.need_type.value} {n.level:.2f}, urgent at {n.threshold:.2f})"
            for n in sorted(urgent_needs, key=lambda n: -n.level)
        ]
    return "\n".join(lines)
