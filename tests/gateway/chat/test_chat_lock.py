"""The per-user chat lock across gateway replicas: a short Redis lease, renewed while the turn runs."""

from __future__ import annotations

import asyncio

import httpx

from gateway.config import ChatLLMSettings, ChatSettings
from tests.fakes.openai_server import FakeOpenAIServer
from tests.gateway.chat.test_pipeline import PRIMARY, new_user
from tests.gateway.conftest import asgi_client, gateway_settings, running_app, service_auth
from tests.gateway.users.test_deletion import eventually

LEASE_SECONDS = 1.0


async def test_a_turn_longer_than_the_lease_keeps_the_user_from_another_replica(
    database_url: str, redis_url: str, embedding_service_url: str, openai_fake: FakeOpenAIServer
) -> None:
    """Replica A's turn lasts several leases (slow LLM); replica B, on the same Redis, answers the same
    user's next message only after A has answered: the lease was renewed, never lapsed."""
    settings = gateway_settings(
        database_url,
        redis_url,
        embedding_service_url,
        chat_llm=ChatLLMSettings(  # type: ignore[call-arg]
            llm_base_url=openai_fake.base_url,
            primary_llm_model=PRIMARY,
            fallback_llm_model=None,
            llm_timeout_seconds=20,
            _env_file=None,
        ),
        chat=ChatSettings(lock_lease_seconds=LEASE_SECONDS, _env_file=None),  # type: ignore[call-arg]
    )
    user = new_user()
    openai_fake.reply_for_model(PRIMARY, "Take your time.")
    openai_fake.delay_next(4 * LEASE_SECONDS, model=PRIMARY)
    async with running_app(settings) as replica_a, running_app(settings) as replica_b:
        async with asgi_client(replica_a, service_auth()) as a, asgi_client(replica_b, service_auth()) as b:
            first = asyncio.create_task(
                a.post(f"/api/chat/{user}/messages", json={"message": "a long story", "username": "kim"})
            )
            await eventually(
                lambda: len(openai_fake.chat_requests) >= 1
            )  # A holds the lock, waits for the LLM
            second = asyncio.create_task(
                b.post(f"/api/chat/{user}/messages", json={"message": "and another", "username": "kim"})
            )
            answered_first: httpx.Response = await first
            llm_calls_when_a_answered = len(openai_fake.chat_requests)
            answered_second = await second
    assert answered_first.status_code == 200 and answered_second.status_code == 200
    assert llm_calls_when_a_answered == 1  # B never reached the LLM while A's turn was running
    assert [r.json["messages"][-1]["content"] for r in openai_fake.chat_requests] == [
        "a long story",
        "and another",
    ]
