"""The proactive score (docs/proactive.md#the-score) and the hard limits, as pure functions.

    base   = 0.40·need_urgency + 0.25·timing + 0.35·interaction_pattern
    score  = clamp01(base × personality_factor × max(0.1, 1 − recent_penalty))
    initiate when score ≥ threshold (0.6) and no hard limit blocks.

Every component is kept (``Score.components()``), so a stored initiation and ``GET .../status`` can say why.
Elapsed times are never negative: clock skew reads as zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.personality.needs import NeedType
from gateway.personality.pad import PAD
from gateway.personality.profiles import BigFive

W_NEED = 0.40
W_TIMING = 0.25
W_PATTERN = 0.35

# Type weights of need urgency; our needs carry no separate proactive weight (= 1).
NEED_WEIGHTS: dict[str, float] = {
    NeedType.SOCIAL.value: 0.35,
    NeedType.VALIDATION.value: 0.25,
    NeedType.INTELLECTUAL.value: 0.20,
    NeedType.CREATIVE.value: 0.15,
    NeedType.REST.value: 0.05,
}
OTHER_NEED_WEIGHT = 0.1

# Personality factor: 1 + Σ (trait − 0.5) × weight, times the PAD influence, clamped.
TRAIT_WEIGHTS: dict[str, float] = {
    "extraversion": 0.3,
    "openness": 0.2,
    "agreeableness": 0.1,
    "conscientiousness": -0.1,
    "neuroticism": 0.15,
}
PERSONALITY_FACTOR_RANGE = (0.3, 1.7)

# Timing: at least this many of the user's own messages in the window before their histogram is trusted
# (fewer: 0.5); neighbouring hours count half (people are not punctual to the hour).
MIN_ACTIVITY_POINTS = 5
NEIGHBOUR_HOUR_WEIGHT = 0.5

# Interaction pattern defaults for a user without history.
DEFAULT_RESPONSE_RATE = 0.5
DEFAULT_CONVERSATION_LENGTH = 3.0
DEFAULT_INITIATION_RATIO = 0.5
NEW_USER_PATTERN = 0.5

# Recent penalty: the short-term term (1 − h/4 within 4 h of the last proactive message) plus two
# terms of ours, so a quiet day gets one message, not the daily cap: each proactive message of the last
# 24 h and each unanswered one weigh on the next. The multiplier is floored at 0.1.
PENALTY_PER_MESSAGE_TODAY = 0.5
PENALTY_PER_UNANSWERED = 0.25
MIN_PENALTY_MULTIPLIER = 0.1

REASONS = ("need_urgency", "timing_optimal", "interaction_pattern")


def hours_between(later: datetime | None, earlier: datetime | None) -> float | None:
    """Hours from ``earlier`` to ``later``; None when either is unknown; negative (clock skew) reads as 0."""
    if later is None or earlier is None:
        return None
    return max(0.0, (later - earlier).total_seconds() / 3600.0)


def resolve_zone(name: str | None) -> tuple[ZoneInfo, str | None]:
    """The user's time zone, or UTC with a warning saying why when the stored name is unknown."""
    try:
        if not name:
            raise ValueError("empty")
        return ZoneInfo(name), None
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC"), f"unknown time zone {name!r}; proactive timing and quiet hours use UTC"


def in_quiet_hours(local_hour: int, start: int, end: int) -> bool:
    """Quiet from ``start`` (inclusive) to ``end`` (exclusive), local hours; wraps midnight; equal = none."""
    if start == end:
        return False
    if start < end:
        return start <= local_hour < end
    return local_hour >= start or local_hour < end


# --- components -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedReading:
    need_type: str
    level: float
    threshold: float


def need_urgency(needs: Sequence[NeedReading]) -> tuple[float, str | None, dict[str, float]]:
    """Σ over needs at or above their threshold of (level − threshold)/(1 − threshold)
    × type weight, capped at 1. Returns the value, the need contributing most (or None) and each share."""
    shares: dict[str, float] = {}
    for need in needs:
        if need.level < need.threshold:
            continue
        span = max(1e-9, 1.0 - need.threshold)
        urgency = min(1.0, (need.level - need.threshold) / span)
        shares[need.need_type] = urgency * NEED_WEIGHTS.get(need.need_type, OTHER_NEED_WEIGHT)
    top = max(shares, key=lambda name: shares[name]) if shares else None
    return min(1.0, sum(shares.values())), top, shares


def activity_gap_penalty(hours_since_activity: float | None) -> float:
    """The timing penalty by hours since the user's last activity: just talked, or long gone."""
    if hours_since_activity is None:
        return 0.0
    h = hours_since_activity
    if h < 4:
        return (4 - h) / 4 * 0.5
    if h <= 72:
        return 0.0
    return min(0.8, (h - 72) / 168 * 0.5)


@dataclass(frozen=True)
class Timing:
    value: float
    hour_activity: float
    weekday_activity: float
    gap_penalty: float
    local_hour: int
    local_weekday: int  # 0 = Monday
    points: int


def timing(
    hour_counts: Sequence[int],
    weekday_counts: Sequence[int],
    local_hour: int,
    local_weekday: int,
    hours_since_activity: float | None,
) -> Timing:
    """In the user's time zone: (0.7·hour activity + 0.3·weekday activity) × (1 − gap
    penalty). Each activity is the user's own message count at that hour (neighbours half) or weekday over
    the window, normalised to its maximum; 0.5 each until the user has ``MIN_ACTIVITY_POINTS`` messages."""
    points = sum(hour_counts)
    if points < MIN_ACTIVITY_POINTS:
        hour_activity = weekday_activity = 0.5
    else:
        smoothed = [
            hour_counts[h] + NEIGHBOUR_HOUR_WEIGHT * (hour_counts[(h - 1) % 24] + hour_counts[(h + 1) % 24])
            for h in range(24)
        ]
        hour_activity = smoothed[local_hour] / max(smoothed)
        weekday_activity = weekday_counts[local_weekday] / max(max(weekday_counts), 1)
    penalty = activity_gap_penalty(hours_since_activity)
    value = (0.7 * hour_activity + 0.3 * weekday_activity) * (1 - penalty)
    return Timing(
        value=_clamp01(value),
        hour_activity=round(hour_activity, 4),
        weekday_activity=round(weekday_activity, 4),
        gap_penalty=round(penalty, 4),
        local_hour=local_hour,
        local_weekday=local_weekday,
        points=points,
    )


def time_gap(hours_since_interaction: float | None) -> float:
    """Grows to 1 over the first 12 h, 1 up to 48 h, then slowly up to 1.2."""
    if hours_since_interaction is None:
        return 1.0
    h = hours_since_interaction
    if h < 12:
        return h / 12
    if h <= 48:
        return 1.0
    return min(1.2, 1 + (h - 48) / 120 * 0.2)


@dataclass(frozen=True)
class PatternStats:
    """The user's interaction history over the window (one row of the scan's aggregate query)."""

    user_messages: int = 0
    conversations: int = 0
    user_started: int = 0
    proactive_sent: int = 0
    proactive_answered: int = 0
    proactive_last_24h: int = 0
    last_user_message_at: datetime | None = None
    hour_counts: tuple[int, ...] = field(default_factory=lambda: (0,) * 24)
    weekday_counts: tuple[int, ...] = field(default_factory=lambda: (0,) * 7)


@dataclass(frozen=True)
class Pattern:
    value: float
    response_rate: float
    avg_conversation_length: float
    time_gap: float
    initiation_ratio: float
    new_user: bool


def interaction_pattern(stats: PatternStats, hours_since_interaction: float | None) -> Pattern:
    """0.4·proactive response rate + 0.3·min(1, conversation length/10) + 0.2·time gap
    + 0.1·(1.5 − user initiation ratio), clamped; 0.5 for a user with no history. A user message answering
    a proactive one counts as a response."""
    gap = time_gap(hours_since_interaction)
    if stats.user_messages == 0 and stats.proactive_sent == 0:
        return Pattern(NEW_USER_PATTERN, DEFAULT_RESPONSE_RATE, DEFAULT_CONVERSATION_LENGTH, gap, 0.5, True)
    rate = stats.proactive_answered / stats.proactive_sent if stats.proactive_sent else DEFAULT_RESPONSE_RATE
    length = stats.user_messages / stats.conversations if stats.conversations else DEFAULT_CONVERSATION_LENGTH
    ratio = stats.user_started / stats.conversations if stats.conversations else DEFAULT_INITIATION_RATIO
    value = 0.4 * rate + 0.3 * min(1.0, length / 10) + 0.2 * gap + 0.1 * (1.5 - ratio)
    return Pattern(
        value=_clamp01(value),
        response_rate=round(rate, 4),
        avg_conversation_length=round(length, 3),
        time_gap=round(gap, 4),
        initiation_ratio=round(ratio, 4),
        new_user=False,
    )


def personality_factor(traits: BigFive, mood: PAD) -> float:
    """(1 + Σ (trait − 0.5)·weight) × (0.8 + 0.3P)(1 − 0.2|A|)(0.9 + 0.2D), clamped to [0.3, 1.7]."""
    values = traits.as_dict()
    base = 1.0 + sum((values[name] - 0.5) * weight for name, weight in TRAIT_WEIGHTS.items())
    influence = (0.8 + 0.3 * mood.pleasure) * (1 - 0.2 * abs(mood.arousal)) * (0.9 + 0.2 * mood.dominance)
    low, high = PERSONALITY_FACTOR_RANGE
    return min(high, max(low, base * influence))


def recent_penalty(hours_since_proactive: float | None, last_24h: int, unanswered: int) -> float:
    """The largest of: 1 − h/4 within 4 h of the last proactive message; 0.5 per proactive message in
    the last 24 h; 0.25 per unanswered one. In [0, 1]."""
    short_term = 0.0
    if hours_since_proactive is not None and hours_since_proactive < 4:
        short_term = 1 - hours_since_proactive / 4
    value = max(short_term, PENALTY_PER_MESSAGE_TODAY * last_24h, PENALTY_PER_UNANSWERED * unanswered)
    return _clamp01(value)


@dataclass(frozen=True)
class Score:
    total: float
    base: float
    need_urgency: float
    top_need: str | None
    need_shares: dict[str, float]
    timing: Timing
    pattern: Pattern
    personality_factor: float
    recent_penalty: float
    reason: str

    def components(self) -> dict[str, object]:
        """Everything the score was made of, JSON-ready (stored with each initiation)."""
        return {
            "total": round(self.total, 4),
            "base": round(self.base, 4),
            "need_urgency": round(self.need_urgency, 4),
            "top_need": self.top_need,
            "need_shares": {name: round(value, 4) for name, value in self.need_shares.items()},
            "timing": round(self.timing.value, 4),
            "timing_detail": asdict(self.timing) | {"value": round(self.timing.value, 4)},
            "interaction_pattern": round(self.pattern.value, 4),
            "pattern_detail": asdict(self.pattern) | {"value": round(self.pattern.value, 4)},
            "personality_factor": round(self.personality_factor, 4),
            "recent_penalty": round(self.recent_penalty, 4),
            "reason": self.reason,
        }


def score(
    *,
    needs: Sequence[NeedReading],
    traits: BigFive,
    mood: PAD,
    stats: PatternStats,
    local_now: datetime,
    hours_since_activity: float | None,
    hours_since_interaction: float | None,
    hours_since_proactive: float | None,
    unanswered: int,
) -> Score:
    """The whole score for one user at ``local_now`` (the user's local time). ``hours_since_activity`` counts
    from the user's last message, ``hours_since_interaction`` from the last exchange either way."""
    urgency, top_need, shares = need_urgency(needs)
    timed = timing(
        stats.hour_counts, stats.weekday_counts, local_now.hour, local_now.weekday(), hours_since_activity
    )
    pattern = interaction_pattern(stats, hours_since_interaction)
    factor = personality_factor(traits, mood)
    penalty = recent_penalty(hours_since_proactive, stats.proactive_last_24h, unanswered)
    weighted = {
        "need_urgency": W_NEED * urgency,
        "timing_optimal": W_TIMING * timed.value,
        "interaction_pattern": W_PATTERN * pattern.value,
    }
    base = sum(weighted.values())
    total = _clamp01(base * factor * max(MIN_PENALTY_MULTIPLIER, 1 - penalty))
    reason = max(REASONS, key=lambda name: weighted[name])
    return Score(total, base, urgency, top_need, shares, timed, pattern, factor, penalty, reason)


# --- hard limits ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    max_per_day: int = 3
    min_hours_between: float = 4.0
    quiet_minutes_after_user: float = 30.0
    max_unanswered: int = 2


def blocked_by(
    *,
    limits: Limits,
    now: datetime,
    local_hour: int,
    enabled: bool,
    status: str,
    quiet_start: int,
    quiet_end: int,
    last_proactive_at: datetime | None,
    last_user_at: datetime | None,
    sent_last_24h: int,
    unanswered: int,
) -> list[str]:
    """Every hard limit that forbids a proactive message now (empty: allowed)."""
    blocked: list[str] = []
    if not enabled:
        blocked.append("opted_out")
    if status not in ("active", "dormant"):
        blocked.append(f"status_{status}")
    if in_quiet_hours(local_hour, quiet_start, quiet_end):
        blocked.append("quiet_hours")
    if sent_last_24h >= limits.max_per_day:
        blocked.append("daily_cap")
    since_proactive = hours_between(now, last_proactive_at)
    if since_proactive is not None and since_proactive < limits.min_hours_between:
        blocked.append("too_soon_after_last_proactive")
    since_user = hours_between(now, last_user_at)
    if since_user is not None and since_user * 60 < limits.quiet_minutes_after_user:
        blocked.append("user_just_wrote")
    if unanswered >= limits.max_unanswered:
        blocked.append("backoff_unanswered")
    return blocked


def window_start(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def _clamp01(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))
