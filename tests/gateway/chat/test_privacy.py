"""Who may hear what (docs/memory.md, "Who may hear a memory"), through the HTTP chat API: a reply in a server
channel uses only what was said in that channel, never a DM; a DM may use everything."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.config import ChatLLMSettings, Settings
from gateway.personality.repository import PersonalityRepository
from tests.fakes.openai_server import FakeOpenAIServer
from tests.gateway.conftest import asgi_client, gateway_settings, running_app, service_auth

SECRET = "Between us: I'm secretly afraid of losing my job at Acme Corp."
SECRET_WORDS = ("Acme", "secretly", "losing my job")
CHANNEL_A = "111111111111111111"
CHANNEL_B = "222222222222222222"
GUILD = "999999999999999999"
MODEL = "companion-primary"


def in_channel(channel: str = CHANNEL_A) -> dict[str, Any]:
    return {"is_dm": False, "channel_id": channel, "guild_id": GUILD}


def new_user() -> str:
    return str(uuid.uuid4().int)[:18]


async def say(client: httpx.AsyncClient, user_id: str, text: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        f"/api/chat/{user_id}/messages", json={"message": text, "username": "alice", **extra}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def memory_ids(client: httpx.AsyncClient, user_id: str, content: str) -> set[str]:
    page = (await client.get(f"/api/memory/{user_id}/episodic", params={"limit": 200})).json()
    return {item["id"] for item in page["items"] if item["content"] == content}


def leaks(text: str) -> list[str]:
    return [word for word in SECRET_WORDS if word.lower() in text.lower()]


@pytest.fixture
async def offline(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app without a chat LLM: offline templates, which quote the best recalled memory."""
    async with asgi_client(app, service_auth()) as http:
        yield http


@pytest.fixture
async def llm_app(
    database_url: str, redis_url: str, embedding_service_url: str, openai_fake: FakeOpenAIServer
) -> AsyncIterator[FastAPI]:
    chat_llm = ChatLLMSettings(  # type: ignore[call-arg]
        llm_base_url=openai_fake.base_url, primary_llm_model=MODEL, llm_timeout_seconds=3, _env_file=None
    )
    settings: Settings = gateway_settings(database_url, redis_url, embedding_service_url, chat_llm=chat_llm)
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def llm_chat(llm_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(llm_app, service_auth()) as http:
        yield http


# --- offline templates (they quote the best recalled memory) ----------------------------------------------


async def test_a_mention_in_a_channel_does_not_quote_a_dm(offline: httpx.AsyncClient) -> None:
    """The reported case: a DM secret, then "hey, what's new?" in a server channel: nothing of the DM."""
    user = new_user()
    await say(offline, user, SECRET)
    public = await say(offline, user, "hey, what's new?", **in_channel())
    assert public["runtime"] == "template"
    assert leaks(public["response"]) == [], public["response"]
    secret_ids = await memory_ids(offline, user, SECRET)
    assert secret_ids and not secret_ids & {m["id"] for m in public["memories_used"]}


async def test_a_dm_after_the_channel_may_still_recall_the_secret(offline: httpx.AsyncClient) -> None:
    """Back in the DM, everything may be used again: the secret is recalled."""
    user = new_user()
    await say(offline, user, SECRET)
    await say(offline, user, "hey, what's new?", **in_channel())
    private = await say(offline, user, "what about my job at Acme?")
    secret_ids = await memory_ids(offline, user, SECRET)
    assert secret_ids & {m["id"] for m in private["memories_used"]}, private


async def test_a_memory_said_in_one_channel_is_not_used_in_another(offline: httpx.AsyncClient) -> None:
    """Channel A's memory is recalled in channel A and never in channel B."""
    user = new_user()
    said = "My bike is a red Bianchi called Rocket."
    await say(offline, user, said, **in_channel(CHANNEL_A))
    elsewhere = await say(offline, user, "what do you know about my bike Rocket?", **in_channel(CHANNEL_B))
    same = await say(offline, user, "what do you know about my bike Rocket?", **in_channel(CHANNEL_A))
    said_ids = await memory_ids(offline, user, said)
    assert said_ids and not said_ids & {m["id"] for m in elsewhere["memories_used"]}
    assert "Bianchi" not in elsewhere["response"]
    assert said_ids & {m["id"] for m in same["memories_used"]}, same


async def test_a_public_message_without_its_channel_is_refused(offline: httpx.AsyncClient) -> None:
    """is_dm false without channel_id: 422, since the reply's audience is unknown."""
    response = await offline.post(
        f"/api/chat/{new_user()}/messages", json={"message": "hi", "username": "alice", "is_dm": False}
    )
    assert response.status_code == 422, response.text
    assert "channel_id" in response.text


async def test_memories_record_where_they_were_said(offline: httpx.AsyncClient, app: FastAPI) -> None:
    """A DM's memories are private (no origin channel); a channel's carry its channel and server."""
    user = new_user()
    await say(offline, user, SECRET)
    await say(offline, user, "I love board games.", **in_channel())
    await app.state.services.chat.writer.drain()
    page = (await offline.get(f"/api/memory/{user}/episodic", params={"limit": 50})).json()
    origins = {
        item["content"]: (item["origin_channel_id"], item["origin_guild_id"]) for item in page["items"]
    }
    assert origins[SECRET] == (None, None)
    assert origins["I love board games."] == (CHANNEL_A, GUILD)


# --- the memory routes shown in a server (/memories) -------------------------------------------------------


async def test_memory_search_scoped_to_a_channel_leaves_out_dms(offline: httpx.AsyncClient) -> None:
    """POST /search with channel_id returns only that channel's memories; without it, everything."""
    user = new_user()
    await say(offline, user, SECRET)
    await say(offline, user, "My job at the bakery is fun.", **in_channel())
    scoped = await offline.post(
        f"/api/memory/{user}/search", json={"query": "my job", "k": 10, "channel_id": CHANNEL_A}
    )
    everything = await offline.post(f"/api/memory/{user}/search", json={"query": "my job", "k": 10})
    assert scoped.status_code == everything.status_code == 200, scoped.text
    scoped_contents = [r["memory"]["content"] for r in scoped.json()["results"]]
    assert SECRET not in scoped_contents and "My job at the bakery is fun." in scoped_contents
    assert SECRET in [r["memory"]["content"] for r in everything.json()["results"]]


async def test_memory_list_scoped_to_a_channel_leaves_out_dms(
    offline: httpx.AsyncClient, app: FastAPI
) -> None:
    """GET /episodic?channel_id= lists only that channel's memories, and counts only them."""
    user = new_user()
    await say(offline, user, SECRET)
    await say(offline, user, "Chess tonight?", **in_channel())
    await app.state.services.chat.writer.drain()  # memories are written behind the reply
    page = (
        await offline.get(f"/api/memory/{user}/episodic", params={"limit": 50, "channel_id": CHANNEL_A})
    ).json()
    contents = [item["content"] for item in page["items"]]
    assert SECRET not in contents and "Chess tonight?" in contents
    assert page["total"] == len(contents)


# --- with an LLM: nothing of the DM in the prompt ----------------------------------------------------------


async def test_the_llm_prompt_of_a_channel_reply_holds_nothing_of_the_dm(
    llm_chat: httpx.AsyncClient, openai_fake: FakeOpenAIServer
) -> None:
    """Neither recalled memories nor the DM turns reach the prompt of a channel reply."""
    openai_fake.reply_for_model(MODEL, "I'm here for you, always.")
    user = new_user()
    await say(llm_chat, user, SECRET)
    openai_fake.reply_for_model(MODEL, "Not much, what's up with you?")
    public = await say(llm_chat, user, "hey, what's new?", **in_channel())
    assert public["runtime"] == "direct" and public["memories_used"] == []
    prompt = "\n".join(m["content"] for m in openai_fake.chat_requests[-1].json["messages"])
    assert leaks(prompt) == [], prompt
    assert "I'm here for you, always." not in prompt  # the DM's reply is no history here


async def test_the_llm_prompt_of_a_channel_reply_keeps_that_channels_history(
    llm_chat: httpx.AsyncClient, openai_fake: FakeOpenAIServer
) -> None:
    """The channel's own earlier exchange is the history of its next reply; a DM's is not."""
    user = new_user()
    openai_fake.reply_for_model(MODEL, "A private answer.")
    await say(llm_chat, user, SECRET)
    openai_fake.reply_for_model(MODEL, "Chess is great!")
    await say(llm_chat, user, "do you like chess?", **in_channel())
    openai_fake.reply_for_model(MODEL, "Sure.")
    await say(llm_chat, user, "and checkers?", **in_channel())
    history = [m["content"] for m in openai_fake.chat_requests[-1].json["messages"][1:-1]]
    assert history == ["do you like chess?", "Chess is great!"]


async def test_a_dm_prompt_may_use_the_secret(
    llm_chat: httpx.AsyncClient, openai_fake: FakeOpenAIServer
) -> None:
    """In a DM the secret comes back as a quoted memory and as history."""
    openai_fake.reply_for_model(MODEL, "That sounds stressful.")
    user = new_user()
    await say(llm_chat, user, SECRET)
    await say(llm_chat, user, "hey, what's new?", **in_channel())
    await say(llm_chat, user, "any thoughts about my job?")
    prompt = "\n".join(m["content"] for m in openai_fake.chat_requests[-1].json["messages"])
    assert "Acme Corp" in prompt


async def test_a_quirk_quoting_words_stays_out_of_a_channel_prompt(
    llm_chat: httpx.AsyncClient, llm_app: FastAPI, openai_fake: FakeOpenAIServer
) -> None:
    """Quirks are mined from every reply, DMs included: one that quotes words (here a phrase from a DM) is in
    the persona of a DM reply, never of a channel reply; a quirk without quoted words is in both."""
    openai_fake.reply_for_model(MODEL, "Hello!")
    user = new_user()
    await say(llm_chat, user, "hi there")
    async with llm_app.state.services.pool.acquire() as conn:
        repo = PersonalityRepository(conn)
        now = datetime.now(UTC)
        await repo.insert_quirk(
            user, "speech_pattern", 'often says "poor Acme Corp"', 0.9, True, "local", now
        )
        await repo.insert_quirk(user, "behavior", "asks a follow-up question", 0.8, True, "local", now)

    def system_prompt() -> str:
        content: str = openai_fake.chat_requests[-1].json["messages"][0]["content"]
        return content

    await say(llm_chat, user, "hey, what's new?", **in_channel())
    public = system_prompt()
    await say(llm_chat, user, "hey, what's new?")
    private = system_prompt()
    assert "asks a follow-up question" in public and "asks a follow-up question" in private
    assert "Acme" in private
    assert "Acme" not in public, public
