"""A simulated week through the real app, its jobs and the fake bot, on a frozen clock moved by hand.

Sam and Robin live in New York and have identical companions. Both chat every evening around 20:00 their
time from Monday to Thursday; Friday and Saturday are quiet days (no message from them). Robin turns
proactive messages off on Saturday at noon, Sam on Sunday at noon. Every 30 simulated minutes the proactive
check runs (as the scheduler would), every hour the needs job, every night at 03:00 UTC the reflection.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.personality.profiles import PROFILE_TRAITS, PersonalityProfile
from tests.gateway.proactive.conftest import START, Sim

ZONE = ZoneInfo("America/New_York")
STEP = timedelta(minutes=30)
PROFILE = PersonalityProfile.CREATIVE_COLLABORATOR
HAPPY = (
    "Hey! I had a wonderful day, my painting sold at the market and I'm so happy!",
    "Thank you for cheering me on, you're the best. I feel great tonight.",
    "We celebrated with friends, it was fun and I love them all. Goodnight!",
)
QUIET_DAYS = {datetime(2025, 3, day, tzinfo=ZONE).date() for day in (7, 8)}


@pytest.mark.slow
async def test_a_simulated_week_respects_every_limit(sim: Sim, user_id: str) -> None:
    """At most one message on a quiet day, never in quiet hours, never after opting out, never closer than
    4 h; needs rise over the hours; the baseline drifts after a week of happy evenings."""
    context = sim.context
    assert context.jobs is not None
    sam, robin = user_id, user_id[:-1] + ("1" if user_id[-1] != "1" else "2")
    opt_out = {
        robin: datetime(2025, 3, 8, 12, 0, tzinfo=ZONE),
        sam: datetime(2025, 3, 9, 12, 0, tzinfo=ZONE),
    }
    for who in (sam, robin):
        await context.personality.initialize(
            who, profile=PROFILE, timezone="America/New_York", username=who, traits=PROFILE_TRAITS[PROFILE],
            now=sim.clock.now(),
        )  # fmt: skip
    initial = await context.personality.current(sam, sim.clock.now())
    opted_out: set[str] = set()
    best_while_opted_out = {sam: 0.0, robin: 0.0}
    social_on_friday: list[float] = []

    while sim.clock.now() < START + timedelta(days=7):
        now = sim.clock.now()
        local = now.astimezone(ZONE)
        if local.minute == 0:
            run = await context.jobs.run("needs_update")
            assert run is not None and run.status == "succeeded", run
            if local.date() == min(QUIET_DAYS):
                levels = {n.need_type.value: n.level for n in await context.personality.needs(sam, now)}
                social_on_friday.append(levels["social"])
            if now.hour == 3:
                run = await context.jobs.run("nightly_reflection")
                assert run is not None and run.status == "succeeded" and run.errors == 0, run
        for who in opted_out:
            response = await sim.client.get(f"/api/proactive/{who}/status")
            assert response.status_code == 200, response.text
            status = response.json()
            assert "opted_out" in status["blocked_by"] and not status["would_initiate"]
            best_while_opted_out[who] = max(best_while_opted_out[who], status["score"])
        run = await context.jobs.run("proactive_check")
        assert run is not None and run.status == "succeeded" and run.errors == 0, run
        if local.hour == 20 and local.minute == 0 and local.date() not in QUIET_DAYS and local.weekday() < 5:
            for who in (sam, robin):
                for text in HAPPY:
                    await sim.say(who, text, username=who)
                    sim.clock.advance(minutes=5)
                sim.clock.set(now)
        for who, when in opt_out.items():
            if who not in opted_out and local >= when:
                response = await sim.client.patch(f"/api/users/{who}", json={"proactive_enabled": False})
                assert response.status_code == 200
                opted_out.add(who)
        sim.clock.advance(STEP)

    sent: dict[str, list[datetime]] = {}
    for who in (sam, robin):
        rows = await context.pool.fetch(
            "SELECT created_at FROM interactions WHERE user_id = $1 AND was_proactive ORDER BY created_at",
            who,
        )
        sent[who] = [row["created_at"].astimezone(ZONE) for row in rows]
    print("proactive messages (local):", {w: [t.strftime("%a %H:%M") for t in s] for w, s in sent.items()})
    # Every push the bot took for them is recorded (other tests' users share the database, hence the filter).
    pushed = [push for push in sim.bot.bot.pushes if push["user_id"] in (sam, robin)]
    assert len(pushed) == len(sent[sam]) + len(sent[robin])
    assert sent[sam], "the companion never wrote first in a whole week"
    for who, times in sent.items():
        for day in QUIET_DAYS:
            assert sum(1 for when in times if when.date() == day) <= 1, times
        assert all(8 <= when.hour < 22 for when in times), times  # never at 3 a.m.: quiet hours 22-8
        assert all(when < opt_out[who] for when in times), times
        assert all(b - a >= timedelta(hours=4) for a, b in itertools.pairwise(times)), times
    # Robin's companion would have written on Saturday evening like Sam's did, but Robin had opted out.
    assert best_while_opted_out[robin] >= context.settings.proactive.threshold
    assert social_on_friday == sorted(social_on_friday) and social_on_friday[-1] > social_on_friday[0]
    final = await context.personality.current(sam, sim.clock.now())
    assert final.baseline.pleasure > initial.baseline.pleasure
    nights = await context.pool.fetchval(
        "SELECT count(*) FROM job_runs WHERE job_name = 'nightly_reflection' AND started_at >= $1", START
    )
    assert nights >= 7
