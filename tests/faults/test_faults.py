"""Degraded mode under real faults (docs/architecture.md#decisions, D12): each dependency is stopped for real
mid-conversation; the user still gets a reply that says what was bypassed, /health/ready shows it, and once
the dependency is back nothing is lost: every message is an interaction and every memory is stored (and
embedded) again."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from gateway.chat.writer import PENDING_INTERACTIONS_KEY
from gateway.config import ChatLLMSettings, QdrantSettings
from gateway.memory.reindex import embedding_spaces
from tests.fakes.openai_server import FakeOpenAIServer
from tests.faults.conftest import MODEL, FaultStack, counts
from tests.gateway.conftest import admin_auth, asgi_client, gateway_settings, running_app, service_auth

pytestmark = pytest.mark.slow


def new_user() -> str:
    return "f" + uuid.uuid4().hex[:16]


async def say(http: httpx.AsyncClient, user_id: str, text: str) -> dict[str, Any]:
    response = await http.post(f"/api/chat/{user_id}/messages", json={"message": text, "username": "faye"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def ready(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get("/health/ready")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_postgres_stopped_mid_conversation_loses_nothing(
    http: httpx.AsyncClient, fault_app: FastAPI, fault_stack: FaultStack, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.reply_for_model(MODEL, "I'm listening.")
    user = new_user()
    await say(http, user, "I started learning the cello this week.")
    chat = fault_app.state.services.chat
    await chat.writer.drain()
    assert await counts(fault_stack.database_url, user) == (1, 2)

    fault_stack.stop_postgres()
    during = [await say(http, user, text) for text in ("My teacher is called Ines.", "She is very patient.")]
    for body in during:
        assert "postgres" in body["degraded"], body
        assert body["response"] == "I'm listening." and body["runtime"] == "direct"
    # The companion still sounds like itself: the persona cached from the last turn reached the LLM.
    assert "Big Five" in openai_fake.chat_requests[-1].json["messages"][0]["content"]
    status = await ready(http)
    assert status["dependencies"]["postgres"]["ok"] is False and "postgres" in status["degraded"]
    assert status["queued"]["interactions"] == 2
    await chat.writer.drain()

    fault_stack.start_postgres()
    replayed = await chat.replay_pending()
    assert replayed == {"interactions": 2, "memories": 4}
    after = await say(http, user, "Back to normal?")
    assert "postgres" not in after["degraded"]
    await chat.writer.drain()
    assert await counts(fault_stack.database_url, user) == (4, 8)
    status = await ready(http)
    assert status["status"] == "ok" and status["queued"] == {"interactions": 0, "memories": 0}


async def test_a_new_user_met_while_postgres_is_down_exists_afterwards(
    http: httpx.AsyncClient, fault_app: FastAPI, fault_stack: FaultStack
) -> None:
    user = new_user()
    fault_stack.stop_postgres()
    body = await say(http, user, "Hi, I'm new here!")
    assert "postgres" in body["degraded"] and body["interaction_id"] is None
    await fault_app.state.services.chat.writer.drain()
    fault_stack.start_postgres()
    assert await fault_app.state.services.chat.replay_pending() == {"interactions": 1, "memories": 2}
    profile = await http.get(f"/api/users/{user}")
    assert profile.status_code == 200 and profile.json()["username"] == "faye"
    assert await counts(fault_stack.database_url, user) == (1, 2)


async def test_a_turn_queued_by_an_older_gateway_is_replayed_after_the_upgrade(
    http: httpx.AsyncClient, fault_app: FastAPI, fault_stack: FaultStack
) -> None:
    """An interaction an older gateway queued (before turns recorded their server and DM flag) is stored
    by the upgraded one: an outage spanning an upgrade loses no turn."""
    user = new_user()
    legacy = {
        "user_id": user, "username": "faye", "created_at": "2026-12-01T10:00:00+00:00",
        "user_message": "Queued before the upgrade.", "assistant_response": "And kept after it.",
        "pad_before": {"pleasure": 0.1, "arousal": 0.0, "dominance": 0.0},
        "pad_after": {"pleasure": 0.2, "arousal": 0.0, "dominance": 0.0},
        "emotion_before": "neutral", "emotion_after": "content", "memory_ids": [], "latency_ms": 12,
        "tokens": 3, "model": MODEL, "runtime": "direct", "degraded": ["postgres"], "threat": False,
        "channel_id": None,
    }  # fmt: skip
    await fault_app.state.services.redis.rpush(PENDING_INTERACTIONS_KEY, json.dumps(legacy))
    assert (await fault_app.state.services.chat.replay_pending())["interactions"] == 1
    conn = await asyncpg.connect(fault_stack.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT assistant_response, is_dm, emotion_after, created_at FROM interactions WHERE user_id = $1",
            user,
        )
    finally:
        await conn.close()
    assert row is not None and row["assistant_response"] == "And kept after it."
    assert row["is_dm"] is True and row["emotion_after"] == "content"
    assert row["created_at"].isoformat() == "2026-12-01T10:00:00+00:00"


async def test_a_channel_message_queued_while_postgres_is_down_keeps_its_origin(
    http: httpx.AsyncClient, fault_app: FastAPI, fault_stack: FaultStack
) -> None:
    """Replayed after the outage, a server-channel turn and its memories still say where they were said."""
    user = new_user()
    await say(http, user, "Hello there.")
    await fault_app.state.services.chat.writer.drain()
    fault_stack.stop_postgres()
    response = await http.post(
        f"/api/chat/{user}/messages",
        json={"message": "Chess club is on Friday.", "username": "faye", "is_dm": False, "channel_id": "77",
              "guild_id": "88"},
    )  # fmt: skip
    assert response.status_code == 200 and "postgres" in response.json()["degraded"], response.text
    await fault_app.state.services.chat.writer.drain()
    fault_stack.start_postgres()
    await fault_app.state.services.chat.replay_pending()
    conn = await asyncpg.connect(fault_stack.database_url)
    try:
        turn = await conn.fetchrow(
            "SELECT is_dm, channel_id, guild_id FROM interactions WHERE user_id = $1 AND user_message = $2",
            user,
            "Chess club is on Friday.",
        )
        origins = await conn.fetch(
            "SELECT origin_channel_id, origin_guild_id, count(*) AS n FROM memories WHERE user_id = $1"
            " GROUP BY 1, 2",
            user,
        )
    finally:
        await conn.close()
    assert (turn["is_dm"], turn["channel_id"], turn["guild_id"]) == (False, "77", "88")
    # The DM's message and reply stay private; the channel's message and reply carry the channel.
    assert {(r["origin_channel_id"], r["origin_guild_id"]): r["n"] for r in origins} == {
        (None, None): 2,
        ("77", "88"): 2,
    }


async def test_redis_killed_mid_conversation(
    http: httpx.AsyncClient, fault_app: FastAPI, fault_stack: FaultStack
) -> None:
    user = new_user()
    await say(http, user, "We went to the lake on Sunday.")
    fault_stack.kill_redis()
    for text in ("The water was freezing.", "Still, we swam!"):
        body = await say(http, user, text)
        assert body["runtime"] == "direct"
    status = await ready(http)
    assert status["dependencies"]["redis"]["ok"] is False
    fault_stack.start_redis()
    await fault_app.state.services.chat.writer.drain()
    assert await counts(fault_stack.database_url, user) == (3, 6)
    assert (await ready(http))["dependencies"]["redis"]["ok"] is True


async def test_embedding_service_killed_then_memories_are_embedded_later(
    http: httpx.AsyncClient, fault_app: FastAPI, fault_stack: FaultStack
) -> None:
    user = new_user()
    await say(http, user, "Hello again!")
    fault_stack.kill_embedding()
    body = await say(http, user, "I adopted a kitten called Miso.")
    assert "embedding_service" in body["degraded"], body
    context = fault_app.state.services
    await context.chat.writer.drain()
    assert (await ready(http))["dependencies"]["embedding_service"]["ok"] is False
    assert await counts(fault_stack.database_url, user) == (2, 4)

    fault_stack.start_embedding()
    assert await context.memory.embed_backlog() >= 2
    found = await http.post(f"/api/memory/{user}/search", json={"query": "kitten", "k": 3})
    top = found.json()["results"][0]
    assert "Miso" in top["memory"]["content"] and top["components"]["similarity"] is not None
    assert (await ready(http))["status"] == "ok"


async def test_chat_llm_errors_and_timeouts_fall_back_to_templates(
    http: httpx.AsyncClient, fault_app: FastAPI, fault_stack: FaultStack, openai_fake: FakeOpenAIServer
) -> None:
    user = new_user()
    openai_fake.fail_next(1, status=500, model=MODEL)
    first = await say(http, user, "Are you there?")
    openai_fake.delay_next(5.0, model=MODEL)
    second = await say(http, user, "Hello?")
    for body in (first, second):
        assert body["offline"] is True and "chat_llm" in body["degraded"], body
    await fault_app.state.services.chat.writer.drain()
    # Both messages are kept; offline template replies are not worth a memory of their own.
    assert await counts(fault_stack.database_url, user) == (2, 2)


@pytest.fixture
async def qdrant_app(
    fault_stack: FaultStack, openai_fake: FakeOpenAIServer, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    """The gateway with Qdrant (local mode, in a directory) as its index and pgvector as the fallback."""
    settings = gateway_settings(
        fault_stack.database_url,
        fault_stack.redis_url,
        fault_stack.embedding.base_url,
        chat_llm=ChatLLMSettings(  # type: ignore[call-arg]
            llm_base_url=openai_fake.base_url,
            primary_llm_model=MODEL,
            fallback_llm_model=None,
            _env_file=None,
        ),
        qdrant=QdrantSettings(path=str(tmp_path / "qdrant"), _env_file=None),  # type: ignore[call-arg]
    )
    async with running_app(settings) as application:
        yield application


async def test_qdrant_index_dropped_mid_conversation_is_rebuilt_from_postgres(
    qdrant_app: FastAPI, fault_stack: FaultStack
) -> None:
    context = qdrant_app.state.services
    index = context.memory.index
    assert index.name == "qdrant"
    async with asgi_client(qdrant_app, service_auth()) as http:
        user = new_user()
        await say(http, user, "My favourite tea is a smoky lapsang souchong.")
        await context.chat.writer.drain()
        collections = await index.collections()
        assert collections, "the first memories created the collections"

        for name in collections:  # the fault: the index is gone
            await index.client.delete_collection(name)
        body = await say(http, user, "What tea do I like?")
        assert "qdrant" in body["degraded"], body  # recall fell back to pgvector...
        assert body["memories_used"], body  # ...and still found the memory
        await context.chat.writer.drain()
        assert await counts(fault_stack.database_url, user) == (2, 4)

        # Recovery: the maintenance job sees the collections gone and rebuilds them from Postgres.
        ran = await http.post("/api/admin/jobs/memory_maintenance/run?wait=true", headers=admin_auth())
        assert ran.status_code == 200, ran.text
        assert ran.json()["report"]["index_reconcile"]["rebuilt"] >= 4, ran.json()
        space = (await embedding_spaces(context.pool))[0]
        found = await index.search(
            space, user, (await context.memory.embedding.embed_query("tea")).vector, 10
        )
        assert len(found) == 4  # every memory of this user is back in the index
        after = await say(http, user, "Thanks!")
        assert "qdrant" not in after["degraded"]


async def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_chat_lock_orphaned_by_a_redis_restart_frees_within_its_lease(
    http: httpx.AsyncClient, fault_stack: FaultStack, openai_fake: FakeOpenAIServer
) -> None:
    """Redis dies while a turn holds the user's lock, so its release is lost and the key comes back from the
    AOF: it lives at most one lease (CHAT_LOCK_LEASE_SECONDS=10), and the user's next message is answered
    within about that, not after the 120 s the lock used to keep."""
    user = new_user()
    await say(http, user, "First things first.")
    openai_fake.delay_next(1.0, model=MODEL)
    in_flight = asyncio.create_task(say(http, user, "This turn is in flight when Redis dies."))
    await eventually(lambda: len(openai_fake.chat_requests) >= 2)
    fault_stack.kill_redis()
    await in_flight
    fault_stack.start_redis()
    probe = aioredis.Redis.from_url(fault_stack.redis_url)
    try:
        assert await probe.pttl(f"user:{user}:chat-lock") <= 10_000  # -2 once already expired
    finally:
        await probe.aclose()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(say(http, user, "Are you there?"), timeout=40)
    assert loop.time() - started < 25  # one lease and generous slack


async def test_a_user_deleted_with_work_still_queued_stays_deleted(
    http: httpx.AsyncClient, fault_app: FastAPI, fault_stack: FaultStack
) -> None:
    """A turn answered while Postgres was down is queued; deleting the user drops it, so the replay that
    follows brings nothing back (no profile, interaction or memory)."""
    user = new_user()
    chat = fault_app.state.services.chat
    await say(http, user, "Hello before the outage.")
    await chat.writer.drain()
    fault_stack.stop_postgres()
    assert "postgres" in (await say(http, user, "Said while the database is down."))["degraded"]
    await chat.writer.drain()
    fault_stack.start_postgres()
    deleted = await http.delete(f"/api/users/{user}")
    assert deleted.status_code == 200, deleted.text
    await chat.replay_pending()
    assert await counts(fault_stack.database_url, user) == (0, 0)
    assert (await http.get(f"/api/users/{user}")).status_code == 404


async def test_two_gateways_replaying_the_queue_at_once_store_each_record_once(
    fault_app: FastAPI, fault_stack: FaultStack
) -> None:
    """Work queued during an outage is replayed by both replicas at the same moment: every record is stored
    exactly once (none twice, none popped unstored) and the queue ends empty."""
    settings = fault_app.state.services.settings
    users = [new_user() for _ in range(3)]
    records = [
        {
            "user_id": user, "username": "faye", "created_at": f"2026-12-01T10:0{n}:00+00:00",
            "user_message": f"message {n} of {user}", "assistant_response": f"answer {n} to {user}",
            "pad_before": None, "pad_after": None, "emotion_before": None, "emotion_after": None,
            "memory_ids": [], "latency_ms": 1, "runtime": "direct", "channel_id": None,
        }
        for n in range(4)
        for user in users
    ]  # fmt: skip
    redis = fault_app.state.services.redis
    async with running_app(settings) as other:
        await redis.rpush(PENDING_INTERACTIONS_KEY, *(json.dumps(record) for record in records))
        replayed = await asyncio.gather(
            fault_app.state.services.chat.replay_pending(), other.state.services.chat.replay_pending()
        )
    assert sum(result["interactions"] for result in replayed) == len(records)
    assert await redis.llen(PENDING_INTERACTIONS_KEY) == 0
    conn = await asyncpg.connect(fault_stack.database_url)
    try:
        rows = await conn.fetch(
            "SELECT user_id, assistant_response FROM interactions WHERE user_id = ANY($1::text[])", users
        )
    finally:
        await conn.close()
    stored = sorted((row["user_id"], row["assistant_response"]) for row in rows)
    assert stored == sorted((r["user_id"], r["assistant_response"]) for r in records)
