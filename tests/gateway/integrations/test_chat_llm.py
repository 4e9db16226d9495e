"""The chat LLM against the fake OpenAI-compatible server: model fallback, retries, stats, bad answers."""

from __future__ import annotations

import pytest

from gateway.config import ChatLLMSettings
from gateway.integrations.llm import (
    CHAT_API_PATH,
    SWITCH_MIN_CALLS,
    SWITCH_TRIAL_EVERY,
    ChatLLM,
    LLMError,
    LLMResponseError,
    LLMUnavailableError,
    api_base_url,
    strip_thinking,
)
from tests.fakes.openai_server import FakeOpenAIServer

MESSAGES = [{"role": "system", "content": "be kind"}, {"role": "user", "content": "hello there"}]


def client(fake: FakeOpenAIServer, **options: object) -> ChatLLM:
    defaults: dict[str, object] = {
        "primary_model": "primary",
        "fallback_model": "fallback",
        "timeout_seconds": 2.0,
    }
    defaults.update(options)
    return ChatLLM(fake.base_url, "chutes-key", **defaults)  # type: ignore[arg-type]


def test_base_url_accepts_a_base_with_or_without_v1() -> None:
    assert api_base_url("https://llm.chutes.ai", CHAT_API_PATH) == "https://llm.chutes.ai/v1"
    assert api_base_url("http://localhost:11434/v1/", CHAT_API_PATH) == "http://localhost:11434/v1"


async def test_a_base_with_v1_reaches_v1_chat_completions(openai_fake: FakeOpenAIServer) -> None:
    llm = client(openai_fake)
    other = ChatLLM(openai_fake.base_url + "/v1/", "chutes-key", primary_model="primary")
    try:
        await llm.complete(MESSAGES)
        await other.complete(MESSAGES)
    finally:
        await llm.aclose()
        await other.aclose()
    assert [r.path for r in openai_fake.requests] == ["/v1/chat/completions"] * 2


def test_thinking_is_never_shown() -> None:
    assert strip_thinking("<think>plan the reply</think>\nHi!") == "Hi!"
    assert strip_thinking("<think>never closed") == ""


def test_settings_choose_llm_base_url_then_chutes_then_offline() -> None:
    offline = ChatLLMSettings(_env_file=None)  # type: ignore[call-arg]
    assert not offline.enabled and ChatLLM.from_settings(offline) is None
    chutes = ChatLLMSettings(chutes_api_key="k" * 24, _env_file=None)  # type: ignore[call-arg]
    assert chutes.base_url == "https://llm.chutes.ai" and chutes.api_key == "k" * 24
    local = ChatLLMSettings(chutes_api_key="k" * 24, llm_base_url="http://127.0.0.1:11434/v1", _env_file=None)  # type: ignore[call-arg]
    assert local.base_url == "http://127.0.0.1:11434/v1" and local.api_key == ""


async def test_primary_answers_with_text_model_and_tokens(openai_fake: FakeOpenAIServer) -> None:
    openai_fake.reply_for_model("primary", "Hello, friend!")
    llm = client(openai_fake)
    try:
        result = await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    assert (result.text, result.model, result.fallback_used) == ("Hello, friend!", "primary", False)
    assert result.tokens > 0
    [request] = openai_fake.chat_requests
    assert request.headers["authorization"] == "Bearer chutes-key"
    assert request.json["stream"] is False and request.json["messages"] == MESSAGES


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_a_failing_primary_hands_over_to_the_fallback(
    openai_fake: FakeOpenAIServer, status: int
) -> None:
    openai_fake.reply_for_model("fallback", "from the fallback")
    openai_fake.fail_next(1, status=status, model="primary")
    llm = client(openai_fake)
    try:
        result = await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    assert result.text == "from the fallback" and result.fallback_used
    assert [r.model for r in openai_fake.chat_requests] == ["primary", "fallback"]
    assert llm.stats()["primary"]["failures"] == 1


async def test_a_timeout_hands_over_to_the_fallback(openai_fake: FakeOpenAIServer) -> None:
    openai_fake.reply_for_model("fallback", "quick one")
    openai_fake.delay_next(5.0, model="primary")
    llm = client(openai_fake, timeout_seconds=0.5)
    try:
        result = await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    assert result.model == "fallback"


async def test_rate_limits_on_the_last_model_are_waited_out(openai_fake: FakeOpenAIServer) -> None:
    openai_fake.reply_for_model("only", "after the wait")
    openai_fake.fail_next(2, status=429, model="only", retry_after=0.05)
    llm = client(openai_fake, primary_model="only", fallback_model=None)
    try:
        result = await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    assert result.text == "after the wait"
    assert [r.status for r in openai_fake.chat_requests] == [429, 429, 200]


async def test_a_client_error_is_not_retried_anywhere(openai_fake: FakeOpenAIServer) -> None:
    openai_fake.fail_next(1, status=400, model="primary")
    llm = client(openai_fake)
    try:
        with pytest.raises(LLMError):
            await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    assert [r.model for r in openai_fake.chat_requests] == ["primary"]


async def test_both_models_down_is_one_clear_error(openai_fake: FakeOpenAIServer) -> None:
    openai_fake.fail_next(2, status=502)
    llm = client(openai_fake)
    try:
        with pytest.raises(LLMError, match="no reply"):
            await llm.complete(MESSAGES)
    finally:
        await llm.aclose()


@pytest.mark.parametrize("content", ["", "   ", "<think>only thoughts</think>"])
async def test_an_empty_answer_is_a_response_error(openai_fake: FakeOpenAIServer, content: str) -> None:
    openai_fake.reply_for_model("only", content)
    llm = client(openai_fake, primary_model="only", fallback_model=None)
    try:
        with pytest.raises(LLMResponseError):
            await llm.complete(MESSAGES)
    finally:
        await llm.aclose()


async def test_an_unreliable_primary_is_demoted_by_the_switch_rule(openai_fake: FakeOpenAIServer) -> None:
    openai_fake.reply_for_model("primary", "p")
    openai_fake.reply_for_model("fallback", "f")
    llm = client(openai_fake)
    try:
        openai_fake.fail_next(SWITCH_MIN_CALLS, status=503, model="primary")
        for _ in range(SWITCH_MIN_CALLS):
            assert (await llm.complete(MESSAGES)).model == "fallback"
        assert llm.recommended_model() == "fallback"
        openai_fake.reset()
        openai_fake.reply_for_model("primary", "p")
        openai_fake.reply_for_model("fallback", "f")
        result = await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    # The demoted primary is not even tried first any more.
    assert result.model == "fallback"
    assert [r.model for r in openai_fake.chat_requests] == ["fallback"]


async def test_the_last_model_is_not_retried_after_a_server_error(openai_fake: FakeOpenAIServer) -> None:
    """A 5xx on the last model to try ends the call at once: templates answer sooner than a retry would."""
    openai_fake.fail_next(1, status=503, model="only")
    llm = client(openai_fake, primary_model="only", fallback_model=None)
    try:
        with pytest.raises(LLMUnavailableError, match="503"):
            await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    assert [r.status for r in openai_fake.chat_requests] == [503]


async def test_a_rate_limit_beyond_the_cap_is_not_waited_out(openai_fake: FakeOpenAIServer) -> None:
    """A Retry-After longer than the cap fails at once, even on the last model."""
    openai_fake.fail_next(1, status=429, model="only", retry_after=30)
    llm = client(openai_fake, primary_model="only", fallback_model=None)
    try:
        with pytest.raises(LLMUnavailableError, match="exceeds the 5 s cap"):
            await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    assert len(openai_fake.chat_requests) == 1


async def test_a_wrong_key_is_not_retried_nor_handed_over(openai_fake: FakeOpenAIServer) -> None:
    """The server's 401 for a wrong key is final: no retry, and the fallback model would get the same."""
    openai_fake.api_key = "the-right-key"
    llm = client(openai_fake)
    try:
        with pytest.raises(LLMUnavailableError, match="401"):
            await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    assert [(r.model, r.status) for r in openai_fake.chat_requests] == [("primary", 401)]


async def test_a_demoted_primary_is_still_the_fallbacks_fallback(openai_fake: FakeOpenAIServer) -> None:
    """Once demoted, the primary goes second (the fallback first), and first again on every trial call."""
    llm = client(openai_fake)
    try:
        openai_fake.fail_next(SWITCH_MIN_CALLS, status=503, model="primary")
        for _ in range(SWITCH_MIN_CALLS):
            await llm.complete(MESSAGES)
        openai_fake.reset()
        openai_fake.fail_next(1, status=503, model="fallback")
        assert (await llm.complete(MESSAGES)).model == "primary"
        assert [r.model for r in openai_fake.chat_requests] == ["fallback", "primary"]
        openai_fake.reset()
        for _ in range(SWITCH_TRIAL_EVERY - 1):  # the trial is every tenth call since the demotion
            await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    models = [r.model for r in openai_fake.chat_requests]
    assert models == ["fallback"] * (SWITCH_TRIAL_EVERY - 2) + ["primary"]


async def test_metrics_count_each_model_call_by_outcome(openai_fake: FakeOpenAIServer) -> None:
    """companion_llm_requests_total counts one primary failure (transient) and one fallback success."""
    from gateway.metrics import Metrics

    metrics = Metrics()
    openai_fake.fail_next(1, status=503, model="primary")
    llm = client(openai_fake, metrics=metrics)
    try:
        await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    count = metrics.registry.get_sample_value
    assert count("companion_llm_requests_total", {"model": "primary", "outcome": "transient"}) == 1
    assert count("companion_llm_requests_total", {"model": "fallback", "outcome": "ok"}) == 1
    assert count("companion_llm_seconds_count", {"model": "fallback"}) == 1


async def test_health_checks_the_models_endpoint(openai_fake: FakeOpenAIServer) -> None:
    """health() asks GET /v1/models; a server that is not there raises LLMUnavailableError."""
    from scripts.localstack import free_port

    llm = client(openai_fake)
    gone = ChatLLM(f"http://127.0.0.1:{free_port()}", "k", primary_model="primary")
    try:
        await llm.health()
        with pytest.raises(LLMUnavailableError, match="unreachable"):
            await gone.health()
    finally:
        await llm.aclose()
        await gone.aclose()
    assert [(r.method, r.path) for r in openai_fake.requests] == [("GET", "/v1/models")]
