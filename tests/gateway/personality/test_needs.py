"""Needs: levels rise per hour from elapsed time, topics satisfy them, urgency at the threshold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.personality.needs import (
    CONTACT_SATISFACTION,
    GROWTH_PER_HOUR,
    TOPIC_SATISFACTION,
    NeedType,
    classify,
    grown_level,
    is_urgent,
    satisfaction,
)
from tests.gateway.personality.conftest import T0


def test_levels_rise_at_their_hourly_rate() -> None:
    """Social rises 0.03 per hour: from 0.5 it reaches the 0.8 threshold after 10 hours."""
    rate = GROWTH_PER_HOUR[NeedType.SOCIAL]
    assert rate == 0.03
    assert grown_level(0.5, rate, T0, T0 + timedelta(hours=10)) == pytest.approx(0.8)
    assert is_urgent(grown_level(0.5, rate, T0, T0 + timedelta(hours=10)), 0.8)
    assert not is_urgent(grown_level(0.5, rate, T0, T0 + timedelta(hours=9)), 0.8)


def test_levels_stop_at_one_and_never_fall_with_time() -> None:
    """A week alone caps at 1; a clock running backwards changes nothing."""
    assert grown_level(0.5, 0.04, T0, T0 + timedelta(days=7)) == 1.0
    assert grown_level(0.5, 0.04, T0, T0 - timedelta(hours=3)) == 0.5


@pytest.mark.parametrize(
    ("message", "needs"),
    [
        ("hey, how was your day?", {NeedType.SOCIAL}),
        ("why does the universe expand faster than light?", {NeedType.INTELLECTUAL}),
        ("I'm writing a short story about a lighthouse", {NeedType.CREATIVE}),
        ("so tired, going to sleep soon, goodnight", {NeedType.REST}),
        ("thank you, you're so helpful", {NeedType.VALIDATION}),
    ],
)
def test_topics_map_to_the_needs_they_satisfy(message: str, needs: set[NeedType]) -> None:
    """Social talk, ideas, making things, rest and praise each satisfy their need."""
    assert needs <= classify(message)


def test_any_message_is_some_social_contact() -> None:
    """A message with no topic still satisfies social a little; a topic satisfies its need fully."""
    assert satisfaction("ok") == {NeedType.SOCIAL: CONTACT_SATISFACTION}
    amounts = satisfaction("can you explain how black holes form?")
    assert amounts[NeedType.INTELLECTUAL] == TOPIC_SATISFACTION
    assert amounts[NeedType.SOCIAL] == CONTACT_SATISFACTION
