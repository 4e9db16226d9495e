"""OCC appraisal: the local appraiser's event cues and VADER valence, personality modulation through
Gebhard's ALMA table, and the Groq appraiser (strict JSON, Redis cache, local fallback) against the fake."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from gateway.integrations.llm import FastLLM
from gateway.personality.appraisal import (
    Appraisal,
    EventCue,
    GroqAppraiser,
    LocalAppraiser,
    cache_key,
    emotions_from_variables,
    parse_variables,
)
from gateway.personality.occ import ALMA_PAD, OCCEmotion, modulate, pad_delta, personality_factor
from gateway.personality.pad import PAD
from gateway.personality.profiles import PROFILE_TRAITS, BigFive, PersonalityProfile
from tests.fakes.openai_server import FakeOpenAIServer

MODEL = "appraisal-model"
PUPPY = "I got a new puppy today!"
GRIEF = "my mom passed away last night"
INSULT = "you're useless"
CURIOUS = PROFILE_TRAITS[PersonalityProfile.CURIOUS_COMPANION]


@pytest.fixture(scope="module")
def local() -> LocalAppraiser:
    return LocalAppraiser()


def mood_change(appraisal: Appraisal, traits: BigFive = CURIOUS) -> PAD:
    return pad_delta(modulate(appraisal.emotions, traits), appraisal.surprise, appraisal.valence)


# --- the examples of docs/personality.md#appraisal-occ ---------------------------------------------------


def test_new_puppy_raises_pleasure(local: LocalAppraiser) -> None:
    """VADER scores it 0.0; the social-connection cue (a new pet) makes the companion happy for the user."""
    appraisal = local.appraise_now(PUPPY)
    assert appraisal.details["vader_compound"] == 0.0
    assert EventCue.SOCIAL_CONNECTION in appraisal.cues
    assert OCCEmotion.HAPPY_FOR in appraisal.emotions
    assert mood_change(appraisal).pleasure > 0.1


def test_a_death_lowers_pleasure_and_dominance(local: LocalAppraiser) -> None:
    """VADER scores it 0.0; the loss cue brings sorry-for and distress, both low in pleasure and dominance."""
    appraisal = local.appraise_now(GRIEF)
    assert appraisal.details["vader_compound"] == 0.0
    assert appraisal.cues == (EventCue.LOSS,)
    change = mood_change(appraisal)
    assert change.pleasure < -0.1
    assert change.dominance < -0.1


def test_an_insult_lowers_pleasure(local: LocalAppraiser) -> None:
    """Blame aimed at the companion is anger and shame."""
    appraisal = local.appraise_now(INSULT)
    assert EventCue.BLAME in appraisal.cues
    assert mood_change(appraisal).pleasure < -0.05


# --- cues follow the idea, not the examples --------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "cue"),
    [
        ("We adopted a rescue kitten this weekend", EventCue.SOCIAL_CONNECTION),
        ("My sister just gave birth to twins", EventCue.SOCIAL_CONNECTION),
        ("I finally got engaged!!", EventCue.SOCIAL_CONNECTION),
        ("spent the evening hanging out with my best friend", EventCue.SOCIAL_CONNECTION),
        ("I got the job offer at the hospital", EventCue.ACHIEVEMENT),
        ("I passed my driving test", EventCue.ACHIEVEMENT),
        ("I start my new job on Monday", EventCue.ACHIEVEMENT),
        ("we won the final!", EventCue.ACHIEVEMENT),
        ("My grandfather died on Sunday", EventCue.LOSS),
        ("we had to put our dog down", EventCue.LOSS),
        ("my girlfriend broke up with me", EventCue.LOSS),
        ("I got laid off this morning", EventCue.LOSS),
        ("I failed my thesis defence", EventCue.FAILURE),
        ("they rejected my application", EventCue.FAILURE),
        ("I'm such a failure", EventCue.FAILURE),
        ("you're the best, you always know what to say", EventCue.PRAISE),
        ("thank you so much, that means a lot", EventCue.GRATITUDE),
        ("you are so annoying and boring", EventCue.BLAME),
        ("shut up", EventCue.BLAME),
        ("someone is following me home", EventCue.THREAT),
        ("the doctor found a lump, waiting on the biopsy", EventCue.THREAT),
        ("I'm going to delete you", EventCue.THREAT),
        ("out of nowhere my old teacher called", EventCue.SURPRISE),
    ],
)
def test_cues_recognise_the_kind_of_event(local: LocalAppraiser, message: str, cue: EventCue) -> None:
    """Pets, babies, engagements, jobs, exams, deaths, break-ups, lay-offs, rejections, praise, thanks,
    hostility, danger and surprises are each recognised as their kind of event."""
    assert cue in local.appraise_now(message).cues


@pytest.mark.parametrize(
    ("message", "expected", "absent"),
    [
        ("I didn't get the job", EventCue.FAILURE, EventCue.ACHIEVEMENT),
        ("what if my cat dies while I'm away", EventCue.THREAT, EventCue.LOSS),
        ("nobody died, relax", None, EventCue.LOSS),
        ("you're not useless", None, EventCue.BLAME),
        ("I won't be around tomorrow", None, EventCue.ACHIEVEMENT),
        ("I finished dinner", None, EventCue.ACHIEVEMENT),
    ],
)
def test_negation_and_hypotheticals(
    local: LocalAppraiser, message: str, expected: EventCue | None, absent: EventCue
) -> None:
    """A negated good event is a failure, a negated bad one is nothing, a hypothetical loss is a threat."""
    cues = local.appraise_now(message).cues
    assert absent not in cues
    if expected is not None:
        assert expected in cues


def test_small_talk_stirs_nothing(local: LocalAppraiser) -> None:
    """No cue and no sentiment: no emotion and no mood change."""
    appraisal = local.appraise_now("what's the weather like where you are")
    assert appraisal.emotions == {}
    assert mood_change(appraisal) == PAD()


def test_plain_sentiment_still_counts(local: LocalAppraiser) -> None:
    """Without a cue, a negative message about the user's own life makes the companion feel sorry for them."""
    appraisal = local.appraise_now("I feel awful and sad today")
    assert appraisal.cues == ()
    assert OCCEmotion.PITY in appraisal.emotions
    assert mood_change(appraisal).pleasure < 0


def test_surprise_raises_arousal(local: LocalAppraiser) -> None:
    """The same good news with a surprise in it raises arousal more."""
    plain = mood_change(local.appraise_now("I got engaged"))
    surprised = mood_change(local.appraise_now("omg out of nowhere, I got engaged"))
    assert surprised.arousal > plain.arousal + 0.1


# --- personality -----------------------------------------------------------------------------------------


def traits(**changes: float) -> BigFive:
    base = dict(openness=0.5, conscientiousness=0.5, extraversion=0.5, agreeableness=0.5, neuroticism=0.5)
    return BigFive(**{**base, **changes})


def test_neuroticism_amplifies_negative_emotions(local: LocalAppraiser) -> None:
    """The same grief hits a sensitive companion harder than a resilient one."""
    appraisal = local.appraise_now(GRIEF)
    sensitive = mood_change(appraisal, traits(neuroticism=0.9))
    resilient = mood_change(appraisal, traits(neuroticism=0.1))
    assert sensitive.pleasure < resilient.pleasure < 0


def test_extraversion_amplifies_positive_emotions(local: LocalAppraiser) -> None:
    """Good news lifts an outgoing companion more than a reserved one."""
    appraisal = local.appraise_now(PUPPY)
    assert (
        mood_change(appraisal, traits(extraversion=0.9)).pleasure
        > mood_change(appraisal, traits(extraversion=0.1)).pleasure
        > 0
    )


def test_agreeableness_softens_reactions_to_reproach() -> None:
    """Anger and reproach are felt less by an agreeable companion; other negative emotions are not."""
    agreeable, skeptical = traits(agreeableness=0.9), traits(agreeableness=0.1)
    for emotion in (OCCEmotion.ANGER, OCCEmotion.REPROACH):
        assert personality_factor(emotion, agreeable) < personality_factor(emotion, skeptical)
    assert personality_factor(OCCEmotion.DISTRESS, agreeable) == personality_factor(
        OCCEmotion.DISTRESS, skeptical
    )


def test_mood_change_follows_the_alma_table() -> None:
    """One emotion at full intensity moves the mood half-way to its ALMA point."""
    assert pad_delta({OCCEmotion.FEAR: 1.0}) == ALMA_PAD[OCCEmotion.FEAR].scaled(0.5)
    assert ALMA_PAD[OCCEmotion.ANGER] == PAD(-0.51, 0.59, 0.25)


# --- the Groq appraiser ----------------------------------------------------------------------------------

GOOD = {
    "desirability": 0.8,
    "goal_relevance": 0.7,
    "expectedness": 0.4,
    "praiseworthiness": 0.1,
    "appealingness": 0.9,
    "intensity": 0.7,
}

MakeAppraiser = Callable[..., GroqAppraiser]


@pytest.fixture
async def make_appraiser(
    openai_fake: FakeOpenAIServer, redis_client: aioredis.Redis, local: LocalAppraiser
) -> AsyncIterator[MakeAppraiser]:
    made: list[FastLLM] = []

    def make(redis: aioredis.Redis | None = redis_client) -> GroqAppraiser:
        llm = FastLLM(
            "groq-test-key",
            model=MODEL,
            base_url=openai_fake.base_url,
            timeout_seconds=2.0,
        )
        made.append(llm)
        return GroqAppraiser(llm, redis, local, ttl_seconds=600)

    try:
        yield make
    finally:
        for llm in made:
            await llm.aclose()


def unique(text: str) -> str:
    return f"{text} ({uuid.uuid4().hex[:8]})"


async def test_groq_appraisal_is_parsed_into_occ_emotions(
    openai_fake: FakeOpenAIServer, make_appraiser: MakeAppraiser
) -> None:
    """The six variables become joy, admiration and liking; the request asks for strict JSON."""
    openai_fake.reply_for_model(MODEL, json.dumps(GOOD))
    appraisal = await make_appraiser().appraise(unique(PUPPY))
    assert appraisal.source == "groq"
    assert appraisal.fallback_reason is None
    assert set(appraisal.emotions) == {
        OCCEmotion.JOY,
        OCCEmotion.ADMIRATION,
        OCCEmotion.LIKING,
        OCCEmotion.GRATITUDE,
    }
    assert appraisal.surprise == pytest.approx(0.7 * 0.6)
    [request] = openai_fake.chat_requests
    assert request.json["response_format"] == {"type": "json_object"}
    prompt = request.json["messages"][0]["content"]
    for name in GOOD:
        assert name in prompt
    assert mood_change(appraisal).pleasure > 0


async def test_groq_grief_lowers_pleasure_and_dominance(
    openai_fake: FakeOpenAIServer, make_appraiser: MakeAppraiser
) -> None:
    """Desirability -1 with full relevance is distress: pleasure and dominance fall."""
    answer = {
        **GOOD,
        "desirability": -1.0,
        "goal_relevance": 1.0,
        "praiseworthiness": 0.0,
        "appealingness": 0.0,
    }
    openai_fake.reply_for_model(MODEL, json.dumps(answer))
    change = mood_change(await make_appraiser().appraise(unique(GRIEF)))
    assert change.pleasure < 0 and change.dominance < 0


async def test_groq_answers_are_cached_in_redis(
    openai_fake: FakeOpenAIServer, make_appraiser: MakeAppraiser, redis_client: aioredis.Redis
) -> None:
    """The same message is appraised by Groq once; a second appraiser reads the cache."""
    openai_fake.reply_for_model(MODEL, json.dumps(GOOD))
    message = unique(PUPPY)
    first = await make_appraiser().appraise(message)
    second = await make_appraiser().appraise(message)
    assert first.emotions == second.emotions
    assert second.details["cached"] is True
    assert len(openai_fake.chat_requests) == 1
    assert json.loads(await redis_client.get(cache_key(message, MODEL))) == GOOD


@pytest.mark.parametrize(
    "reply",
    [
        "not json at all",
        json.dumps({**GOOD, "intensity": 1.5}),
        json.dumps({k: v for k, v in GOOD.items() if k != "expectedness"}),
        json.dumps({**GOOD, "desirability": "very"}),
        json.dumps({**GOOD, "goal_relevance": True}),
    ],
)
async def test_invalid_answers_fall_back_to_the_local_appraiser(
    openai_fake: FakeOpenAIServer, make_appraiser: MakeAppraiser, redis_client: aioredis.Redis, reply: str
) -> None:
    """Junk, out-of-range, missing or mistyped variables are refused, never cached, and the local
    appraisal answers (still moving the mood the right way)."""
    openai_fake.reply_for_model(MODEL, reply)
    message = unique(GRIEF)
    appraisal = await make_appraiser().appraise(message)
    assert appraisal.source == "local"
    assert appraisal.fallback_reason
    assert EventCue.LOSS in appraisal.cues
    assert mood_change(appraisal).pleasure < 0
    assert await redis_client.get(cache_key(message, MODEL)) is None


async def test_groq_outage_falls_back(openai_fake: FakeOpenAIServer, make_appraiser: MakeAppraiser) -> None:
    """A 500 (retried once, then given up) gives the local appraisal."""
    openai_fake.fail_next(5, status=500)
    appraisal = await make_appraiser().appraise(unique(PUPPY))
    assert appraisal.source == "local"
    assert "500" in (appraisal.fallback_reason or "")
    assert mood_change(appraisal).pleasure > 0


async def test_no_key_means_local(local: LocalAppraiser) -> None:
    """Without a fast LLM the Groq appraiser is the local one, saying why."""
    appraisal = await GroqAppraiser(None, None, local, 60).appraise(PUPPY)
    assert appraisal.source == "local"
    assert appraisal.fallback_reason == "no fast LLM configured"


async def test_dead_redis_only_costs_the_cache(
    openai_fake: FakeOpenAIServer, make_appraiser: MakeAppraiser
) -> None:
    """With Redis unreachable the LLM still answers."""
    openai_fake.reply_for_model(MODEL, json.dumps(GOOD))
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        appraisal = await make_appraiser(redis=dead).appraise(unique(PUPPY))
    finally:
        await dead.aclose()
    assert appraisal.source == "groq"


def test_strict_parsing_accepts_exactly_the_ranges() -> None:
    """Boundary values pass; the compound rules (anger, gratitude) follow OCC."""
    hostile: dict[str, Any] = {**GOOD, "desirability": -1.0, "praiseworthiness": -1.0, "appealingness": -1.0}
    emotions = emotions_from_variables(parse_variables(hostile))
    assert {OCCEmotion.DISTRESS, OCCEmotion.REPROACH, OCCEmotion.ANGER, OCCEmotion.DISLIKING} == set(emotions)
