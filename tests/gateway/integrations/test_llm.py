"""FastLLM (Groq) and the one OpenAI-protocol client under both LLMs, against the local fake OpenAI-compatible
server: answers, the SDK's retries within our limits, failures, the short-circuit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gateway.config import GroqSettings
from gateway.errors import CompanionError
from gateway.integrations.llm import (
    ChatLLM,
    FastLLM,
    LLMError,
    LLMResponseError,
    LLMUnavailableError,
    OpenAICompatibleClient,
    parse_json_object,
)
from tests.fakes.openai_server import FakeOpenAIServer

MODEL = "fast-model"
API_KEY = "groq-test-key"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi."}]

MakeLLM = Callable[..., FastLLM]


@pytest.fixture
async def make_llm(openai_fake: FakeOpenAIServer) -> AsyncIterator[MakeLLM]:
    """Builds FastLLMs pointed at the fake (which checks the key), with a test-sized timeout; closes them."""
    openai_fake.api_key = API_KEY
    made: list[FastLLM] = []

    def make(**overrides: Any) -> FastLLM:
        options: dict[str, Any] = {
            "model": MODEL,
            "base_url": openai_fake.base_url,
            "timeout_seconds": 2.0,
            "max_retries": 2,
            **overrides,
        }
        llm = FastLLM(API_KEY, **options)
        made.append(llm)
        return llm

    try:
        yield make
    finally:
        for llm in made:
            await llm.aclose()


def groq_settings(**values: Any) -> GroqSettings:
    return GroqSettings(_env_file=None, **values)  # type: ignore[call-arg]


async def test_from_settings_without_key_is_none() -> None:
    """No GROQ_API_KEY (or only whitespace) means no client: callers use their fallbacks."""
    assert FastLLM.from_settings(groq_settings()) is None
    assert FastLLM.from_settings(groq_settings(api_key="  ")) is None


async def test_from_settings_talks_to_the_configured_server(openai_fake: FakeOpenAIServer) -> None:
    """A configured client sends the key and model from the settings to GROQ_BASE_URL + /openai/v1/."""
    openai_fake.api_key = API_KEY
    openai_fake.reply_for_model("settings-model", "hello")
    llm = FastLLM.from_settings(
        groq_settings(api_key=API_KEY, base_url=openai_fake.base_url, model="settings-model")
    )
    assert llm is not None
    try:
        result = await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    finally:
        await llm.aclose()
    assert result.text == "hello"
    [request] = openai_fake.chat_requests
    assert request.path == "/openai/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.model == "settings-model"


async def test_base_url_with_openai_path_is_accepted(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """A base URL copied with its /openai/v1 suffix still reaches /openai/v1/chat/completions."""
    llm = make_llm(base_url=openai_fake.base_url + "/openai/v1/")
    await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert [r.path for r in openai_fake.chat_requests] == ["/openai/v1/chat/completions"]


async def test_complete_returns_text_and_metadata(openai_fake: FakeOpenAIServer, make_llm: MakeLLM) -> None:
    """complete() returns the stripped reply, the model, a latency and the token count; sends the knobs."""
    openai_fake.reply_for_model(MODEL, "  four words of reply \n")
    result = await make_llm().complete(MESSAGES, max_tokens=42, temperature=0.1)
    assert result.text == "four words of reply"
    assert result.model == MODEL
    assert result.latency_ms > 0
    assert result.tokens == 4 + 4  # the fake counts whitespace-separated words, prompt + reply
    [request] = openai_fake.chat_requests
    assert request.json["max_tokens"] == 42
    assert request.json["temperature"] == 0.1
    assert request.json["messages"] == MESSAGES
    assert "response_format" not in request.json


async def test_complete_json_requests_json_mode_and_parses(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """complete_json() asks for a JSON object and returns it parsed, even inside a ```json fence."""
    openai_fake.reply_next('```json\n{"importance": 0.5, "why": "a fact"}\n```')
    answer = await make_llm().complete_json(MESSAGES, max_tokens=30, temperature=0.1)
    assert answer == {"importance": 0.5, "why": "a fact"}
    assert openai_fake.chat_requests[0].json["response_format"] == {"type": "json_object"}


async def test_complete_json_rejects_junk(openai_fake: FakeOpenAIServer, make_llm: MakeLLM) -> None:
    """A reply that holds no JSON object raises LLMResponseError (an LLMError, so fallbacks catch it)."""
    openai_fake.reply_next("I would say it is quite important.")
    with pytest.raises(LLMResponseError) as caught:
        await make_llm().complete_json(MESSAGES, max_tokens=30, temperature=0.1)
    assert isinstance(caught.value, LLMError)
    assert isinstance(caught.value, CompanionError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('Sure! Here it is: {"a": {"b": 2}} Hope that helps.', {"a": {"b": 2}}),
    ],
)
def test_parse_json_object_accepts_wrapped_objects(text: str, expected: dict[str, Any]) -> None:
    """A JSON object is found bare, fenced, or amid a little prose."""
    assert parse_json_object(text) == expected


@pytest.mark.parametrize("text", ["", "0.7", "[1, 2]", '{"a": ', "null"])
def test_parse_json_object_rejects_non_objects(text: str) -> None:
    """Anything but a JSON object raises LLMResponseError."""
    with pytest.raises(LLMResponseError):
        parse_json_object(text)


async def test_server_error_is_retried_once(openai_fake: FakeOpenAIServer, make_llm: MakeLLM) -> None:
    """One 5xx gets one quick retry, which answers."""
    openai_fake.fail_next(1, status=503)
    openai_fake.reply_for_model(MODEL, "recovered")
    result = await make_llm().complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert result.text == "recovered"
    assert [r.status for r in openai_fake.chat_requests] == [503, 200]


async def test_repeated_server_errors_raise_unavailable(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """A second 5xx is not retried again (even with retries left): LLMUnavailableError names the status."""
    openai_fake.fail_next(3, status=500)
    llm = make_llm(max_retries=2)
    with pytest.raises(LLMUnavailableError, match="500"):
        await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert len(openai_fake.chat_requests) == 2
    assert llm.stats()[MODEL]["failures"] == 1


async def test_rate_limit_honours_retry_after(openai_fake: FakeOpenAIServer, make_llm: MakeLLM) -> None:
    """A 429 with Retry-After waits that long, then retries and succeeds."""
    openai_fake.fail_next(1, status=429, retry_after=0.3)
    openai_fake.reply_for_model(MODEL, "after the wait")
    started = time.perf_counter()
    result = await make_llm().complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert result.text == "after the wait"
    assert time.perf_counter() - started >= 0.3
    assert [r.status for r in openai_fake.chat_requests] == [429, 200]


async def test_server_error_retry_honours_retry_after(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """A 503 with Retry-After is retried after that long (the SDK's wait), not sooner."""
    openai_fake.fail_next(1, status=503, retry_after=0.6)
    openai_fake.reply_for_model(MODEL, "after the wait")
    started = time.perf_counter()
    result = await make_llm().complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert result.text == "after the wait"
    assert time.perf_counter() - started >= 0.6
    assert [r.status for r in openai_fake.chat_requests] == [503, 200]


async def test_rate_limit_beyond_the_cap_gives_up_at_once(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """A Retry-After longer than the cap is not waited out: the call fails immediately."""
    openai_fake.fail_next(1, status=429, retry_after=30)
    started = time.perf_counter()
    with pytest.raises(LLMUnavailableError, match="Retry-After"):
        await make_llm(retry_after_cap_seconds=1.0).complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert time.perf_counter() - started < 1.0
    assert len(openai_fake.chat_requests) == 1


async def test_rate_limit_without_retry_after_backs_off_up_to_max_retries(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """Without Retry-After a 429 backs off (the SDK's doubling delay) for at most max_retries retries."""
    openai_fake.fail_next(5, status=429)
    started = time.perf_counter()
    with pytest.raises(LLMUnavailableError, match="429"):
        # A timeout well above the SDK's backoff (0.5 s, then 1 s), which it bounds too.
        await make_llm(max_retries=2, timeout_seconds=5.0).complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert time.perf_counter() - started >= 0.1 + 0.2
    assert len(openai_fake.chat_requests) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 408, 409])
async def test_client_errors_are_not_retried(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM, status: int
) -> None:
    """A 4xx other than 429 fails at once with the server's message."""
    openai_fake.fail_next(1, status=status, message="scripted refusal")
    with pytest.raises(LLMUnavailableError, match="scripted refusal"):
        await make_llm().complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert len(openai_fake.chat_requests) == 1


async def test_a_wrong_key_is_not_retried(openai_fake: FakeOpenAIServer) -> None:
    """The server's own 401 for a wrong key fails at once, and counts towards the short-circuit."""
    openai_fake.api_key = API_KEY
    llm = FastLLM("wrong-key", model=MODEL, base_url=openai_fake.base_url, max_retries=2, failure_threshold=1)
    try:
        with pytest.raises(LLMUnavailableError, match="401"):
            await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    finally:
        await llm.aclose()
    assert [r.status for r in openai_fake.chat_requests] == [401]
    assert llm.circuit_open


async def test_timeouts_fail_within_the_configured_timeout(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """A server slower than the timeout costs the timeout once: it bounds the whole call, retries included."""
    openai_fake.delay_next(5.0, n=2)
    started = time.perf_counter()
    with pytest.raises(LLMUnavailableError, match="timed out"):
        await make_llm(timeout_seconds=0.3).complete(MESSAGES, max_tokens=20, temperature=0.3)
    elapsed = time.perf_counter() - started
    assert 0.3 <= elapsed < 0.8
    assert len(openai_fake.chat_requests) == 1


async def test_unreachable_server_raises_unavailable(make_llm: MakeLLM) -> None:
    """A connection refused is retried (the SDK's backoff), then reported as unavailable."""
    from scripts.localstack import free_port

    llm = make_llm(base_url=f"http://127.0.0.1:{free_port()}", timeout_seconds=5.0)
    with pytest.raises(LLMUnavailableError, match="unreachable"):
        await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)


async def test_short_circuit_after_consecutive_failures(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """After N failed calls in a row, calls fail at once without a request until the cool-down ends."""
    llm = make_llm(failure_threshold=2, cooldown_seconds=0.3)
    openai_fake.fail_next(4, status=500)
    for _ in range(2):
        with pytest.raises(LLMUnavailableError):
            await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert llm.circuit_open
    sent = len(openai_fake.chat_requests)

    started = time.perf_counter()
    with pytest.raises(LLMUnavailableError, match="short-circuited"):
        await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert time.perf_counter() - started < 0.05
    assert len(openai_fake.chat_requests) == sent
    assert llm.stats()[MODEL]["short_circuited"] == 1


async def test_short_circuit_recovers_after_the_cool_down(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """Once the cool-down passes, a call goes through again and success closes the short-circuit."""
    llm = make_llm(failure_threshold=1, cooldown_seconds=0.2)
    openai_fake.fail_next(1, status=401)
    with pytest.raises(LLMUnavailableError):
        await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert llm.circuit_open and not llm.available
    await asyncio.sleep(0.25)
    openai_fake.reply_for_model(MODEL, "back")
    assert (await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)).text == "back"
    assert not llm.circuit_open


async def test_a_failed_trial_reopens_the_short_circuit(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """If the first call after the cool-down fails too, the short-circuit opens again at once."""
    llm = make_llm(failure_threshold=1, cooldown_seconds=0.2)
    openai_fake.fail_next(1, status=401)
    with pytest.raises(LLMUnavailableError):
        await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    await asyncio.sleep(0.25)
    openai_fake.fail_next(1, status=401)
    with pytest.raises(LLMUnavailableError):
        await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert llm.circuit_open


async def test_bad_requests_do_not_open_the_short_circuit(
    openai_fake: FakeOpenAIServer, make_llm: MakeLLM
) -> None:
    """A 400 is about one request, not Groq's health: it never short-circuits later calls."""
    llm = make_llm(failure_threshold=1)
    openai_fake.fail_next(1, status=400)
    with pytest.raises(LLMUnavailableError):
        await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    assert not llm.circuit_open


async def test_stats_per_model(openai_fake: FakeOpenAIServer, make_llm: MakeLLM) -> None:
    """stats() counts calls, successes and failures per model, with the mean latency of successes."""
    llm = make_llm()
    await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    await llm.complete(MESSAGES, max_tokens=20, temperature=0.3, model="other-model")
    openai_fake.fail_next(1, status=404)
    with pytest.raises(LLMUnavailableError):
        await llm.complete(MESSAGES, max_tokens=20, temperature=0.3)
    stats = llm.stats()
    assert set(stats) == {MODEL, "other-model"}
    assert {k: stats[MODEL][k] for k in ("calls", "successes", "failures")} == {
        "calls": 2,
        "successes": 1,
        "failures": 1,
    }
    assert stats[MODEL]["mean_latency_ms"] > 0
    assert stats["other-model"]["calls"] == 1


async def test_reasoning_is_dropped_before_parsing(openai_fake: FakeOpenAIServer, make_llm: MakeLLM) -> None:
    """A reasoning model's <think> block never reaches the caller, so the JSON after it parses."""
    openai_fake.reply_next('<think>They want {"importance": 1}? No.</think>{"importance": 0.2}')
    answer = await make_llm().complete_json(MESSAGES, max_tokens=30, temperature=0.1)
    assert answer == {"importance": 0.2}


async def test_fast_and_chat_llms_share_one_client(openai_fake: FakeOpenAIServer, make_llm: MakeLLM) -> None:
    """FastLLM and ChatLLM are two policies over the same OpenAI-protocol client, each at its provider's path."""
    fast = make_llm()
    chat = ChatLLM(openai_fake.base_url, API_KEY, primary_model="chat-model")
    try:
        assert type(fast.client) is type(chat.client) is OpenAICompatibleClient
        await fast.complete(MESSAGES, max_tokens=20, temperature=0.3)
        await chat.complete(MESSAGES)
    finally:
        await chat.aclose()
    assert [(r.path, r.model) for r in openai_fake.chat_requests] == [
        ("/openai/v1/chat/completions", MODEL),
        ("/v1/chat/completions", "chat-model"),
    ]
    assert {r.headers["authorization"] for r in openai_fake.chat_requests} == {f"Bearer {API_KEY}"}
