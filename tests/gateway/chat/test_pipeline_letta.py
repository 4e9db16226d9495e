"""The plan's end-to-end conversation through a real Letta 0.6.8 (tests/letta/fixtures.py): the pipeline
creates the user's agent, rewrites its persona, sends recalled memories with the message, stores what was
said, and falls back to `direct` when Letta fails mid-conversation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from gateway.config import ChatLLMSettings, LettaSettings, Settings
from tests.fakes.openai_server import FakeOpenAIServer, send_message_reply
from tests.gateway.chat.test_pipeline import new_user
from tests.gateway.conftest import asgi_client, gateway_settings, running_app, service_auth

MODEL = "companion-letta-model"


@pytest.fixture
def letta_chat_settings(
    database_url: str,
    redis_url: str,
    embedding_service_url: str,
    openai_fake: FakeOpenAIServer,
    letta_server_url: str,
) -> Settings:
    return gateway_settings(
        database_url,
        redis_url,
        embedding_service_url,
        chat_llm=ChatLLMSettings(  # type: ignore[call-arg]
            llm_base_url=openai_fake.base_url,
            primary_llm_model=MODEL,
            fallback_llm_model=None,
            _env_file=None,
        ),
        letta=LettaSettings(server_url=letta_server_url, timeout_seconds=60, _env_file=None),  # type: ignore[call-arg]
    )


@pytest.fixture
async def letta_app(letta_chat_settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(letta_chat_settings) as application:
        yield application


@pytest.fixture
async def letta_chat(letta_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(letta_app, service_auth()) as http:
        yield http


async def say(client: httpx.AsyncClient, user_id: str, text: str) -> dict[str, Any]:
    response = await client.post(f"/api/chat/{user_id}/messages", json={"message": text, "username": "dana"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.slow
async def test_the_puppy_conversation_through_letta(
    letta_chat: httpx.AsyncClient, letta_app: FastAPI, openai_fake: FakeOpenAIServer, database_url: str
) -> None:
    user = new_user()
    openai_fake.reply_next(send_message_reply("A puppy! Tell me everything."), model=MODEL)
    first = await say(letta_chat, user, "I got a new puppy today!")
    assert (first["runtime"], first["response"]) == ("letta", "A puppy! Tell me everything.")
    assert first["degraded"] == [] and first["agent_ms"] > 0
    openai_fake.reply_next(send_message_reply("Sparky the golden retriever, what a team."), model=MODEL)
    second = await say(letta_chat, user, "His name is Sparky and he's a golden retriever.")
    assert second["runtime"] == "letta" and second["response"].startswith("Sparky")
    # What Letta forwarded to the LLM: our persona block and the recalled puppy memory, quoted.
    forwarded = json.dumps(openai_fake.chat_requests[-1].json["messages"])
    assert "recalled_memories" in forwarded and "I got a new puppy today!" in forwarded
    assert "Big Five" in forwarded or "openness" in forwarded.lower()

    await letta_app.state.services.chat.writer.drain()
    found = await letta_chat.post(f"/api/memory/{user}/search", json={"query": "puppy", "k": 5})
    assert any("Sparky" in r["memory"]["content"] for r in found.json()["results"])
    conn = await asyncpg.connect(database_url)
    try:
        agent_id = await conn.fetchval("SELECT letta_agent_id FROM user_profiles WHERE user_id = $1", user)
        rows = await conn.fetch(
            "SELECT runtime, pad_before, pad_after FROM interactions WHERE user_id = $1 ORDER BY id", user
        )
        importance = await conn.fetchval(
            "SELECT importance FROM memories WHERE user_id = $1 AND content = 'I got a new puppy today!'",
            user,
        )
    finally:
        await conn.close()
    assert agent_id and [r["runtime"] for r in rows] == ["letta", "letta"]
    assert json.loads(rows[0]["pad_after"])["pleasure"] > json.loads(rows[0]["pad_before"])["pleasure"]
    assert importance > 0.5

    # Letta fails mid-conversation: the reply still comes, from `direct`, and says what was bypassed.
    openai_fake.fail_next(3, status=500, model=MODEL)
    openai_fake.reply_for_model(MODEL, "Still here, through the direct path.")
    third = await say(letta_chat, user, "Are you still there?")
    assert third["runtime"] in ("direct", "template")
    assert "letta" in third["degraded"]

    # Deleting the user deletes their Letta agent too.
    deleted = await letta_chat.delete(f"/api/users/{user}")
    assert deleted.status_code == 200 and "letta" in deleted.json()["removed"], deleted.text
    runtime = next(r for r in letta_app.state.services.chat.runtimes if r.name == "letta")
    assert await runtime.client.find_agents(f"companion_{user}") == []


@pytest.mark.slow
async def test_a_server_channel_turn_never_goes_through_the_users_letta_agent(
    letta_chat: httpx.AsyncClient, openai_fake: FakeOpenAIServer
) -> None:
    """The Letta agent holds the user's DM history: a channel turn is answered by `direct` with that
    channel's memories only, and nothing of the DM reaches the LLM."""
    user = new_user()
    openai_fake.reply_next(send_message_reply("I'll keep that between us."), model=MODEL)
    private = await say(letta_chat, user, "Between us: I'm secretly afraid of losing my job at Acme Corp.")
    assert private["runtime"] == "letta"
    openai_fake.reply_for_model(MODEL, "Not much, what's new with you?")
    calls_before = len(openai_fake.chat_requests)
    response = await letta_chat.post(
        f"/api/chat/{user}/messages",
        json={"message": "hey, what's new?", "username": "dana", "is_dm": False, "channel_id": "31337"},
    )
    public = response.json()
    assert (public["runtime"], public["memories_used"]) == ("direct", []), public
    assert "letta" not in public["degraded"]
    [request] = openai_fake.chat_requests[calls_before:]  # one call, from `direct`, none through Letta
    prompt = json.dumps(request.json["messages"])
    assert "Acme" not in prompt and "between us" not in prompt.lower()
