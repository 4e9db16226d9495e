"""Deleting a user through the API while they talk: ordered with their messages, and nothing of them left in
Postgres, Redis (the gateway's keys and queues) or the embedding service's cache."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from gateway.chat.writer import PENDING_INTERACTIONS_KEY, PENDING_KEY
from gateway.config import GroqSettings
from gateway.memory.importance import cache_key as importance_key
from gateway.personality.appraisal import cache_key as appraisal_key
from gateway.security.detector import embedding_input
from gateway.security.judge import judge_cache_key
from gateway.security.normalize import normalize
from tests.fakes.openai_server import FakeOpenAIServer
from tests.gateway.chat.test_pipeline import PRIMARY, llm_settings, new_user
from tests.gateway.conftest import admin_auth, asgi_client, gateway_settings, running_app, service_auth
from tests.gateway.personality.test_appraisal import GOOD as APPRAISAL
from tests.gateway.users.test_users import PER_USER_TABLES

# Tables the users tests did not list but that hold per-user rows too.
ALL_PER_USER_TABLES = (*PER_USER_TABLES, "security_user_state", "proactive_messages", "pending_deletions")


@pytest.fixture
async def chat_app(
    database_url: str, redis_url: str, embedding_service_url: str, openai_fake: FakeOpenAIServer
) -> AsyncIterator[FastAPI]:
    settings = gateway_settings(
        database_url, redis_url, embedding_service_url, chat_llm=llm_settings(openai_fake)
    )
    async with running_app(settings) as application:
        yield application


async def rows_left(database_url: str, user_id: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        counts = {
            table: int(await conn.fetchval(f"SELECT count(*) FROM {table} WHERE user_id = $1", user_id))  # noqa: S608
            for table in ALL_PER_USER_TABLES
        }
    finally:
        await conn.close()
    return {table: n for table, n in counts.items() if n}


async def redis_keys_of(redis: aioredis.Redis, user_id: str) -> list[bytes]:
    """Every key naming the user, in the Redis the gateway and the embedding service share in the tests."""
    return [key async for key in redis.scan_iter(match=f"*{user_id}*", count=1000)]


async def queued_records_of(redis: aioredis.Redis, user_id: str) -> list[str]:
    found = []
    for key in (PENDING_INTERACTIONS_KEY, PENDING_KEY):
        found += [
            raw.decode() for raw in await redis.lrange(key, 0, -1) if json.loads(raw)["user_id"] == user_id
        ]
    return found


async def cached_vectors_of(redis: aioredis.Redis, texts: list[str]) -> list[bytes]:
    """Embedding-cache keys holding a vector of one of ``texts`` (as they were sent, or as the security layer
    embeds them), whatever the task, model or namespace: the key ends with the text's sha256."""
    variants = {variant for text in texts for variant in (text, embedding_input(normalize(text)))}
    found: list[bytes] = []
    for text in variants:
        digest = hashlib.sha256(text.encode()).hexdigest()
        found += [key async for key in redis.scan_iter(match=f"emb:*{digest}", count=1000)]
    return found


async def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def delete_request(http: httpx.AsyncClient, route: str, user_id: str) -> asyncio.Task[httpx.Response]:
    if route == "user":
        return asyncio.create_task(http.delete(f"/api/users/{user_id}"))
    return asyncio.create_task(
        http.post(f"/api/admin/users/{user_id}/reset", json={"confirm": True}, headers=admin_auth())
    )


@pytest.mark.parametrize("route", ["user", "admin"])
async def test_a_deletion_during_a_conversation_answers_earlier_messages_then_leaves_nothing(
    route: str,
    chat_app: FastAPI,
    openai_fake: FakeOpenAIServer,
    database_url: str,
    redis_client: aioredis.Redis,
) -> None:
    """Messages sent before the DELETE are answered (200) and then deleted with the rest; no 500, no row,
    key, queued record or cached vector of the user is left, and the next message starts a new companion."""
    user, tag = new_user(), uuid.uuid4().hex[:8]
    reply = f"Noted ({tag})."
    openai_fake.reply_for_model(PRIMARY, reply)
    openai_fake.set_latency(0.3, model=PRIMARY)  # each turn is really in flight for a while
    texts = [f"Remember note {i} of {tag}: I water the plants on day {i}." for i in range(4)]
    async with asgi_client(chat_app, service_auth()) as http:
        sends = [
            asyncio.create_task(
                http.post(f"/api/chat/{user}/messages", json={"message": t, "username": "dee"})
            )
            for t in texts
        ]
        await eventually(lambda: len(openai_fake.chat_requests) >= 1)  # the first turn is in flight
        deletion = delete_request(http, route, user)
        answers = await asyncio.gather(*sends)
        deleted = await deletion
        await chat_app.state.services.chat.writer.drain()

        assert [a.status_code for a in answers] == [200] * len(texts), [a.text for a in answers]
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["pending"] == []
        assert await rows_left(database_url, user) == {}
        assert await redis_keys_of(redis_client, user) == []
        assert await queued_records_of(redis_client, user) == []
        assert await cached_vectors_of(redis_client, [*texts, reply]) == []

        openai_fake.set_latency(0.0, model=PRIMARY)
        after = await http.post(
            f"/api/chat/{user}/messages", json={"message": f"Hi again {tag}", "username": "dee"}
        )
        assert after.status_code == 200, after.text
        history = await http.get(f"/api/users/{user}/export")
    assert [i["user_message"] for i in history.json()["interactions"]] == [f"Hi again {tag}"]


async def test_a_deletion_leaves_no_key_and_no_cached_embedding_of_the_user(
    chat_app: FastAPI,
    openai_fake: FakeOpenAIServer,
    redis_client: aioredis.Redis,
) -> None:
    """The user's texts were cached by the embedding service (under their namespace) and their rate-limit
    bucket existed; after the DELETE no Redis key names the user and no vector of their texts is cached."""
    user, tag = new_user(), uuid.uuid4().hex[:8]
    reply = f"How lovely ({tag})!"
    openai_fake.reply_for_model(PRIMARY, reply)
    texts = [f"My sister {tag} moved to Lisbon.", f"She teaches {tag} maths there."]
    async with asgi_client(chat_app, service_auth()) as http:
        for text in texts:
            sent = await http.post(f"/api/chat/{user}/messages", json={"message": text, "username": "dee"})
            assert sent.status_code == 200, sent.text
        await chat_app.state.services.chat.writer.drain()
        assert await cached_vectors_of(redis_client, texts), "the texts were never cached"
        assert await redis_keys_of(redis_client, user), "nothing of the user was in Redis to begin with"

        deleted = await http.delete(f"/api/users/{user}")
        assert deleted.status_code == 200, deleted.text
        assert await redis_keys_of(redis_client, user) == []
        assert await cached_vectors_of(redis_client, [*texts, reply]) == []
        assert "embedding_cache" in deleted.json()["removed"]


async def test_a_memory_written_through_the_api_while_its_user_is_deleted_is_a_404(
    database_url: str,
    redis_url: str,
    embedding_service_url: str,
    openai_fake: FakeOpenAIServer,
) -> None:
    """POST /api/memory/{id}/memories found the user, then the user was deleted while the memory was being
    scored (slow Groq): the insert is refused with a 404 naming the deletion, not a 500, and nothing stays."""
    settings = gateway_settings(
        database_url,
        redis_url,
        embedding_service_url,
        groq=GroqSettings(api_key="k" * 20, base_url=openai_fake.base_url, model="fast", _env_file=None),  # type: ignore[call-arg]
    )
    user = new_user()
    async with running_app(settings) as application, asgi_client(application, service_auth()) as http:
        hello = await http.post(f"/api/chat/{user}/messages", json={"message": "hello", "username": "dee"})
        assert hello.status_code == 200, hello.text
        await application.state.services.chat.writer.drain()
        seen = len(openai_fake.chat_requests)
        openai_fake.delay_next(1.0, model="fast")
        created = asyncio.create_task(
            http.post(f"/api/memory/{user}/memories", json={"content": "I keep bees on the roof."})
        )
        await eventually(lambda: len(openai_fake.chat_requests) > seen)  # the memory is being scored
        deleted = await http.delete(f"/api/users/{user}")
        refused = await created
    assert deleted.status_code == 200, deleted.text
    assert refused.status_code == 404, refused.text
    assert refused.json() == {
        "error": "UserNotFoundError",
        "detail": "the user was deleted while this request ran",
    }
    assert await rows_left(database_url, user) == {}


async def test_a_deletion_leaves_no_cached_llm_judgement_of_the_users_words(
    database_url: str,
    redis_url: str,
    embedding_service_url: str,
    openai_fake: FakeOpenAIServer,
    redis_client: aioredis.Redis,
) -> None:
    """With Groq configured, the importance and the appraisal of the user's message, and the injection judge's
    view of it (an everyday "forget what I told you" is in the grey zone), are cached; they are cached under
    the user's own keys, so the DELETE removes them, and no shared key keeps a digest of the message."""
    judge = {"is_attack": False, "kind": "none", "confidence": 0.05, "reason": "an everyday remark"}
    openai_fake.reply_for_model("fast", json.dumps({"importance": 0.7, **APPRAISAL, **judge}))
    settings = gateway_settings(
        database_url,
        redis_url,
        embedding_service_url,
        groq=GroqSettings(api_key="k" * 20, base_url=openai_fake.base_url, model="fast", _env_file=None),  # type: ignore[call-arg]
    )
    user = new_user()
    text = f"Forget what I told you about moving to {uuid.uuid4().hex[:8]}, we decided to stay."
    async with running_app(settings) as application, asgi_client(application, service_auth()) as http:
        sent = await http.post(f"/api/chat/{user}/messages", json={"message": text, "username": "dee"})
        assert sent.status_code == 200, sent.text
        assert not sent.json()["security"]["threat_detected"]
        await application.state.services.chat.writer.drain()
        judged = normalize(text).analysis_text
        cached = [
            importance_key(text, "user", user),
            appraisal_key(text, "fast", user),
            judge_cache_key(judged, user),
        ]
        assert [await redis_client.exists(key) for key in cached] == [1, 1, 1], "nothing was cached"
        deleted = await http.delete(f"/api/users/{user}")
    assert deleted.status_code == 200, deleted.text
    shared = [importance_key(text, "user"), appraisal_key(text, "fast"), judge_cache_key(judged)]
    assert [await redis_client.exists(key) for key in [*cached, *shared]] == [0] * 6
