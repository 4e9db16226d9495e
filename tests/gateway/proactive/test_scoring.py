"""The proactive score's components and hard limits, as pure functions (docs/proactive.md#the-score)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.personality.pad import PAD
from gateway.personality.profiles import BigFive
from gateway.proactive import scoring

NOW = datetime(2025, 3, 5, 18, 0, tzinfo=UTC)
NEUTRAL = BigFive(0.5, 0.5, 0.5, 0.5, 0.5)


def test_personality_factor_follows_the_plans_formula() -> None:
    """(1 + Σ(trait − 0.5)·w) × (0.8 + 0.3P)(1 − 0.2|A|)(0.9 + 0.2D), clamped to [0.3, 1.7]."""
    traits = BigFive(0.85, 0.5, 0.65, 0.75, 0.35)
    mood = PAD(0.4, -0.5, 0.2)
    base = 1 + 0.35 * 0.2 + 0.15 * 0.3 + 0.25 * 0.1 + (-0.15) * 0.15
    expected = base * (0.8 + 0.12) * (1 - 0.1) * (0.9 + 0.04)
    assert scoring.personality_factor(traits, mood) == pytest.approx(expected)
    assert scoring.personality_factor(BigFive(0, 1, 0, 0, 0), PAD(-1, 1, -1)) == 0.3


def test_need_urgency_weighs_urgent_needs_by_type() -> None:
    """Only needs at or above their threshold count, (level − thr)/(1 − thr) × type weight, capped at 1."""
    needs = [
        scoring.NeedReading("social", 0.9, 0.8),
        scoring.NeedReading("rest", 1.0, 0.8),
        scoring.NeedReading("creative", 0.7, 0.8),
    ]
    value, top, shares = scoring.need_urgency(needs)
    assert value == pytest.approx(0.5 * 0.35 + 1.0 * 0.05)
    assert top == "social" and set(shares) == {"social", "rest"}
    full = [scoring.NeedReading(name, 1.0, 0.8) for name in scoring.NEED_WEIGHTS]
    assert scoring.need_urgency(full)[0] == 1.0


def test_timing_reads_the_users_own_hours_and_weekdays() -> None:
    """Activity at this hour (neighbours half) and weekday, normalised to the maximum; 0.5 without history."""
    hours = [0] * 24
    hours[20] = 10
    weekdays = [2, 2, 2, 2, 2, 0, 0]
    at_eight = scoring.timing(hours, weekdays, 20, 0, hours_since_activity=24)
    assert at_eight.value == pytest.approx(0.7 * 1 + 0.3 * 1)
    at_seven = scoring.timing(hours, weekdays, 19, 5, hours_since_activity=24)
    assert at_seven.hour_activity == pytest.approx(0.5) and at_seven.weekday_activity == 0
    at_noon = scoring.timing(hours, weekdays, 12, 0, hours_since_activity=24)
    assert at_noon.value == pytest.approx(0.3)
    new_user = scoring.timing([0] * 24, [0] * 7, 3, 2, hours_since_activity=None)
    assert new_user.value == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("hours", "penalty"),
    [(0, 0.5), (2, 0.25), (4, 0.0), (72, 0.0), (72 + 168, 0.5), (10_000, 0.8), (None, 0.0)],
)
def test_activity_gap_penalty_table(hours: float | None, penalty: float) -> None:
    """(4 − h)/4 × 0.5 under 4 h, 0 up to 72 h, then min(0.8, (h − 72)/168 × 0.5)."""
    assert scoring.activity_gap_penalty(hours) == pytest.approx(penalty)


@pytest.mark.parametrize(("hours", "gap"), [(0, 0), (6, 0.5), (12, 1), (48, 1), (168, 1.2), (1000, 1.2)])
def test_time_gap_table(hours: float, gap: float) -> None:
    """h/12 under 12 h, 1 up to 48 h, then up to 1.2."""
    assert scoring.time_gap(hours) == pytest.approx(gap)


def test_interaction_pattern_counts_answers_to_proactive_messages() -> None:
    """0.4·response rate + 0.3·min(1, length/10) + 0.2·time gap + 0.1·(1.5 − initiation ratio)."""
    stats = scoring.PatternStats(
        user_messages=12, conversations=4, user_started=3, proactive_sent=2, proactive_answered=1
    )
    pattern = scoring.interaction_pattern(stats, hours_since_interaction=24)
    assert pattern.value == pytest.approx(0.4 * 0.5 + 0.3 * 0.3 + 0.2 * 1 + 0.1 * (1.5 - 0.75))
    assert scoring.interaction_pattern(scoring.PatternStats(), 24).value == 0.5


def test_recent_penalty_spaces_messages_out() -> None:
    """1 − h/4 within 4 h, 0.5 per message of the last 24 h, 0.25 per unanswered one; at most 1."""
    assert scoring.recent_penalty(1, 1, 1) == pytest.approx(0.75)
    assert scoring.recent_penalty(10, 1, 1) == pytest.approx(0.5)
    assert scoring.recent_penalty(None, 0, 1) == pytest.approx(0.25)
    assert scoring.recent_penalty(30, 0, 0) == 0
    assert scoring.recent_penalty(0, 3, 2) == 1


def test_score_combines_the_components_and_names_the_largest() -> None:
    """base = 0.40·need + 0.25·timing + 0.35·pattern, × personality factor × max(0.1, 1 − penalty)."""
    result = scoring.score(
        needs=[scoring.NeedReading(name, 1.0, 0.8) for name in scoring.NEED_WEIGHTS],
        traits=NEUTRAL,
        mood=PAD(),
        stats=scoring.PatternStats(),
        local_now=NOW,
        hours_since_activity=24,
        hours_since_interaction=24,
        hours_since_proactive=None,
        unanswered=0,
    )
    assert result.base == pytest.approx(0.4 + 0.25 * 0.5 + 0.35 * 0.5)
    assert result.total == pytest.approx(result.base * 0.72)
    assert result.reason == "need_urgency"
    components = result.components()
    for key in ("need_urgency", "timing", "interaction_pattern", "personality_factor", "recent_penalty"):
        assert key in components


def test_clock_skew_reads_as_no_time_passed() -> None:
    """A last activity in the future (skewed clocks) gives zero elapsed hours, never negative ones."""
    assert scoring.hours_between(NOW, NOW + timedelta(hours=3)) == 0
    assert scoring.time_gap(scoring.hours_between(NOW, NOW + timedelta(hours=3))) == 0


def test_unknown_timezone_falls_back_to_utc_with_a_warning() -> None:
    """An invalid zone string is replaced by UTC and the reason is given."""
    zone, warning = scoring.resolve_zone("Mars/Olympus_Mons")
    assert zone.key == "UTC" and warning is not None and "Mars/Olympus_Mons" in warning
    assert scoring.resolve_zone("Europe/Paris") == (scoring.ZoneInfo("Europe/Paris"), None)


@pytest.mark.parametrize(
    ("hour", "start", "end", "quiet"),
    [
        (23, 22, 8, True),
        (3, 22, 8, True),
        (8, 22, 8, False),
        (12, 22, 8, False),
        (13, 12, 14, True),
        (5, 7, 7, False),
    ],
)
def test_quiet_hours_wrap_midnight(hour: int, start: int, end: int, quiet: bool) -> None:
    """Quiet from start (inclusive) to end (exclusive), across midnight when start > end."""
    assert scoring.in_quiet_hours(hour, start, end) is quiet


def test_every_hard_limit_is_reported() -> None:
    """Opt-out, quiet hours, the daily cap, 4 h spacing, 30 min after the user, back-off after two unanswered."""
    blocked = scoring.blocked_by(
        limits=scoring.Limits(),
        now=NOW,
        local_hour=3,
        enabled=False,
        status="active",
        quiet_start=22,
        quiet_end=8,
        last_proactive_at=NOW - timedelta(hours=1),
        last_user_at=NOW - timedelta(minutes=10),
        sent_last_24h=3,
        unanswered=2,
    )
    assert blocked == [
        "opted_out",
        "quiet_hours",
        "daily_cap",
        "too_soon_after_last_proactive",
        "user_just_wrote",
        "backoff_unanswered",
    ]
    assert not scoring.blocked_by(
        limits=scoring.Limits(), now=NOW, local_hour=18, enabled=True, status="dormant", quiet_start=22,
        quiet_end=8, last_proactive_at=NOW - timedelta(hours=5), last_user_at=NOW - timedelta(hours=1),
        sent_last_24h=1, unanswered=1,
    )  # fmt: skip
