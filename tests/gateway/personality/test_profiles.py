"""Profiles: concrete Big Five values, a small deterministic per-user jitter, the trait poles."""

from __future__ import annotations

import pytest

from gateway.personality.profiles import (
    JITTER,
    PROFILE_TRAITS,
    TRAITS,
    BigFive,
    PersonalityProfile,
    describe_trait,
    jitter,
    traits_for,
)


def test_every_profile_has_distinct_traits_in_range() -> None:
    """The four plan profiles each have five traits in [0, 1], and no two profiles are the same."""
    assert set(PROFILE_TRAITS) == set(PersonalityProfile)
    values = [tuple(t.as_dict().values()) for t in PROFILE_TRAITS.values()]
    assert len(set(values)) == 4
    assert all(0.0 <= v <= 1.0 for row in values for v in row)


def test_profiles_differ_where_their_names_say() -> None:
    """The supportive friend is the most agreeable, the mentor the most conscientious, the collaborator the
    most open."""
    by = PROFILE_TRAITS
    assert max(by, key=lambda p: by[p].agreeableness) is PersonalityProfile.SUPPORTIVE_FRIEND
    assert max(by, key=lambda p: by[p].conscientiousness) is PersonalityProfile.INTELLECTUAL_MENTOR
    assert max(by, key=lambda p: by[p].openness) is PersonalityProfile.CREATIVE_COLLABORATOR


def test_jitter_is_deterministic_small_and_per_user() -> None:
    """The same user always gets the same traits; other users get others; no trait moves more than JITTER."""
    profile = PersonalityProfile.CURIOUS_COMPANION
    first = traits_for(profile, "111")
    assert traits_for(profile, "111") == first
    others = {traits_for(profile, str(n)) for n in range(200, 230)}
    assert len(others) == 30
    base = PROFILE_TRAITS[profile].as_dict()
    for traits in [first, *others]:
        for name, value in traits.as_dict().items():
            assert abs(value - base[name]) <= JITTER + 0.0005
    offsets = [jitter(str(n), "openness") for n in range(500)]
    assert min(offsets) < -JITTER / 2 and max(offsets) > JITTER / 2  # both directions are used


def test_traits_outside_the_unit_interval_are_refused() -> None:
    """A trait of 1.2 is not a Big Five value."""
    with pytest.raises(ValueError, match="openness must be in"):
        BigFive(1.2, 0.5, 0.5, 0.5, 0.5)


@pytest.mark.parametrize(
    ("trait", "value", "expected"),
    [
        ("openness", 0.9, "very creative and curious"),
        ("extraversion", 0.25, "fairly reserved"),
        ("neuroticism", 0.52, "balanced between calm and resilient and sensitive and nervous"),
    ],
)
def test_trait_descriptions_name_the_pole(trait: str, value: float, expected: str) -> None:
    """A trait is described by the pole it leans to and how far."""
    assert describe_trait(trait, value) == f"{trait} {value:.2f}: {expected}"
    assert trait in TRAITS
