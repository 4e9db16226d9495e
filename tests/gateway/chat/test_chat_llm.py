"""The chat LLM client against the fake OpenAI-compatible server: fallback, retries, stats, bad answers."""

from __future__ import annotations

import pytest

from gateway.config import ChatLLMSettings
from gateway.integrations.chat_llm import (
    SWITCH_MIN_CALLS,
    ChatLLM,
    ChatLLMError,
    ChatLLMResponseError,
    completions_url,
    strip_thinking,
)
from tests.fakes.openai_server import FakeOpenAIServer

MESSAGES = [{"role": "system", "content": "be kind"}, {"role": "user", "content": "hello there"}]


def client(fake: FakeOpenAIServer, **options: object) -> ChatLLM:
    defaults: dict[str, object] = {
        "primary_model": "primary",
        "fallback_model": "fallback",
        "timeout_seconds": 2.0,
        "backoff_seconds": 0.01,
    }
    defaults.update(options)
    return ChatLLM(fake.base_url, "chutes-key", **defaults)  # type: ignore[arg-type]


def test_completions_url_accepts_a_base_with_or_without_v1() -> None:
    assert completions_url("https://llm.chutes.ai") == "https://llm.chutes.ai/v1/chat/completions"
    assert completions_url("http://localhost:11434/v1/") == "http://localhost:11434/v1/chat/completions"


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
        with pytest.raises(ChatLLMError):
            await llm.complete(MESSAGES)
    finally:
        await llm.aclose()
    assert [r.model for r in openai_fake.chat_requests] == ["primary"]


async def test_both_models_down_is_one_clear_error(openai_fake: FakeOpenAIServer) -> None:
    openai_fake.fail_next(2, status=502)
    llm = client(openai_fake)
    try:
        with pytest.raises(ChatLLMError, match="no reply"):
            await llm.complete(MESSAGES)
    finally:
        await llm.aclose()


@pytest.mark.parametrize("content", ["", "   ", "<think>only thoughts</think>"])
async def test_an_empty_answer_is_a_response_error(openai_fake: FakeOpenAIServer, content: str) -> None:
    openai_fake.reply_for_model("only", content)
    llm = client(openai_fake, primary_model="only", fallback_model=None)
    try:
        with pytest.raises(ChatLLMResponseError):
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
