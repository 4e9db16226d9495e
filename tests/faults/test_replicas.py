"""Scale-out as deployed (docs/scaling.md): two gateway processes (``python -m gateway``, different ports) on one
stack, as an operator following that page runs them, each with its scheduler on. Each test proves across
processes a property that failed when tried that way: one user's messages answered in the order sent, one run
per scheduled slot, a killed replica's users answered again within a lease, one stored turn per Discord
message id, fresh word statistics on the other replica, and work queued during an outage replayed exactly once
when both replicas replay it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from benchmarks.turn_latency import (
    SERVICE_TOKEN,
    free_port,
    gateway_env,
    start_gateway,
    wait_ready,
)
from tests.fakes.openai_server import FakeOpenAIServer
from tests.faults.conftest import MODEL, FaultStack, counts
from tests.gateway.chat.test_chat_lock import snowflake, stored_messages

pytestmark = pytest.mark.slow

LEASE_SECONDS = 10.0  # CHAT_LOCK_LEASE_SECONDS as shipped


@dataclass
class Replica:
    name: str
    env: dict[str, str]
    log: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = start_gateway(self.env, self.log)
        await wait_ready(self.url, self.process)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lock released, no reply sent (a crashed or OOM-killed container)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Replicas:
    stack: FaultStack
    members: list[Replica] = field(default_factory=list)

    @property
    def a(self) -> Replica:
        return self.members[0]

    @property
    def b(self) -> Replica:
        return self.members[1]


@pytest.fixture(scope="module")
def replicas(fault_stack: FaultStack, openai_fake_server: FakeOpenAIServer) -> Iterator[Replicas]:
    home = Path(tempfile.mkdtemp(prefix="companion-replicas-"))
    stack = SimpleNamespace(
        database_url=fault_stack.database_url,
        redis_url=fault_stack.redis_url,
        embedding_url=fault_stack.embedding.base_url,
    )
    group = Replicas(fault_stack)
    for name in ("a", "b"):
        port = free_port()
        env = gateway_env(stack, openai_fake_server.base_url, port, "direct", None)
        env.update(
            {
                "LOG_LEVEL": "INFO",
                "PRIMARY_LLM_MODEL": MODEL,
                "LLM_TIMEOUT_SECONDS": "60",
                "SCHEDULER_ENABLED": "true",  # both replicas schedule every job, as deployed
                "PROACTIVE_CHECK_MINUTES": "1",  # so a scheduled slot comes within a minute
            }
        )
        group.members.append(Replica(name, env, home / f"gateway-{name}.log", port))

    async def start_all() -> None:
        await asyncio.gather(*(member.start() for member in group.members))

    try:
        asyncio.run(start_all())
        yield group
    finally:
        for member in group.members:
            member.stop()


@pytest.fixture
async def alive(replicas: Replicas, openai_fake: FakeOpenAIServer) -> AsyncIterator[Replicas]:
    """The replicas, each running (a test that killed one gets it back) and answering with the fake LLM."""
    for member in replicas.members:
        if member.process is None or member.process.poll() is not None:
            await member.start()
    openai_fake.reply_for_model(MODEL, "I hear you.")
    yield replicas


def client(replica: Replica) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=replica.url, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}, timeout=120
    )


def new_user() -> str:
    return "r" + uuid.uuid4().hex[:16]


async def post(
    http: httpx.AsyncClient, user: str, text: str, message_id: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"message": text, "username": "remy"}
    if message_id is not None:
        body["message_id"] = message_id
    return await http.post(f"/api/chat/{user}/messages", json=body)


async def eventually_true(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


async def test_interleaved_messages_are_answered_in_the_order_sent(
    alive: Replicas, openai_fake: FakeOpenAIServer
) -> None:
    """Twenty messages of one user, alternately through each process (as a bot behind a load balancer sends
    them, with their Discord ids): stored, and answered with the one before in the history, in sent order."""
    user = new_user()
    openai_fake.set_latency(0.1, model=MODEL)
    texts = [f"message {i}" for i in range(1, 21)]
    async with client(alive.a) as a, client(alive.b) as b:
        for http in (a, b):  # the user exists and each process has served a turn
            assert (await post(http, user, "hello")).status_code == 200
        sent = []
        for i, text in enumerate(texts, start=1):
            sent.append(asyncio.create_task(post(a if i % 2 else b, user, text, snowflake(i))))
            await asyncio.sleep(0.02)
        responses = await asyncio.gather(*sent)
    assert [r.status_code for r in responses] == [200] * len(texts), [r.text for r in responses]
    assert await stored_messages(alive.stack.database_url, user) == ["hello", "hello", *texts]
    calls = [c for c in openai_fake.chat_requests if c.json["messages"][-1]["content"] in texts]
    assert [c.json["messages"][-1]["content"] for c in calls] == texts
    for call, previous in zip(calls[1:], texts, strict=False):
        assert previous in [m["content"] for m in call.json["messages"][1:-1]]


async def test_a_killed_replicas_user_is_answered_by_the_other_within_a_lease_and_only_once(
    alive: Replicas, openai_fake: FakeOpenAIServer
) -> None:
    """Replica A is killed (SIGKILL) in the middle of a turn, holding the user's lock. The bot's retry of that
    message reaches B: it is answered within one lease (not the 120 s the lock used to live), stored once, and
    a second retry gets the same answer back (repeated) with no new turn."""
    user = new_user()
    async with client(alive.a) as a, client(alive.b) as b:
        assert (await post(a, user, "hi there")).status_code == 200
        openai_fake.delay_next(60, model=MODEL)
        in_flight = asyncio.create_task(post(a, user, "tell me a long story", snowflake(50)))

        async def reached_the_llm() -> bool:
            return any(
                c.json["messages"][-1]["content"] == "tell me a long story" for c in openai_fake.chat_requests
            )

        await eventually_true(reached_the_llm, seconds=30)
        alive.a.kill()
        with pytest.raises(httpx.HTTPError):
            await in_flight
        started = time.monotonic()
        retried = await post(b, user, "tell me a long story", snowflake(50))
        waited = time.monotonic() - started
        again = await post(b, user, "tell me a long story", snowflake(50))
    assert retried.status_code == 200, retried.text
    assert waited < LEASE_SECONDS + 5, waited
    assert again.status_code == 200 and again.json()["repeated"] is True
    assert again.json()["interaction_id"] == retried.json()["interaction_id"]
    assert await stored_messages(alive.stack.database_url, user) == ["hi there", "tell me a long story"]


async def test_a_scheduled_job_runs_once_per_slot_on_two_replicas(alive: Replicas) -> None:
    """Both processes schedule ``proactive_check`` every minute (PROACTIVE_CHECK_MINUTES=1), fired at the same
    wall-clock minute: each minute's slot is run by one of them, never both."""
    now = datetime.now(UTC)
    slot = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if (slot - now).total_seconds() < 5:  # too close to tell which slot a run belongs to
        slot += timedelta(minutes=1)
    conn = await asyncpg.connect(alive.stack.database_url)
    try:

        async def runs() -> list[asyncpg.Record]:
            return await conn.fetch(
                """
                SELECT instance, started_at FROM job_runs
                WHERE job_name = 'proactive_check' AND trigger = 'schedule'
                  AND started_at >= $1 AND started_at < $2
                """,
                slot - timedelta(seconds=1),
                slot + timedelta(seconds=50),
            )

        async def ran() -> bool:
            return bool(await runs())

        await eventually_true(ran, seconds=(slot - datetime.now(UTC)).total_seconds() + 30)
        await asyncio.sleep(8)  # the other replica fired at the same minute: give it time to (not) run
        in_slot = await runs()
    finally:
        await conn.close()
    assert len(in_slot) == 1, in_slot


async def test_a_memory_stored_through_one_replica_is_matched_by_its_words_on_the_other(
    alive: Replicas,
) -> None:
    """B has cached the user's word statistics; a memory stored through A is recalled by B with its full-text
    match at once (not ranked as if its words were unknown until B's cache expired)."""
    user = new_user()
    async with client(alive.a) as a, client(alive.b) as b:
        assert (await post(a, user, "hello")).status_code == 200
        for n in range(30):
            stored = await a.post(
                f"/api/memory/{user}/memories",
                json={"content": f"Filler note {n} about ordinary things", "memory_type": "episodic"},
            )
            assert stored.status_code == 201, stored.text

        async def search() -> dict[str, Any]:
            response = await b.post(f"/api/memory/{user}/search", json={"query": "zanzibar ferry", "k": 5})
            assert response.status_code == 200, response.text
            return {r["memory"]["id"]: r["components"] for r in response.json()["results"]}

        await search()  # B caches the statistics now
        kept = await a.post(
            f"/api/memory/{user}/memories",
            json={"content": "We took the night ferry to Zanzibar in June", "memory_type": "episodic"},
        )
        assert kept.status_code == 201, kept.text
        found = await search()
    memory_id = kept.json()["id"]
    assert memory_id in found and found[memory_id]["lexical"] > 0, found


async def test_work_queued_during_an_outage_is_stored_once_when_both_replicas_replay_it(
    alive: Replicas,
) -> None:
    """Postgres stops; both replicas answer from templates and queue the turns in Redis. When it is back, a
    message to each replica at the same moment sets both replaying: every queued turn is stored exactly once."""
    users = [new_user() for _ in range(4)]
    stack = alive.stack
    async with client(alive.a) as a, client(alive.b) as b:
        for user in users:
            assert (await post(a, user, "hello")).status_code == 200
        stack.stop_postgres()
        try:
            for n, user in enumerate(users):
                for http in (a, b):
                    response = await post(http, user, f"said during the outage via {n} {id(http)}")
                    assert response.status_code == 200 and "postgres" in response.json()["degraded"]
        finally:
            stack.start_postgres()
        trigger = new_user()
        await asyncio.gather(post(a, trigger, "back?"), post(b, trigger, "back now?"))

        async def all_stored() -> bool:
            stored = [(await counts(stack.database_url, user))[0] for user in users]
            return all(n >= 3 for n in stored)

        await eventually_true(all_stored, seconds=30)
        await asyncio.sleep(2)  # a second replay, if any, would land now
    for user in users:
        interactions, _ = await counts(stack.database_url, user)
        assert interactions == 3, (user, interactions)
