"""The personality service on the real Postgres: initialisation, fixed traits, decay on read and write,
clamped updates with history, concurrency, appraisal of the examples of docs/personality.md#appraisal-occ,
drift, quirks, needs, persona."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest

from gateway.personality.errors import PersonalityAlreadyInitializedError, PersonalityNotInitializedError
from gateway.personality.needs import NeedType
from gateway.personality.pad import PAD, EmotionLabel
from gateway.personality.profiles import BigFive, PersonalityProfile, traits_for
from gateway.personality.service import NEW_COMPANION_TURNS, PersonalityService
from tests.gateway.personality.conftest import DRIFT_RATE, T0

HOUR = timedelta(hours=1)


async def test_initialise_uses_the_profile_with_jitter_and_creates_needs(
    service: PersonalityService, user_id: str, pool: asyncpg.Pool
) -> None:
    """The traits are the profile's plus this user's jitter; mood and baseline start at neutral zero; the
    user's profile records the choice and time zone; five needs start at 0.5."""
    state = await service.initialize(
        user_id, profile=PersonalityProfile.SUPPORTIVE_FRIEND, timezone="Asia/Karachi", username="sam", now=T0
    )
    assert state.traits == traits_for(PersonalityProfile.SUPPORTIVE_FRIEND, user_id)
    assert state.pad == PAD() and state.baseline == PAD()
    assert state.label is EmotionLabel.NEUTRAL
    profile = await pool.fetchrow(
        "SELECT username, personality_profile, timezone FROM user_profiles WHERE user_id = $1", user_id
    )
    assert dict(profile) == {
        "username": "sam",
        "personality_profile": "supportive_friend",
        "timezone": "Asia/Karachi",
    }
    needs = await service.needs(user_id, T0)
    assert {n.need_type for n in needs} == set(NeedType)
    assert all(n.level == 0.5 and not n.urgent for n in needs)


async def test_traits_never_change(service: PersonalityService, companion: str, pool: asyncpg.Pool) -> None:
    """Once the companion is no longer new, initialising again is refused; updates copy the traits; the
    database refuses any attempt to change them, by UPDATE or by inserting a row with other traits."""
    original = (await service.current(companion, T0)).traits
    await pool.execute(  # the companion has answered enough messages to be settled
        "UPDATE user_profiles SET total_interactions = $2 WHERE user_id = $1", companion, NEW_COMPANION_TURNS
    )
    with pytest.raises(PersonalityAlreadyInitializedError):
        await service.initialize(companion, profile=PersonalityProfile.INTELLECTUAL_MENTOR, now=T0 + HOUR)
    await service.update_pad(companion, PAD(0.3, 0.1, 0.0), "test", T0 + HOUR)
    rows = await pool.fetch(
        "SELECT openness, neuroticism, profile FROM personality_state WHERE user_id = $1", companion
    )
    assert len(rows) == 2
    assert {(r["openness"], r["neuroticism"], r["profile"]) for r in rows} == {
        (original.openness, original.neuroticism, "curious_companion")
    }
    with pytest.raises(asyncpg.CheckViolationError, match="never change"):
        await pool.execute("UPDATE personality_state SET openness = 0.01 WHERE user_id = $1", companion)
    with pytest.raises(asyncpg.CheckViolationError, match="never change"):
        await pool.execute(
            """INSERT INTO personality_state (user_id, openness, conscientiousness, extraversion, agreeableness,
                   neuroticism, is_current) VALUES ($1, 0.1, 0.1, 0.1, 0.1, 0.1, FALSE)""",
            companion,
        )
    assert (await service.current(companion, T0 + 2 * HOUR)).traits == original


async def test_explicit_traits_are_kept_exactly(service: PersonalityService, user_id: str) -> None:
    traits = BigFive(0.1, 0.2, 0.3, 0.4, 0.5)
    state = await service.initialize(
        user_id, profile=PersonalityProfile.CURIOUS_COMPANION, traits=traits, now=T0
    )
    assert state.traits == traits


async def test_mood_decays_on_read_by_elapsed_time(service: PersonalityService, companion: str) -> None:
    """With the 4-hour half-life, +0.8 pleasure reads +0.4 four hours later and +0.1 twelve hours later,
    without any write."""
    await service.update_pad(companion, PAD(0.8, 0.0, 0.0), "good news", T0)
    assert (await service.current(companion, T0)).pad.pleasure == pytest.approx(0.8)
    assert (await service.current(companion, T0 + 4 * HOUR)).pad.pleasure == pytest.approx(0.4)
    late = await service.current(companion, T0 + 12 * HOUR)
    assert late.pad.pleasure == pytest.approx(0.1)
    assert late.stored_pad.pleasure == pytest.approx(0.8)


async def test_updates_start_from_the_decayed_mood_and_clamp(
    service: PersonalityService, companion: str
) -> None:
    """An update adds to the mood as it is now (decayed), and the result is clamped to [-1, 1]."""
    await service.update_pad(companion, PAD(0.8, 0.0, 0.0), "first", T0)
    change = await service.update_pad(companion, PAD(0.1, 2.0, -2.0), "second", T0 + 4 * HOUR)
    assert change.before.pleasure == pytest.approx(0.4)
    assert change.after == PAD(pytest.approx(0.5), 1.0, -1.0)  # type: ignore[arg-type]


async def test_every_update_writes_a_history_row_with_its_reason(
    service: PersonalityService, companion: str
) -> None:
    await service.update_pad(companion, PAD(0.2, 0.0, 0.0), "a kind word", T0 + HOUR)
    await service.update_pad(companion, PAD(-0.1, 0.1, 0.0), "a rude word", T0 + 2 * HOUR)
    states, total = await service.history(companion, days=30, limit=10, offset=0, now=T0 + 3 * HOUR)
    assert total == 3
    assert [s.reason for s in states] == ["a rude word", "a kind word", "initialised as curious_companion"]
    assert [s.is_current for s in states] == [True, False, False]
    page, total = await service.history(companion, days=30, limit=1, offset=1, now=T0 + 3 * HOUR)
    assert [s.reason for s in page] == ["a kind word"] and total == 3


async def test_history_window_is_in_days(service: PersonalityService, companion: str) -> None:
    """Rows older than the window are left out."""
    await service.update_pad(companion, PAD(0.2, 0.0, 0.0), "recent", T0 + timedelta(days=10))
    states, total = await service.history(companion, days=5, limit=10, offset=0, now=T0 + timedelta(days=11))
    assert [s.reason for s in states] == ["recent"] and total == 1


async def test_concurrent_updates_leave_one_current_row_and_lose_nothing(
    service: PersonalityService, companion: str, pool: asyncpg.Pool
) -> None:
    """Forty updates at once: every one is applied (serialised), and exactly one row is current."""
    await asyncio.gather(
        *(service.update_pad(companion, PAD(0.01, -0.01, 0.0), f"u{i}", T0) for i in range(40))
    )
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM personality_state WHERE user_id = $1 AND is_current", companion
        )
        == 1
    )
    assert await pool.fetchval("SELECT count(*) FROM personality_state WHERE user_id = $1", companion) == 41
    state = await service.current(companion, T0)
    assert state.pad.pleasure == pytest.approx(0.4)
    assert state.pad.arousal == pytest.approx(-0.4)


async def test_concurrent_reactions_and_drift_keep_one_current_row(
    service: PersonalityService, companion: str, pool: asyncpg.Pool
) -> None:
    """Reactions, admin updates and a drift racing each other still leave exactly one current row."""
    jobs = [service.react(companion, "I got a new puppy today!", T0 + HOUR) for _ in range(10)]
    jobs += [service.update_pad(companion, PAD(-0.05, 0, 0), "admin", T0 + HOUR) for _ in range(10)]
    jobs.append(service.drift_baseline(companion, T0 + HOUR))
    await asyncio.gather(*jobs)
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM personality_state WHERE user_id = $1 AND is_current", companion
        )
        == 1
    )


async def test_puppy_raises_pleasure(service: PersonalityService, companion: str) -> None:
    """The plan's first example, through the whole engine."""
    reaction = await service.react(companion, "I got a new puppy today!", T0 + HOUR)
    assert reaction.change.after.pleasure > reaction.change.before.pleasure
    assert reaction.change.state.label is EmotionLabel.HAPPY
    assert reaction.change.state.reason is not None and "happy_for" in reaction.change.state.reason


async def test_grief_lowers_pleasure_and_dominance(service: PersonalityService, companion: str) -> None:
    """The plan's second example: pleasure and the companion's dominance fall."""
    reaction = await service.react(companion, "my mom passed away last night", T0 + HOUR)
    assert reaction.change.after.pleasure < reaction.change.before.pleasure
    assert reaction.change.after.dominance < reaction.change.before.dominance
    assert reaction.change.state.label is EmotionLabel.SAD


async def test_insult_lowers_pleasure(service: PersonalityService, companion: str) -> None:
    """The plan's third example."""
    reaction = await service.react(companion, "you're useless", T0 + HOUR)
    assert reaction.change.after.pleasure < reaction.change.before.pleasure


async def test_small_talk_writes_nothing(service: PersonalityService, companion: str) -> None:
    """A message that stirs no emotion leaves the state as it was."""
    reaction = await service.react(companion, "what's the weather like where you are", T0 + HOUR)
    assert reaction.change.before == reaction.change.after
    _, total = await service.history(companion, 30, 10, 0, T0 + HOUR)
    assert total == 1


async def test_unknown_user_has_no_personality(service: PersonalityService, user_id: str) -> None:
    with pytest.raises(PersonalityNotInitializedError):
        await service.current(user_id, T0)
    with pytest.raises(PersonalityNotInitializedError):
        await service.ensure(user_id, T0)


async def test_ensure_initialises_once_with_the_users_profile(
    service: PersonalityService, user_id: str, pool: asyncpg.Pool
) -> None:
    """A user the chat created gets the profile their record names, once, even when asked concurrently."""
    await pool.execute(
        "INSERT INTO user_profiles (user_id, username, personality_profile) VALUES ($1, 'x', 'creative_collaborator')",
        user_id,
    )
    states = await asyncio.gather(*(service.ensure(user_id, T0) for _ in range(5)))
    assert {s.id for s in states} == {states[0].id}
    assert states[0].profile is PersonalityProfile.CREATIVE_COLLABORATOR


async def add_turns(
    pool: asyncpg.Pool, user_id: str, moods: list[PAD], start: object, reply: str = "ok"
) -> None:
    for i, mood in enumerate(moods):
        await pool.execute(
            "INSERT INTO interactions (user_id, created_at, assistant_response, pad_after) VALUES ($1, $2, $3, $4)",
            user_id,
            start + timedelta(hours=i),  # type: ignore[operator]
            reply,
            mood.as_dict(),
        )


async def test_drift_moves_the_baseline_toward_the_weeks_mean(
    service: PersonalityService, companion: str, pool: asyncpg.Pool
) -> None:
    """Five turns with mean pleasure 0.5 in the last week move the baseline by rate x 0.5; older turns and
    turns without a mood are ignored; the drift is a history row with its reason."""
    now = T0 + timedelta(days=3)
    await add_turns(pool, companion, [PAD(0.9, 0, 0)] * 3, T0 - timedelta(days=10))  # too old
    await add_turns(pool, companion, [PAD(0.5, 0.2, -0.1)] * 5, T0)
    await pool.execute(
        "INSERT INTO interactions (user_id, created_at, assistant_response) VALUES ($1, $2, 'x')",
        companion,
        T0,
    )
    outcome = await service.drift_baseline(companion, now)
    assert outcome.applied and outcome.interactions == 5
    assert outcome.after.pleasure == pytest.approx(DRIFT_RATE * 0.5)
    assert outcome.after.dominance == pytest.approx(DRIFT_RATE * -0.1)
    state = await service.current(companion, now)
    assert state.baseline == outcome.after
    assert state.reason is not None and state.reason.startswith("baseline drift")


async def test_drift_needs_five_turns(
    service: PersonalityService, companion: str, pool: asyncpg.Pool
) -> None:
    await add_turns(pool, companion, [PAD(0.5, 0, 0)] * 4, T0)
    outcome = await service.drift_baseline(companion, T0 + timedelta(days=1))
    assert not outcome.applied and outcome.interactions == 4
    assert (await service.current(companion, T0 + timedelta(days=1))).baseline == PAD()


async def test_evolve_mines_the_companions_replies_and_applies_the_rules(
    service: PersonalityService, companion: str, pool: asyncpg.Pool
) -> None:
    """The local miner finds a recurring phrase in the week's replies; a second night reinforces it;
    three weeks of silence fade it."""
    await add_turns(pool, companion, [PAD()] * 4, T0, reply="Tell me more about that! 🌻")
    first = await service.evolve(companion, T0 + timedelta(days=1))
    assert first.quirks.source == "local" and first.quirks.created >= 1
    quirks = {q.description: q for q in await service.quirks(companion)}
    assert quirks['often says "tell me more about that"'].strength == pytest.approx(1.0)
    assert "uses the 🌻 emoji" in quirks

    await pool.execute("UPDATE quirks SET strength = 0.5 WHERE user_id = $1", companion)
    second = await service.evolve_quirks(companion, T0 + timedelta(days=2))
    assert second.reinforced >= 1
    quirks = {q.description: q for q in await service.quirks(companion)}
    assert quirks["uses the 🌻 emoji"].strength == pytest.approx(0.6)
    assert quirks["uses the 🌻 emoji"].times_expressed == 2

    silent = await service.evolve_quirks(companion, T0 + timedelta(days=23))
    assert silent.replies_read == 0 and silent.faded >= 1
    quirks = {q.description: q for q in await service.quirks(companion)}
    assert quirks["uses the 🌻 emoji"].strength == pytest.approx(0.45)


async def test_needs_rise_with_time_and_fall_with_topics(service: PersonalityService, companion: str) -> None:
    """Ten hours alone make social urgent; a chat about the user's day satisfies it."""
    later = T0 + 10 * HOUR
    social = {n.need_type: n for n in await service.needs(companion, later)}[NeedType.SOCIAL]
    assert social.level == pytest.approx(0.8) and social.urgent
    await service.satisfy_needs(companion, "hey! how was your day?", later)
    after = {n.need_type: n for n in await service.needs(companion, later)}
    assert after[NeedType.SOCIAL].level == pytest.approx(0.5)
    assert after[NeedType.SOCIAL].satisfaction_count == 1
    assert after[NeedType.SOCIAL].last_satisfied_at == later
    assert after[NeedType.REST].level == pytest.approx(0.9)  # unsatisfied, risen, written
    assert after[NeedType.REST].satisfaction_count == 0


async def test_snapshots_read_several_companions_at_once(service: PersonalityService, companion: str) -> None:
    """Each snapshot is the companion's current state and needs as of the moment asked (the mood decayed, the
    needs risen), the same as reading them one by one; a user without a personality is left out."""
    other = str(10**17 + uuid.uuid4().int % 10**17)
    await service.initialize(other, profile=PersonalityProfile.SUPPORTIVE_FRIEND, username="bo", now=T0)
    await service.update_pad(companion, PAD(0.6, 0.2, 0.0), "a kind word", T0)
    later = T0 + 5 * HOUR
    snapshots = await service.snapshots([companion, other, "190000000000000001"], later)
    assert set(snapshots) == {companion, other}
    for user in (companion, other):
        assert snapshots[user].state == await service.current(user, later)
        assert snapshots[user].needs == await service.needs(user, later)
    assert snapshots[companion].state.pad.pleasure < snapshots[companion].state.stored_pad.pleasure
    assert len(snapshots[other].needs) == len(NeedType)
    assert await service.snapshots([], later) == {}


async def test_refresh_writes_risen_levels(
    service: PersonalityService, companion: str, pool: asyncpg.Pool
) -> None:
    await service.refresh_needs(companion, T0 + 5 * HOUR)
    level = await pool.fetchval(
        "SELECT current_level FROM needs WHERE user_id = $1 AND need_type = 'rest'", companion
    )
    assert level == pytest.approx(0.7)


async def test_persona_renders_traits_mood_quirks_and_urgent_needs(
    service: PersonalityService, companion: str, pool: asyncpg.Pool
) -> None:
    await service.react(companion, "I got the job!!", T0 + HOUR)
    await add_turns(pool, companion, [PAD()] * 3, T0, reply="Tell me more about that!")
    await service.evolve_quirks(companion, T0 + 3 * HOUR)
    text = await service.persona(companion, T0 + 9 * HOUR)
    assert "curious companion" in text
    assert "openness 0." in text and "creative and curious" in text
    assert "neuroticism" in text and "calm and resilient" in text
    assert "Your mood:" in text and "pleasure +" in text
    assert 'often says "tell me more about that"' in text
    assert "rest 0.8" in text  # 0.5 + 9 h x 0.04 = 0.86, urgent
    assert "social" not in text.split("What you want right now:")[1]  # 0.77, not yet urgent


async def test_the_baseline_drifts_once_per_night_however_many_runs(
    service: PersonalityService, companion: str, pool: asyncpg.Pool
) -> None:
    """Two replicas (or an operator's re-run) run the nightly drift the same night, even at the same moment:
    the baseline moves once; the next night it moves again."""
    await add_turns(pool, companion, [PAD(0.5, 0.2, -0.1)] * 5, T0)
    night = T0 + timedelta(days=1)
    first, second = await asyncio.gather(
        service.drift_baseline(companion, night),
        service.drift_baseline(companion, night + timedelta(minutes=1)),
    )
    assert sorted([first.applied, second.applied]) == [False, True]
    assert (first if not first.applied else second).already_drifted
    later = await service.drift_baseline(companion, night + timedelta(hours=3))
    assert not later.applied and later.already_drifted
    after_one = await service.current(companion, night + timedelta(hours=3))
    assert after_one.baseline.pleasure == pytest.approx(DRIFT_RATE * 0.5)
    next_night = await service.drift_baseline(companion, night + timedelta(days=1))
    assert next_night.applied and next_night.after.pleasure > after_one.baseline.pleasure
