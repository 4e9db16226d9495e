"""Nightly reflection through the real services: per-user steps, the run report, failures kept apart."""

from __future__ import annotations

import asyncio

from gateway.personality.profiles import PersonalityProfile
from tests.gateway.proactive.conftest import Sim

HAPPY = (
    "I got the job! I'm so happy and proud today.",
    "Thank you so much, you always cheer me up, you're wonderful.",
    "We had a lovely dinner to celebrate, what a great evening.",
    "I love my new team, everyone was so kind and welcoming.",
    "Honestly this is the best week I've had in ages, thank you!",
    "Goodnight! Talk tomorrow, I'm excited.",
)


async def chatty_user(sim: Sim, user_id: str) -> None:
    await sim.context.personality.initialize(
        user_id, profile=PersonalityProfile.SUPPORTIVE_FRIEND, username="kai", now=sim.clock.now()
    )
    for text in HAPPY:
        await sim.say(user_id, text, username="kai")
        sim.clock.advance(minutes=2)
    await sim.context.chat.writer.drain()


async def test_reflection_drifts_evolves_and_consolidates_each_user(sim: Sim, user_id: str) -> None:
    """A user with a happy week: the baseline moves toward it; quirks and consolidation ran; a report."""
    await chatty_user(sim, user_id)
    sim.clock.advance(hours=6)
    reflection = sim.context.reflection
    assert reflection is not None
    report = await reflection.run(user_ids=[user_id])
    assert report.users == 1 and report.succeeded == 1 and report.failed == 0 and report.batches == 1
    detail = report.details[0]
    assert detail.drift is not None and detail.drift["applied"]
    assert detail.drift["after"]["pleasure"] > detail.drift["before"]["pleasure"]
    assert detail.quirks is not None and detail.quirks["replies_read"] == len(HAPPY)
    assert detail.consolidation is not None
    assert report.as_dict()["users_detail"][0]["user_id"] == user_id


async def test_one_users_failure_never_stops_the_run(sim: Sim, user_id: str) -> None:
    """A user whose companion cannot be read fails alone; the others in the batch are reflected."""
    await chatty_user(sim, user_id)
    reflection = sim.context.reflection
    assert reflection is not None
    ghost = user_id[:-1] + ("7" if user_id[-1] != "7" else "8")
    report = await reflection.run(user_ids=[ghost, user_id])
    assert report.succeeded == 1 and report.failed == 1
    failed = next(d for d in report.details if d.user_id == ghost)
    assert any("PersonalityNotInitializedError" in error for error in failed.errors)
    assert any(error.startswith(ghost) for error in report.errors)


async def test_llm_steps_run_under_the_concurrency_limit(sim: Sim, user_id: str) -> None:
    """No more than REFLECTION_MAX_CONCURRENT_LLM_CALLS steps that may call an LLM run at once."""
    reflection = sim.context.reflection
    assert reflection is not None
    active = 0
    peak = 0

    class Counting:
        async def __aenter__(self) -> None:
            nonlocal active, peak
            await slots.acquire()
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0)

        async def __aexit__(self, *exc: object) -> None:
            nonlocal active
            active -= 1
            slots.release()

    slots = asyncio.Semaphore(2)
    users = [user_id[:-2] + f"{i:02d}" for i in range(6)]
    results = await asyncio.gather(
        *(reflection.reflect(u, sim.clock.now(), Counting()) for u in users)  # type: ignore[arg-type]
    )
    assert peak <= 2 and len(results) == 6
