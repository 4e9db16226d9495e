"""The proactive manager through the real app: bad input, delivery failures and retries, the API."""

from __future__ import annotations

from datetime import timedelta

from gateway.personality.profiles import PROFILE_TRAITS, PersonalityProfile
from tests.gateway.conftest import admin_auth
from tests.gateway.proactive.conftest import Sim

PROFILE = PersonalityProfile.CREATIVE_COLLABORATOR


async def lonely_user(sim: Sim, user_id: str, timezone: str = "UTC") -> None:
    """A companion whose user chatted once, two days ago at this hour: its needs are high, the timing right."""
    context = sim.context
    await context.personality.initialize(
        user_id,
        profile=PROFILE,
        timezone="UTC",
        username="alex",
        traits=PROFILE_TRAITS[PROFILE],
        now=sim.clock.now(),
    )
    for text in (
        "Hi there!",
        "I started a new pottery class today, it was great.",
        "Talk soon!",
        "Bye!",
        "ok",
    ):
        await sim.say(user_id, text, username="alex")
    sim.clock.advance(days=2)
    await context.pool.execute("UPDATE user_profiles SET timezone = $2 WHERE user_id = $1", user_id, timezone)


async def test_invalid_timezone_falls_back_to_utc_and_says_so(sim: Sim, user_id: str) -> None:
    """A stored zone that is not a zone: UTC is used, and the profile and the status say why."""
    await lonely_user(sim, user_id, timezone="Not/AZone")
    response = await sim.client.get(f"/api/proactive/{user_id}/status")
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["timezone"] == "UTC" and "Not/AZone" in status["timezone_warning"]
    report = await sim.context.proactive.check_all()
    assert report.timezone_fallbacks >= 1
    warning = await sim.context.pool.fetchval(
        "SELECT timezone_warning FROM user_profiles WHERE user_id = $1", user_id
    )
    assert warning is not None and "UTC" in warning


async def test_a_lonely_companion_writes_first_and_it_is_recorded(sim: Sim, user_id: str) -> None:
    """Over the threshold: thought, opener, push to the bot, an interaction with was_proactive, score, reason."""
    await lonely_user(sim, user_id)
    report = await sim.context.proactive.check_all()
    assert report.delivered >= 1, report.as_dict()
    row = await sim.context.pool.fetchrow(
        "SELECT * FROM interactions WHERE user_id = $1 AND was_proactive", user_id
    )
    assert row is not None and row["proactive_score"] >= 0.6 and row["proactive_reason"]
    message = await sim.context.pool.fetchrow("SELECT * FROM proactive_messages WHERE user_id = $1", user_id)
    assert message["status"] == "delivered_dm" and message["interaction_id"] == row["id"]
    assert message["inner_thought"] and message["thought_source"] == "template"
    assert {"need_urgency", "timing", "interaction_pattern", "personality_factor", "recent_penalty"} <= set(
        message["components"]
    )
    push = next(p for p in sim.bot.bot.pushes if p["user_id"] == user_id)
    assert push["text"] == message["message"] == row["assistant_response"]
    profile = await sim.context.pool.fetchrow("SELECT * FROM user_profiles WHERE user_id = $1", user_id)
    assert profile["unanswered_proactive_count"] == 1 and profile["last_proactive_at"] == sim.clock.now()
    # The user answers: the answer resets the back-off and counts as a response for the pattern score.
    sim.clock.advance(minutes=10)
    await sim.say(user_id, "Oh hi! Yes the pottery class is going well.", username="alex")
    sim.clock.advance(hours=5)
    status = (await sim.client.get(f"/api/proactive/{user_id}/status")).json()
    assert status["components"]["pattern_detail"]["response_rate"] == 1.0
    assert (
        await sim.context.pool.fetchval(
            "SELECT unanswered_proactive_count FROM user_profiles WHERE user_id = $1", user_id
        )
        == 0
    )


async def test_the_profile_counts_every_stored_turn_and_no_failed_delivery(sim: Sim, user_id: str) -> None:
    """``total_interactions`` counts each stored interaction (the answered messages, then the delivered
    proactive one, also an initiation); a failed delivery counts nothing."""
    await lonely_user(sim, user_id)
    pool = sim.context.pool

    async def totals() -> tuple[int, int, int]:
        row = await pool.fetchrow(
            """SELECT total_interactions, total_proactive_initiations,
                      (SELECT count(*) FROM interactions i WHERE i.user_id = p.user_id) AS stored
               FROM user_profiles p WHERE user_id = $1""",
            user_id,
        )
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    assert await totals() == (5, 0, 5)
    sim.bot.stop()
    assert (await sim.context.proactive.check_all()).failed >= 1
    assert await totals() == (5, 0, 5)
    sim.bot.start()
    sim.clock.advance(minutes=5)
    assert (await sim.context.proactive.check_all()).retry_delivered >= 1
    assert await totals() == (6, 1, 6)


async def test_bot_unreachable_is_recorded_and_retried_next_check(sim: Sim, user_id: str) -> None:
    """The attempt is kept as failed, never counted as delivered, and delivered by the next check."""
    await lonely_user(sim, user_id)
    sim.bot.stop()
    report = await sim.context.proactive.check_all()
    assert report.failed >= 1 and report.delivered == 0
    message = await sim.context.pool.fetchrow("SELECT * FROM proactive_messages WHERE user_id = $1", user_id)
    assert message["status"] == "failed" and "unreachable" in message["delivery_detail"]
    assert message["interaction_id"] is None
    assert not await sim.context.pool.fetchval(
        "SELECT count(*) FROM interactions WHERE user_id = $1 AND was_proactive", user_id
    )
    profile = await sim.context.pool.fetchrow("SELECT * FROM user_profiles WHERE user_id = $1", user_id)
    assert profile["last_proactive_at"] is None and profile["unanswered_proactive_count"] == 0
    sim.bot.start()
    sim.clock.advance(minutes=5)
    report = await sim.context.proactive.check_all()
    assert report.retry_delivered >= 1
    message = await sim.context.pool.fetchrow("SELECT * FROM proactive_messages WHERE user_id = $1", user_id)
    assert message["status"] == "delivered_dm" and message["attempts"] == 2
    assert (
        await sim.context.pool.fetchval("SELECT count(*) FROM proactive_messages WHERE user_id = $1", user_id)
        == 1
    )  # the same message went out, no second one was written


async def test_an_opener_from_a_dm_memory_is_never_posted_in_a_channel(sim: Sim, user_id: str) -> None:
    """DMs closed: the memory follow-up (quoting a DM) stays out of the channel; the bot posts the push's
    channel-safe text instead, and that is what the interaction records."""
    await lonely_user(sim, user_id)
    sim.clock.advance(days=-2)
    await sim.say(user_id, "I'm secretly afraid of losing my job at Acme Corp, my boss hates me.")
    sim.clock.advance(days=2)
    sim.bot.bot.dm_open = False
    outcome = (await sim.client.post(f"/api/proactive/{user_id}/trigger", json={"force": True})).json()
    assert outcome["success"] is True, outcome
    push = next(p for p in sim.bot.bot.pushes if p["user_id"] == user_id)
    assert "Acme" in push["text"]  # the DM text follows up on the memory...
    assert sim.bot.bot.posted_in_channels == [push["channel_text"]]  # ...the channel got the other one
    assert "Acme" not in push["channel_text"] and "job" not in push["channel_text"]
    row = await sim.context.pool.fetchrow(
        "SELECT assistant_response, is_dm, channel_id FROM interactions WHERE user_id = $1 AND was_proactive",
        user_id,
    )
    assert (row["assistant_response"], row["is_dm"], row["channel_id"]) == (
        push["channel_text"],
        False,
        "c-1",
    )


async def test_a_retried_opener_keeps_its_channel_safe_text(sim: Sim, user_id: str) -> None:
    """A failed delivery is retried with the same two texts: the channel never gets the DM text."""
    await lonely_user(sim, user_id)
    sim.bot.bot.fail_with = "bot restarting"
    await sim.context.proactive.check_all()
    sim.bot.bot.fail_with = None
    sim.bot.bot.dm_open = False
    sim.clock.advance(minutes=5)
    await sim.context.proactive.check_all()
    first, retry = [p for p in sim.bot.bot.pushes if p["user_id"] == user_id][:2]
    assert retry["text"] == first["text"] and retry["channel_text"] == first["channel_text"]
    assert sim.bot.bot.posted_in_channels == [first["channel_text"]]


async def test_manual_trigger_respects_hard_limits(sim: Sim, user_id: str) -> None:
    """POST .../trigger sends now; opting out or quiet hours refuse it with the reason, even with force."""
    await lonely_user(sim, user_id)
    response = await sim.client.post(f"/api/proactive/{user_id}/trigger", json={"force": True})
    assert response.status_code == 200, response.text
    outcome = response.json()
    assert outcome["success"] is True and outcome["message"]["trigger"] == "manual"
    again = (await sim.client.post(f"/api/proactive/{user_id}/trigger", json={"force": True})).json()
    assert again["success"] is False and "too_soon_after_last_proactive" in again["blocked_by"]
    sim.clock.advance(hours=5)
    await sim.client.patch(f"/api/users/{user_id}", json={"proactive_enabled": False})
    refused = (await sim.client.post(f"/api/proactive/{user_id}/trigger", json={"force": True})).json()
    assert refused["success"] is False and "opted_out" in refused["blocked_by"]
    assert (await sim.client.get(f"/api/proactive/{user_id}/status", headers=admin_auth())).status_code == 401


async def test_two_unanswered_messages_back_off(sim: Sim, user_id: str) -> None:
    """After two proactive messages without an answer, no third one until the user writes."""
    await lonely_user(sim, user_id)
    for _ in range(2):
        outcome = await sim.context.proactive.trigger(user_id, force=True)
        assert outcome.success, outcome
        sim.clock.advance(hours=25)
    status = await sim.context.proactive.status(user_id)
    assert "backoff_unanswered" in status.blocked_by and not status.would_initiate


async def test_unknown_user_is_404(sim: Sim, user_id: str) -> None:
    """No companion, no score."""
    response = await sim.client.get(f"/api/proactive/{user_id}/status")
    assert response.status_code == 404
    assert response.json()["error"] == "ProactiveUserNotFoundError"


async def test_user_message_just_now_blocks_for_30_minutes(sim: Sim, user_id: str) -> None:
    """None within 30 minutes of the user's last message."""
    await lonely_user(sim, user_id)
    await sim.say(user_id, "hey", username="alex")
    sim.clock.advance(minutes=20)
    status = await sim.context.proactive.status(user_id)
    assert "user_just_wrote" in status.blocked_by
    sim.clock.advance(timedelta(minutes=15))
    status = await sim.context.proactive.status(user_id)
    assert "user_just_wrote" not in status.blocked_by


async def test_the_scan_pages_through_every_user(sim: Sim, user_id: str) -> None:
    """The 5-minute scan reads the users a page at a time (bounded memory at any number of users): with pages
    of one user it still scores everyone eligible and writes first to each lonely companion."""
    others = [user_id[:-1] + digit for digit in "0123456789" if digit != user_id[-1]]
    users = [user_id, *others[:2]]  # three distinct users, whatever user_id's last digit
    for user in users:
        await lonely_user(sim, user)
    eligible = await sim.context.pool.fetchval(
        """
        SELECT count(*) FROM user_profiles p
        WHERE p.proactive_enabled AND p.status IN ('active', 'dormant')
          AND EXISTS (SELECT 1 FROM personality_state s WHERE s.user_id = p.user_id AND s.is_current)
        """
    )
    sim.context.proactive.scan_batch = 1
    report = await sim.context.proactive.check_all()
    assert report.users_scored == eligible >= 3, report.as_dict()
    sent = await sim.context.pool.fetch(
        "SELECT DISTINCT user_id FROM interactions WHERE was_proactive AND user_id = ANY($1::text[])", users
    )
    assert sorted(row["user_id"] for row in sent) == sorted(users)
