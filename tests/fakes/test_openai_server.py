"""The fake OpenAI-compatible server speaks the wire protocol our LLM clients expect."""

from __future__ import annotations

import base64
import json
import struct

import httpx
import pytest
from openai import AsyncOpenAI

from tests.fakes.openai_server import FakeOpenAIServer, ScriptedReply, ToolCall, echo_reply, start_fake_openai

CHAT = {
    "model": "chat-model",
    "messages": [
        {"role": "system", "content": "You are Mira."},
        {"role": "user", "content": "hello there"},
    ],
    "temperature": 0.7,
}


async def test_chat_completion_over_httpx(openai_fake: FakeOpenAIServer) -> None:
    """A plain POST gets a well-formed chat.completion and the request is recorded as sent."""
    async with httpx.AsyncClient(base_url=openai_fake.base_url) as client:
        response = await client.post("/v1/chat/completions", json=CHAT)

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"] and isinstance(body["created"], int) and body["model"] == "chat-model"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": echo_reply(CHAT)}
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    [sent] = openai_fake.requests
    assert (sent.path, sent.model, sent.status) == ("/v1/chat/completions", "chat-model", 200)
    assert sent.json["messages"][0]["content"] == "You are Mira."
    assert sent.json["temperature"] == 0.7


async def test_openai_sdk_against_fake(openai_fake: FakeOpenAIServer) -> None:
    """The official openai SDK, pointed at Groq's path under the server root, gets a tool call back."""
    openai_fake.api_key = "groq-key"
    openai_fake.reply_for_model(
        "llama-3.1-8b-instant",
        lambda req: ScriptedReply(
            content=None, tool_calls=[ToolCall("score", {"importance": req["messages"][-1]["content"]})]
        ),
    )
    async with AsyncOpenAI(
        api_key="groq-key", base_url=openai_fake.base_url + "/openai/v1", max_retries=0
    ) as client:
        completion = await client.chat.completions.create(
            model="llama-3.1-8b-instant", messages=[{"role": "user", "content": "7"}], temperature=0.0
        )

    [call] = completion.choices[0].message.tool_calls or []
    assert (call.function.name, json.loads(call.function.arguments)) == ("score", {"importance": "7"})
    assert completion.choices[0].finish_reason == "tool_calls"
    [sent] = openai_fake.requests
    assert sent.path == "/openai/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer groq-key"


async def test_streamed_completion(openai_fake: FakeOpenAIServer) -> None:
    """stream=true yields chat.completion.chunk events that add up to the reply, then [DONE]."""
    openai_fake.reply_for_model("chat-model", "one two  three")
    request = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    async with httpx.AsyncClient(base_url=openai_fake.base_url) as client:
        async with client.stream("POST", "/v1/chat/completions", json=request) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = [line.removeprefix("data: ") async for line in response.aiter_lines() if line]

    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk["id"] for chunk in chunks}) == 1
    choices = [chunk["choices"][0] for chunk in chunks if chunk["choices"]]
    assert choices[0]["delta"]["role"] == "assistant"
    assert "".join(c["delta"].get("content", "") for c in choices) == "one two  three"
    assert len(choices) > 3  # really streamed in pieces
    assert choices[-1]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3


async def test_scripted_failure_then_success(openai_fake: FakeOpenAIServer) -> None:
    """fail_next answers the next request with an OpenAI-style error, then replies resume."""
    openai_fake.fail_next(1, status=500)
    openai_fake.fail_next(1, status=429, retry_after=2)
    async with httpx.AsyncClient(base_url=openai_fake.base_url) as client:
        responses = [await client.post("/v1/chat/completions", json=CHAT) for _ in range(3)]

    assert [r.status_code for r in responses] == [500, 429, 200]
    assert responses[0].json()["error"]["type"] == "server_error"
    assert responses[1].json()["error"]["code"] == "rate_limit_exceeded"
    assert responses[1].headers["retry-after"] == "2"
    assert [r.status for r in openai_fake.requests] == [500, 429, 200]


async def test_wrong_key_is_refused() -> None:
    """With an API key required, a wrong or missing Bearer token gets a 401 error body."""
    with start_fake_openai(api_key="right") as fake:
        async with httpx.AsyncClient(base_url=fake.base_url) as client:
            wrong = await client.post(
                "/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer wrong"}
            )
            missing = await client.get("/v1/models")
            right = await client.get("/v1/models", headers={"Authorization": "Bearer right"})

    assert (wrong.status_code, missing.status_code, right.status_code) == (401, 401, 200)
    assert set(wrong.json()["error"]) >= {"message", "type", "code"}
    assert wrong.json()["error"]["code"] == "invalid_api_key"


async def test_unknown_model_and_delay(openai_fake: FakeOpenAIServer) -> None:
    """Models outside the allowed list get a 404; a scripted delay trips the client's timeout."""
    openai_fake.allowed_models = {"chat-model"}
    openai_fake.delay_next(5.0)
    async with httpx.AsyncClient(base_url=openai_fake.base_url) as client:
        missing = await client.post("/v1/chat/completions", json={**CHAT, "model": "nope"})
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/v1/chat/completions", json=CHAT, timeout=0.2)

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"


async def test_embeddings_are_deterministic(openai_fake: FakeOpenAIServer) -> None:
    """The same text always embeds to the same unit vector, in floats or base64."""
    request = {"model": "embed", "input": ["a cat", "a dog"], "dimensions": 8}
    async with httpx.AsyncClient(base_url=openai_fake.base_url) as client:
        first = (await client.post("/v1/embeddings", json=request)).json()
        again = (await client.post("/v1/embeddings", json=request)).json()
        packed = (await client.post("/v1/embeddings", json={**request, "encoding_format": "base64"})).json()

    vectors = [item["embedding"] for item in first["data"]]
    assert first["object"] == "list" and [item["index"] for item in first["data"]] == [0, 1]
    assert vectors == [item["embedding"] for item in again["data"]]
    assert vectors[0] == openai_fake.embedding_for("a cat", 8) != vectors[1]
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-9
    decoded = struct.unpack("<8f", base64.b64decode(packed["data"][0]["embedding"]))
    assert decoded == pytest.approx(vectors[0], abs=1e-6)


async def test_agent_with_send_message_tool_gets_a_tool_call(openai_fake: FakeOpenAIServer) -> None:
    """A request offering ``send_message`` (as Letta's do) is answered by calling it with the echo of the
    user's message, unpacked from Letta's JSON envelope; other requests still get the plain echo."""
    envelope = json.dumps({"type": "user_message", "message": "I got a puppy", "time": "now"})
    tool = {"type": "function", "function": {"name": "send_message", "parameters": {"type": "object"}}}
    request = {
        "model": "agent-model",
        "messages": [{"role": "system", "content": "core memory"}, {"role": "user", "content": envelope}],
        "tools": [tool],
        "tool_choice": "required",
    }
    async with httpx.AsyncClient(base_url=openai_fake.base_url) as client:
        agent = (await client.post("/v1/chat/completions", json=request)).json()
        plain = (await client.post("/v1/chat/completions", json=CHAT)).json()

    [call] = agent["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "send_message"
    assert json.loads(call["function"]["arguments"])["message"] == "fake reply to: I got a puppy"
    assert agent["choices"][0]["finish_reason"] == "tool_calls"
    assert plain["choices"][0]["message"]["content"] == echo_reply(CHAT)
