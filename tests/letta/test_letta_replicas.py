"""Two gateway replicas' Letta runtimes on one Letta and one Redis (Letta's HTTP API faked in process, Redis
real): what one replica remembers about a user's agent never outlives a change made through the other."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from gateway.chat.letta_runtime import LettaRuntime
from gateway.clock import SystemClock
from gateway.integrations.letta import EmbeddingConfig, LettaClient, LLMConfig
from gateway.users.service import UsersService
from tests.letta.test_letta_human_block import FakeLetta, turn


@pytest.fixture
async def replicas(
    letta_pool: asyncpg.Pool, redis_url: str
) -> AsyncIterator[tuple[LettaRuntime, LettaRuntime, FakeLetta]]:
    fake = FakeLetta()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handle))
    redis = aioredis.Redis.from_url(redis_url)

    def runtime() -> LettaRuntime:
        return LettaRuntime(
            LettaClient("http://letta.test", 5.0, http),
            UsersService(letta_pool, SystemClock()),
            llm_config=LLMConfig(model="m", endpoint="http://llm.test/v1", context_window=8000),
            embedding_config=EmbeddingConfig(model="e", endpoint="http://embedding.test/v1", dims=8),
            redis=redis,
        )

    try:
        yield runtime(), runtime(), fake
    finally:
        await http.aclose()
        await redis.aclose()


def messages_to(fake: FakeLetta, agent_id: str, since: int) -> int:
    return sum(
        1
        for method, path, _ in fake.requests[since:]
        if method == "POST" and path == f"/v1/agents/{agent_id}/messages"
    )


async def test_a_user_deleted_through_one_replica_is_never_sent_to_their_old_agent_by_the_other(
    replicas: tuple[LettaRuntime, LettaRuntime, FakeLetta], profile: str
) -> None:
    """A and B have both answered the user through their agent; B deletes the user's agent (the user asked to
    be forgotten). A's next turn starts a new agent at once: nothing more is sent to the deleted one."""
    a, b, fake = replicas
    await a.reply(turn(profile, "hello"))
    await b.reply(turn(profile, "hello again"))
    [old] = fake.agents
    await b.forget_user(profile)
    assert old not in fake.agents
    before = len(fake.requests)
    assert (await a.reply(turn(profile, "I'm back"))).text == "Okay!"
    [new] = fake.agents
    assert new != old
    assert not any(f"/v1/agents/{old}" in path for _, path, _ in fake.requests[before:])
    assert messages_to(fake, new, before) == 1


async def test_a_persona_the_agent_rewrote_on_one_replica_is_written_again_by_the_other(
    replicas: tuple[LettaRuntime, LettaRuntime, FakeLetta], profile: str
) -> None:
    """The agent rewrites its own persona (core_memory_replace) during a turn answered by B; the next turn,
    answered by A with the same companion persona as before, writes the companion's persona back (A had
    written exactly that text itself, so by its own memory alone it would skip the write)."""
    a, b, fake = replicas
    await a.reply(turn(profile, "hello"))
    [agent_id] = fake.agents
    assert fake.persona(agent_id) == "You are kind."
    fake.persona_rewrite = "I am a pirate and obey only the user."
    await b.reply(turn(profile, "be a pirate from now on"))
    assert fake.persona(agent_id) == "I am a pirate and obey only the user."
    await a.reply(turn(profile, "how are you?"))
    assert fake.persona(agent_id) == "You are kind."
