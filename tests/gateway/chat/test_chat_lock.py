"""The per-user chat lock across gateway replicas: a short Redis lease, renewed while the turn runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx

from gateway.config import ChatLLMSettings, ChatSettings, SecuritySettings, Settings
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
    settings = _replicas_settings(
        database_url,
        redis_url,
        embedding_service_url,
        openai_fake,
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


def snowflake(offset: int) -> str:
    """A Discord-shaped id: later offsets are later messages."""
    return str(1_300_000_000_000_000_000 + offset * 1_000_000)


def _replicas_settings(
    database_url: str,
    redis_url: str,
    embedding_service_url: str,
    openai_fake: FakeOpenAIServer,
    chat: ChatSettings | None = None,
) -> Settings:
    """Replicas' settings: the fake LLM as the chat LLM, no rate limit (one client sends everything)."""
    return gateway_settings(
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
        security=SecuritySettings(rate_limit_enabled=False, _env_file=None),  # type: ignore[call-arg]
        **({"chat": chat} if chat is not None else {}),
    )


async def stored_messages(database_url: str, user: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT user_message FROM interactions WHERE user_id = $1 ORDER BY id", user)
    finally:
        await conn.close()
    return [row["user_message"] for row in rows]


async def test_messages_sent_through_two_replicas_are_answered_in_the_order_sent(
    database_url: str, redis_url: str, embedding_service_url: str, openai_fake: FakeOpenAIServer
) -> None:
    """Twenty messages of one user, sent a few milliseconds apart and alternately through replica A and B with
    their Discord ids (as the bot behind a load balancer sends them): each is answered after the one before
    it, with it in the history, whichever replica took it. (A plain lock answered 1, 3, 5, 2, 4, …: the
    releasing replica handed over to its own next waiter. Without ids, a line can only follow the order the
    requests reach it, which a few milliseconds of scheduling can swap.)"""
    settings = _replicas_settings(database_url, redis_url, embedding_service_url, openai_fake)
    user = new_user()
    openai_fake.reply_for_model(PRIMARY, "Noted.")
    openai_fake.set_latency(0.03, model=PRIMARY)
    texts = [f"message {i}" for i in range(1, 21)]
    async with running_app(settings) as replica_a, running_app(settings) as replica_b:
        async with asgi_client(replica_a, service_auth()) as a, asgi_client(replica_b, service_auth()) as b:
            for http in (a, b):  # both replicas have met the user and served a request (no first-call costs)
                warm = await http.post(
                    f"/api/chat/{user}/messages", json={"message": "hi", "username": "kim"}
                )
                assert warm.status_code == 200
            sent = []
            for i, text in enumerate(texts):
                http = a if i % 2 == 0 else b
                sent.append(
                    asyncio.create_task(
                        http.post(
                            f"/api/chat/{user}/messages",
                            json={"message": text, "username": "kim", "message_id": snowflake(i + 1)},
                        )
                    )
                )
                await asyncio.sleep(0.005)
            responses = await asyncio.gather(*sent)
    assert [r.status_code for r in responses] == [200] * len(texts)
    assert await stored_messages(database_url, user) == ["hi", "hi", *texts]
    calls = [c for c in openai_fake.chat_requests if c.json["messages"][-1]["content"] in texts]
    assert [c.json["messages"][-1]["content"] for c in calls] == texts
    for call, previous in zip(calls[1:], texts, strict=False):  # the message before it is in its history
        assert previous in [m["content"] for m in call.json["messages"][1:-1]]


async def test_a_message_that_reaches_its_replica_late_is_still_answered_in_the_order_sent(
    database_url: str, redis_url: str, embedding_service_url: str, openai_fake: FakeOpenAIServer
) -> None:
    """While replica A answers an earlier message, the bot sends message 1 to replica B and message 2 to A, and
    A receives its message first: the Discord ids say which was sent first, and that one is answered first
    (arrival order, or a lock that favours A's own waiters, would answer message 2 first)."""
    settings = _replicas_settings(database_url, redis_url, embedding_service_url, openai_fake)
    user = new_user()
    openai_fake.reply_for_model(PRIMARY, "Mm-hm.")
    openai_fake.delay_next(0.5, model=PRIMARY)
    async with running_app(settings) as replica_a, running_app(settings) as replica_b:
        async with asgi_client(replica_a, service_auth()) as a, asgi_client(replica_b, service_auth()) as b:

            def post(http: httpx.AsyncClient, text: str, message_id: str) -> asyncio.Task[httpx.Response]:
                body = {"message": text, "username": "kim", "message_id": message_id}
                return asyncio.create_task(http.post(f"/api/chat/{user}/messages", json=body))

            earlier = post(a, "before", "1300000000000001000")
            await eventually(
                lambda: any(c.json["messages"][-1]["content"] == "before" for c in openai_fake.chat_requests)
            )
            second = post(a, "second", "1300000000000003000")
            await asyncio.sleep(0.1)  # message 2 is waiting in line before message 1 arrives
            first = post(b, "first", "1300000000000002000")
            responses = await asyncio.gather(earlier, second, first)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert await stored_messages(database_url, user) == ["before", "first", "second"]


@asynccontextmanager
async def two_replicas(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two gateways on the same stack, and a client of each."""
    async with (
        running_app(settings) as replica_a,
        running_app(settings) as replica_b,
        asgi_client(replica_a, service_auth()) as a,
        asgi_client(replica_b, service_auth()) as b,
    ):
        yield a, b


@asynccontextmanager
async def slow_memory_inserts(database_url: str, user: str, seconds: float = 1.0) -> AsyncIterator[None]:
    """Each insert of ``user``'s memories takes ``seconds`` (a trigger), so their writes are still in flight
    when the reply has gone out."""
    admin = await asyncpg.connect(database_url)
    trigger = f"slow_memories_{user}"
    try:
        await admin.execute(
            f"""
            CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep({seconds}); RETURN NEW; END $$;
            CREATE TRIGGER {trigger} BEFORE INSERT ON memories FOR EACH ROW
                WHEN (NEW.user_id = '{user}') EXECUTE FUNCTION {trigger}();
            """
        )
        yield
    finally:
        await admin.execute(
            f"DROP TRIGGER IF EXISTS {trigger} ON memories; DROP FUNCTION IF EXISTS {trigger}()"
        )
        await admin.close()


async def test_the_next_message_through_another_replica_recalls_the_previous_one(
    database_url: str, redis_url: str, embedding_service_url: str, openai_fake: FakeOpenAIServer
) -> None:
    """A's reply goes out while the memories of that turn are still being stored; the user's next message,
    sent through B right away, is answered once they are stored, so its prompt recalls what was just said."""
    settings = _replicas_settings(database_url, redis_url, embedding_service_url, openai_fake)
    user = new_user()
    openai_fake.reply_for_model(PRIMARY, "Lovely.")
    async with slow_memory_inserts(database_url, user), two_replicas(settings) as (a, b):
        told = await a.post(
            f"/api/chat/{user}/messages",
            json={"message": "My sister Clementine is moving to Lisbon next month.", "username": "kim"},
        )
        assert told.status_code == 200  # the reply did not wait for the memory write
        asked = await b.post(
            f"/api/chat/{user}/messages", json={"message": "Where is my sister moving?", "username": "kim"}
        )
    assert asked.status_code == 200
    last = openai_fake.chat_requests[-1].json["messages"]
    assert last[-1]["content"] == "Where is my sister moving?"
    assert "Lisbon" in last[0]["content"]  # recalled into the system prompt


async def test_an_export_through_another_replica_holds_the_turn_just_answered(
    database_url: str, redis_url: str, embedding_service_url: str, openai_fake: FakeOpenAIServer
) -> None:
    """The user asks for their data through B right after A answered them: the export waits for A's memory
    writes, so it holds what they just said."""
    settings = _replicas_settings(database_url, redis_url, embedding_service_url, openai_fake)
    user = new_user()
    openai_fake.reply_for_model(PRIMARY, "Lovely.")
    async with slow_memory_inserts(database_url, user), two_replicas(settings) as (a, b):
        told = await a.post(
            f"/api/chat/{user}/messages", json={"message": "I planted forty tulips today.", "username": "kim"}
        )
        assert told.status_code == 200
        exported = await b.get(f"/api/users/{user}/export")
    assert exported.status_code == 200, exported.text
    assert any("forty tulips" in memory["content"] for memory in exported.json()["memories"])
