"""The companion's needs (social, intellectual, creative, rest, validation): they rise every hour without
satisfaction, and conversations satisfy them by topic.

The rule, applied to each user message:
- any message is contact: ``social`` falls by ``CONTACT_SATISFACTION``;
- each topic the classifier finds falls by ``TOPIC_SATISFACTION``: social talk (greetings, feelings, people,
  "how was your day") -> social; ideas (questions about how and why, science, books, philosophy, learning)
  -> intellectual; making things (writing, drawing, music, building, cooking, projects) -> creative; rest
  (relaxing, sleep, a calm slow chat, goodnight) -> rest; praise or thanks for the companion -> validation.
Levels never leave [0, 1]; a need is urgent at or above its trigger threshold (0.8 by default).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from gateway.personality.appraisal import CUE_PATTERNS, EventCue, normalise


class NeedType(StrEnum):
    SOCIAL = "social"
    INTELLECTUAL = "intellectual"
    CREATIVE = "creative"
    REST = "rest"
    VALIDATION = "validation"


# The rates (docs/personality.md#needs): how much each need rises per hour without satisfaction.
GROWTH_PER_HOUR: dict[NeedType, float] = {
    NeedType.SOCIAL: 0.03,
    NeedType.INTELLECTUAL: 0.02,
    NeedType.CREATIVE: 0.015,
    NeedType.REST: 0.04,
    NeedType.VALIDATION: 0.025,
}
INITIAL_LEVEL = 0.5
TRIGGER_THRESHOLD = 0.8
CONTACT_SATISFACTION = 0.1
TOPIC_SATISFACTION = 0.3


def grown_level(level: float, growth_per_hour: float, last_updated: datetime, now: datetime) -> float:
    """The level at ``now``: ``min(1, level + hours elapsed x rate)`` (no time passes backwards)."""
    hours = max(0.0, (now - last_updated).total_seconds() / 3600.0)
    return min(1.0, max(0.0, level + hours * growth_per_hour))


def is_urgent(level: float, threshold: float) -> bool:
    return level >= threshold


def _topic(alternatives: str) -> re.Pattern[str]:
    joined = "|".join(line.strip() for line in alternatives.strip().splitlines() if line.strip())
    return re.compile(r"\b(?:" + joined + r")\b")


TOPIC_PATTERNS: dict[NeedType, re.Pattern[str]] = {
    NeedType.SOCIAL: _topic(r"""
        hi|hey|hello|heya|good (?:morning|evening|afternoon)|how are (?:you|u)|how'?s it going|what'?s up|sup
        how (?:was|is) your (?:day|night|week|weekend)|my day|today was|miss(?:ed)? (?:you|u)|chat|talk(?:ing)?
        lol|haha\w*|friends?|family|mom|mum|dad|sister|brother|girlfriend|boyfriend|partner|party|date
        i feel|i'?m feeling|feel like|lonely|how do you feel|tell me about (?:you|yourself)|about your day
    """),
    NeedType.INTELLECTUAL: _topic(r"""
        why|how (?:does|do|did|come|would|could|can)|what (?:is|are|was|were|if|makes|causes)|explain
        wonder\w*|curious|think about|thoughts on|opinion|philosoph\w*|science|scientific|physics|chemistry
        biology|math\w*|history|historical|universe|space|planet\w*|theory|theories|idea|ideas|concept\w*
        book|books|reading|read|learn\w*|study\w*|research\w*|debate|argument|meaning|psycholog\w*
        econom\w*|politic\w*|programming|code|coding|algorithm\w*|language|languages|fact|facts
    """),
    NeedType.CREATIVE: _topic(r"""
        write|writing|wrote|story|stories|poem\w*|poetry|novel|lyrics|song\w*|music|compose\w*|melody
        draw\w*|sketch\w*|paint\w*|art|artist|design\w*|build\w*|built|make|making|made|craft\w*|knit\w*
        sew\w*|bak(?:e|ed|ing)|cook\w*|recipe\w*|project\w*|create|creating|creative|imagin\w*|invent\w*
        brainstorm\w*|roleplay|worldbuilding|character\w*|photo\w*|film\w*|video\w*|garden\w*|diy
    """),
    NeedType.REST: _topic(r"""
        relax\w*|rest|resting|sleep\w*|nap\w*|tired|exhausted|calm|chill\w*|breathe|meditat\w*|quiet
        slow (?:day|morning|evening|down)|lazy|cozy|cosy|take a break|taking a break|good ?night|gn
        unwind\w*|bath|vacation|holiday|weekend off|day off|peaceful|cuddl\w*|tea
    """),
}


def classify(message: str) -> set[NeedType]:
    """The topics of a message, as the needs they satisfy (validation: praise or thanks for the companion)."""
    text = normalise(message)
    topics = {need for need, pattern in TOPIC_PATTERNS.items() if pattern.search(text)}
    if CUE_PATTERNS[EventCue.PRAISE].search(text) or CUE_PATTERNS[EventCue.GRATITUDE].search(text):
        topics.add(NeedType.VALIDATION)
    return topics


def satisfaction(message: str) -> dict[NeedType, float]:
    """How much each need falls because of this message (the rule in the module docstring)."""
    amounts = {need: TOPIC_SATISFACTION for need in classify(message)}
    amounts[NeedType.SOCIAL] = max(amounts.get(NeedType.SOCIAL, 0.0), CONTACT_SATISFACTION)
    return amounts
