"""Importance scoring: the Groq path against the fake server, the Redis cache, the heuristic fallback and
re-scoring of heuristic memories in Postgres."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from gateway.integrations.llm import FastLLM
from gateway.memory.importance import (
    ImportanceScore,
    ImportanceScorer,
    cache_key,
    heuristic_importance,
    rescore_pending,
)
from scripts.localstack import free_port
from tests.fakes.openai_server import FakeOpenAIServer

MODEL = "fast-model"
TTL = 7 * 24 * 3600

PUPPY = "I just got a new puppy! His name is Max."
WEATHER = "What's the weather like today?"
GRIEF = "My mom died last week and I'm still grieving."
TEA = "I prefer tea to coffee."
PROMOTION = "I got promoted to senior engineer today!"

MakeScorer = Callable[..., ImportanceScorer]


@pytest.fixture
async def make_scorer(
    openai_fake: FakeOpenAIServer, redis_client: aioredis.Redis
) -> AsyncIterator[MakeScorer]:
    """Scorers whose FastLLM talks to the fake (test-sized timeout) and whose cache is the session Redis."""
    made: list[FastLLM] = []

    def make(redis: aioredis.Redis | None = redis_client, **llm_options: Any) -> ImportanceScorer:
        options: dict[str, Any] = {
            "model": MODEL,
            "base_url": openai_fake.base_url,
            "timeout_seconds": 2.0,
            **llm_options,
        }
        llm = FastLLM("groq-test-key", **options)
        made.append(llm)
        return ImportanceScorer(llm, redis, ttl_seconds=TTL)

    try:
        yield make
    finally:
        for llm in made:
            await llm.aclose()


def unique(text: str) -> str:
    """The text made unique to this test, so cached scores from other tests never answer for it."""
    return f"{text} ({uuid.uuid4().hex[:8]})"


async def test_llm_score_is_parsed(openai_fake: FakeOpenAIServer, make_scorer: MakeScorer) -> None:
    """The LLM's {"importance": 0.82} becomes an LLM-sourced score of 0.82."""
    openai_fake.reply_for_model(MODEL, '{"importance": 0.82}')
    assert await make_scorer().score(unique("I start my new job on Monday")) == ImportanceScore(0.82, "llm")


async def test_prompt_carries_criteria_content_and_context(
    openai_fake: FakeOpenAIServer, make_scorer: MakeScorer
) -> None:
    """The request states the four weighted criteria, the calibration, the speaker, context and content."""
    openai_fake.reply_for_model(MODEL, '{"importance": 0.5}')
    content = unique("My sister is getting married in June")
    await make_scorer().score(content, "user", context=["hey", "guess what"])
    [request] = openai_fake.chat_requests
    prompt = "\n".join(m["content"] for m in request.json["messages"])
    for phrase in ("emotional significance", "personal disclosure", "future relevance", "uniqueness"):
        assert phrase in prompt
    for weight in ("0.30", "0.25", "0.20"):
        assert weight in prompt
    assert "puppy" in prompt and "tea" in prompt and "promoted" in prompt
    assert content in prompt
    assert "guess what" in prompt
    assert "Speaker: user" in prompt
    assert request.json["temperature"] == 0.1
    assert request.json["max_tokens"] <= 32
    assert request.json["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(
    ("answer", "expected"), [('{"importance": 1.7}', 1.0), ('{"importance": "-0.2"}', 0.0)]
)
async def test_llm_scores_are_clamped(
    openai_fake: FakeOpenAIServer, make_scorer: MakeScorer, answer: str, expected: float
) -> None:
    """Out-of-range answers (numbers or numeric strings) are clamped to [0, 1]."""
    openai_fake.reply_for_model(MODEL, answer)
    assert await make_scorer().score(unique("something")) == ImportanceScore(expected, "llm")


async def test_second_score_comes_from_the_cache(
    openai_fake: FakeOpenAIServer, make_scorer: MakeScorer, redis_client: aioredis.Redis
) -> None:
    """The same content and speaker are scored once; the cache holds the score under a versioned key."""
    openai_fake.reply_for_model(MODEL, '{"importance": 0.66}')
    scorer = make_scorer()
    content = unique(TEA)
    first = await scorer.score(content)
    second = await make_scorer().score(content)  # a fresh scorer: the cache is Redis, not memory
    assert first == second == ImportanceScore(0.66, "llm")
    assert len(openai_fake.chat_requests) == 1
    key = cache_key(content, "user")
    assert key.startswith("importance:v1:")
    cached = await redis_client.get(key)
    assert cached is not None and float(cached) == 0.66
    assert 0 < await redis_client.ttl(key) <= TTL


async def test_cache_is_per_speaker(openai_fake: FakeOpenAIServer, make_scorer: MakeScorer) -> None:
    """The same words from the companion are scored separately from the user's."""
    openai_fake.reply_for_model(MODEL, '{"importance": 0.3}')
    scorer = make_scorer()
    content = unique("I love rainy days")
    await scorer.score(content, "user")
    await scorer.score(content, "assistant")
    assert len(openai_fake.chat_requests) == 2


async def test_no_llm_uses_the_heuristic(redis_client: aioredis.Redis) -> None:
    """Without a Groq key the heuristic answers, and nothing is cached."""
    scorer = ImportanceScorer(None, redis_client, ttl_seconds=TTL)
    content = unique(GRIEF)
    score = await scorer.score(content)
    assert score.source == "heuristic"
    assert score.value == heuristic_importance(content)
    assert await redis_client.get(cache_key(content, "user")) is None


async def test_server_errors_fall_back_and_are_not_cached(
    openai_fake: FakeOpenAIServer, make_scorer: MakeScorer, redis_client: aioredis.Redis
) -> None:
    """5xx past the retry falls back to the heuristic; once Groq answers, the same content gets the LLM's score."""
    openai_fake.fail_next(2, status=500)
    scorer = make_scorer()
    content = unique(PUPPY)
    assert (await scorer.score(content)).source == "heuristic"
    assert len(openai_fake.chat_requests) == 2
    assert await redis_client.get(cache_key(content, "user")) is None

    openai_fake.reply_for_model(MODEL, '{"importance": 0.75}')
    assert await scorer.score(content) == ImportanceScore(0.75, "llm")


@pytest.mark.parametrize(
    "junk", ["very important!", '{"score": 0.4}', '{"importance": "high"}', '{"importance": true}', "[0.5]"]
)
async def test_junk_answers_fall_back(
    openai_fake: FakeOpenAIServer, make_scorer: MakeScorer, junk: str
) -> None:
    """An answer without a numeric importance falls back to the heuristic."""
    openai_fake.reply_for_model(MODEL, junk)
    assert (await make_scorer().score(unique(WEATHER))).source == "heuristic"


async def test_short_circuit_skips_the_llm(openai_fake: FakeOpenAIServer, make_scorer: MakeScorer) -> None:
    """After repeated failures the scorer stops asking Groq until the cool-down passes."""
    scorer = make_scorer(failure_threshold=2, cooldown_seconds=0.2, max_retries=0)
    openai_fake.fail_next(2, status=503)
    for _ in range(3):
        assert (await scorer.score(unique(TEA))).source == "heuristic"
    assert len(openai_fake.chat_requests) == 2


async def test_timeouts_fall_back_within_the_timeout(
    openai_fake: FakeOpenAIServer, make_scorer: MakeScorer
) -> None:
    """A hanging Groq costs at most the timeout (it bounds retries too) before the heuristic answers."""
    openai_fake.delay_next(5.0, n=2)
    started = time.perf_counter()
    score = await make_scorer(timeout_seconds=0.25).score(unique(PROMOTION))
    assert score.source == "heuristic"
    assert time.perf_counter() - started < 1.2


async def test_redis_down_still_scores(openai_fake: FakeOpenAIServer, make_scorer: MakeScorer) -> None:
    """A dead Redis only loses the cache, quickly: the LLM still scores, every time."""
    openai_fake.reply_for_model(MODEL, '{"importance": 0.4}')
    dead = aioredis.Redis(port=free_port())  # redis-py's default retries take seconds to give up
    try:
        scorer = make_scorer(redis=dead)
        content = unique(TEA)
        started = time.perf_counter()
        assert await scorer.score(content) == ImportanceScore(0.4, "llm")
        assert await scorer.score(content) == ImportanceScore(0.4, "llm")
        assert time.perf_counter() - started < 1.5
    finally:
        await dead.aclose()
    assert len(openai_fake.chat_requests) == 2


async def test_empty_content_scores_zero(make_scorer: MakeScorer, openai_fake: FakeOpenAIServer) -> None:
    """Whitespace is worth nothing and costs no request."""
    assert await make_scorer().score("   ") == ImportanceScore(0.0, "heuristic")
    assert openai_fake.chat_requests == []


# --- The heuristic ---


def test_heuristic_orders_the_calibration_examples() -> None:
    """The five calibration examples (docs/memory.md) come out in their order: grief > promotion > puppy > tea
    > weather."""
    scores = [heuristic_importance(text) for text in (GRIEF, PROMOTION, PUPPY, TEA, WEATHER)]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == 5


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [(GRIEF, 0.85, 1.0), (PROMOTION, 0.75, 1.0), (PUPPY, 0.6, 0.85), (TEA, 0.25, 0.55), (WEATHER, 0.0, 0.2)],
)
def test_heuristic_lands_near_the_calibration_values(text: str, low: float, high: float) -> None:
    """Each calibration example lands in a coarse band around its value."""
    assert low <= heuristic_importance(text) <= high


def test_small_talk_scores_below_a_diagnosis() -> None:
    """Small talk is near the floor; bad news about family is near the top."""
    assert heuristic_importance("ok lol") < 0.15
    assert heuristic_importance("my mom was diagnosed with cancer") > 0.8


@pytest.mark.parametrize(
    ("higher", "lower"),
    [
        ("I've never told anyone this, but I'm scared of the dark", "I had pasta"),
        ("I'm moving to Berlin next month", "hey how are you"),
        ("My dentist appointment is on Friday at 3pm", "haha nice"),
        ("I love hiking in the mountains", "thanks"),
    ],
)
def test_heuristic_cues_raise_the_score(higher: str, lower: str) -> None:
    """Disclosure, life events, plans with dates and preferences each outscore small talk."""
    assert heuristic_importance(higher) > heuristic_importance(lower)


@pytest.mark.parametrize("text", [PUPPY, GRIEF, TEA, "That sounds wonderful, I'm so happy for you!"])
def test_assistant_replies_score_lower(text: str) -> None:
    """The companion's own words weigh less than the user's."""
    assert heuristic_importance(text, "assistant") < heuristic_importance(text, "user")


def test_heuristic_stays_in_range() -> None:
    """Scores stay in [0, 1] for empty, huge and cue-stuffed text."""
    stuffed = " ".join([GRIEF, PROMOTION, PUPPY, "I've never told anyone, I'm devastated!!!"] * 20)
    for text in ("", "!!!", stuffed, "a" * 10_000):
        assert 0.0 <= heuristic_importance(text) <= 1.0


# --- Re-scoring ---


async def add_user(conn: asyncpg.Connection, user_id: str) -> None:
    await conn.execute("INSERT INTO user_profiles (user_id, username) VALUES ($1, $2)", user_id, "someone")


async def add_memory(
    conn: asyncpg.Connection, user_id: str, content: str, source: str, importance: float = 0.5
) -> uuid.UUID:
    memory_id: uuid.UUID = await conn.fetchval(
        """
        INSERT INTO memories (user_id, memory_type, content, speaker, importance, importance_source)
        VALUES ($1, 'episodic', $2, 'user', $3, $4) RETURNING id
        """,
        user_id,
        content,
        importance,
        source,
    )
    return memory_id


async def importance_of(conn: asyncpg.Connection, memory_id: uuid.UUID) -> tuple[float, str]:
    row = await conn.fetchrow("SELECT importance, importance_source FROM memories WHERE id = $1", memory_id)
    assert row is not None
    return row["importance"], row["importance_source"]


async def test_rescore_updates_only_heuristic_rows_of_the_user(
    openai_fake: FakeOpenAIServer, make_scorer: MakeScorer, db_conn: asyncpg.Connection, user_id: str
) -> None:
    """Heuristic scores of the given user become LLM scores; other sources and other users are untouched."""
    other_user = str(int(user_id) + 1)
    await add_user(db_conn, user_id)
    await add_user(db_conn, other_user)
    heuristic_ids = [await add_memory(db_conn, user_id, unique(text), "heuristic") for text in (GRIEF, TEA)]
    llm_id = await add_memory(db_conn, user_id, unique(PUPPY), "llm", 0.7)
    default_id = await add_memory(db_conn, user_id, unique(WEATHER), "default", 0.5)
    consolidated_id = await add_memory(db_conn, user_id, unique(TEA), "consolidation", 0.6)
    others_id = await add_memory(db_conn, other_user, unique(GRIEF), "heuristic", 0.5)

    openai_fake.reply_for_model(MODEL, lambda body: json.dumps({"importance": 0.91}))
    assert await rescore_pending(db_conn, make_scorer(), limit=10, user_id=user_id) == 2

    for memory_id in heuristic_ids:
        assert await importance_of(db_conn, memory_id) == (0.91, "llm")
    assert await importance_of(db_conn, llm_id) == (0.7, "llm")
    assert await importance_of(db_conn, default_id) == (0.5, "default")
    assert await importance_of(db_conn, consolidated_id) == (0.6, "consolidation")
    assert await importance_of(db_conn, others_id) == (0.5, "heuristic")
    assert len(openai_fake.chat_requests) == 2
    # Nothing heuristic is left for this user.
    assert await rescore_pending(db_conn, make_scorer(), limit=10, user_id=user_id) == 0


async def test_rescore_respects_the_limit(
    openai_fake: FakeOpenAIServer, make_scorer: MakeScorer, db_conn: asyncpg.Connection, user_id: str
) -> None:
    """At most ``limit`` memories are re-scored per run."""
    await add_user(db_conn, user_id)
    for text in (GRIEF, TEA, PUPPY):
        await add_memory(db_conn, user_id, unique(text), "heuristic")
    openai_fake.reply_for_model(MODEL, '{"importance": 0.3}')
    assert await rescore_pending(db_conn, make_scorer(), limit=2, user_id=user_id) == 2
    remaining = await db_conn.fetchval(
        "SELECT count(*) FROM memories WHERE user_id = $1 AND importance_source = 'heuristic'", user_id
    )
    assert remaining == 1


async def test_rescore_without_llm_does_nothing(
    redis_client: aioredis.Redis, db_conn: asyncpg.Connection, user_id: str
) -> None:
    """Without a Groq key nothing is re-scored."""
    await add_user(db_conn, user_id)
    memory_id = await add_memory(db_conn, user_id, unique(GRIEF), "heuristic", 0.5)
    scorer = ImportanceScorer(None, redis_client, ttl_seconds=TTL)
    assert await rescore_pending(db_conn, scorer, limit=10, user_id=user_id) == 0
    assert await importance_of(db_conn, memory_id) == (0.5, "heuristic")


async def test_rescore_stops_when_groq_fails_again(
    openai_fake: FakeOpenAIServer, make_scorer: MakeScorer, db_conn: asyncpg.Connection, user_id: str
) -> None:
    """If Groq goes down mid-run (short-circuit opens), the run stops and leaves the rest heuristic."""
    await add_user(db_conn, user_id)
    for text in (GRIEF, TEA, PUPPY):
        await add_memory(db_conn, user_id, unique(text), "heuristic")
    openai_fake.fail_next(5, status=503)
    scorer = make_scorer(failure_threshold=1, cooldown_seconds=30, max_retries=0)
    assert await rescore_pending(db_conn, scorer, limit=10, user_id=user_id) == 0
    assert len(openai_fake.chat_requests) == 1
