"""The retry of deletions that failed (``pending_deletions``), as the maintenance and health jobs run it, with
Letta as the store that fails, hangs or needs Postgres itself (its agent id lives in ``user_profiles``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from gateway.chat.letta_runtime import agent_name
from gateway.config import DatabaseSettings, LettaSettings
from tests.fakes.letta_server import FakeLettaServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.gateway.chat.test_pipeline import llm_settings, new_user
from tests.gateway.conftest import asgi_client, gateway_settings, running_app, service_auth

# More rows than one run takes (RETRIES_PER_RUN), so two concurrent runs both have work.
MANY = 130
# Generous: the runs take about a second; a run that waits for the pool forever fails here instead of hanging.
FINISH_WITHIN_SECONDS = 60


@pytest.fixture
def letta_fake() -> Iterator[FakeLettaServer]:
    with FakeLettaServer() as server:
        yield server


@pytest.fixture
async def small_pool_app(
    database_url: str,
    redis_url: str,
    embedding_service_url: str,
    openai_fake: FakeOpenAIServer,
    letta_fake: FakeLettaServer,
) -> AsyncIterator[FastAPI]:
    """The gateway with the letta runtime (on the fake Letta) and a pool of two connections."""
    settings = gateway_settings(
        database_url,
        redis_url,
        embedding_service_url,
        database=DatabaseSettings(url=database_url, pool_min_size=1, pool_max_size=2, _env_file=None),  # type: ignore[call-arg]
        chat_llm=llm_settings(openai_fake),
        letta=LettaSettings(server_url=letta_fake.base_url, timeout_seconds=30, _env_file=None),  # type: ignore[call-arg]
    )
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own, outside the gateway's pool, to look at what the runs left."""
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def retry(app: FastAPI) -> dict[str, int]:
    """One run of the jobs' ``pending_deletions`` step."""
    report: dict[str, int] = await app.state.services.user_data.retry_pending()
    return report


async def pending_of(db: asyncpg.Connection, user_id: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT attempts, last_error, claimed_until > now() AS claimed FROM pending_deletions"
        " WHERE user_id = $1",
        user_id,
    )


async def delete_while_letta_fails(http: httpx.AsyncClient, letta: FakeLettaServer, user_id: str) -> None:
    """The user deletes their companion while Letta answers 500: the Letta deletion is left pending."""
    created = await http.post(
        f"/api/personality/{user_id}/initialize", json={"profile": "supportive_friend", "username": "dee"}
    )
    assert created.status_code == 201, created.text
    letta.fail_listing(agent_name(user_id))
    deleted = await http.delete(f"/api/users/{user_id}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["pending"] == ["letta"]


async def eventually_listed(letta: FakeLettaServer, name: str, times: int, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while letta.listed.count(name) < times:
        assert asyncio.get_running_loop().time() < deadline, f"Letta was never asked for {name}"
        await asyncio.sleep(0.01)


async def test_two_concurrent_retries_on_a_pool_of_two_both_finish(
    small_pool_app: FastAPI, letta_fake: FakeLettaServer, db: asyncpg.Connection
) -> None:
    """The health and the maintenance job retry at once, more Letta deletions than one run takes, on a pool of
    two connections (forgetting a Letta agent reads its id from Postgres): both runs finish, every deletion is
    done, and no user's agent is looked up twice."""
    users = [new_user() for _ in range(MANY)]
    await db.execute(
        "INSERT INTO pending_deletions (user_id, target) SELECT unnest($1::text[]), 'letta'", users
    )
    for user in users:
        letta_fake.add_agent(agent_name(user))

    first, second = await asyncio.wait_for(
        asyncio.gather(retry(small_pool_app), retry(small_pool_app)), FINISH_WITHIN_SECONDS
    )

    assert first["retried"] > 0 and second["retried"] > 0, (first, second)
    assert first["deleted"] + second["deleted"] >= MANY
    left = await db.fetchval("SELECT count(*) FROM pending_deletions WHERE user_id = ANY($1::text[])", users)
    assert left == 0
    assert [user for user in users if letta_fake.agents_named(agent_name(user))] == []
    looked_up = [name for name in letta_fake.listed if name in {agent_name(user) for user in users}]
    assert sorted(looked_up) == sorted(agent_name(user) for user in users)


async def test_a_failure_is_counted_and_a_later_success_removes_the_row(
    small_pool_app: FastAPI, letta_fake: FakeLettaServer, db: asyncpg.Connection, user_id: str
) -> None:
    """Letta still failing: the retry counts an attempt and keeps Letta's answer; Letta back: the next retry
    deletes the agent and the row."""
    agent_id = letta_fake.add_agent(agent_name(user_id))
    async with asgi_client(small_pool_app, service_auth()) as http:
        await delete_while_letta_fails(http, letta_fake, user_id)

    await retry(small_pool_app)
    failed = await pending_of(db, user_id)
    assert failed is not None
    assert failed["attempts"] == 1
    assert "Letta answered 500" in failed["last_error"]
    assert not failed["claimed"]  # free for the next run at once
    assert letta_fake.agents_named(agent_name(user_id)) == [agent_id]

    letta_fake.fail_listing(agent_name(user_id), failing=False)
    await retry(small_pool_app)
    assert await pending_of(db, user_id) is None
    assert letta_fake.agents_named(agent_name(user_id)) == []


async def test_a_deletion_claimed_by_a_run_that_died_waits_for_its_lease(
    small_pool_app: FastAPI, letta_fake: FakeLettaServer, db: asyncpg.Connection, user_id: str
) -> None:
    """A run dies (here: cancelled, as at shutdown) while Letta hangs on one user's deletion: later runs leave
    that deletion alone while the dead run's lease holds, and retry it once the lease has passed."""
    letta_fake.add_agent(agent_name(user_id))
    async with asgi_client(small_pool_app, service_auth()) as http:
        await delete_while_letta_fails(http, letta_fake, user_id)
    letta_fake.fail_listing(agent_name(user_id), failing=False)
    letta_fake.hold_listing(agent_name(user_id))
    dying = asyncio.create_task(retry(small_pool_app))
    await eventually_listed(letta_fake, agent_name(user_id), times=2)  # the deletion's, then the retry's
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying
    letta_fake.hold_listing(agent_name(user_id), held=False)

    claimed = await pending_of(db, user_id)
    assert claimed is not None and claimed["claimed"] and claimed["attempts"] == 0
    await retry(small_pool_app)
    assert letta_fake.listed.count(agent_name(user_id)) == 2  # not touched again
    assert await pending_of(db, user_id) == claimed

    # The lease runs out (as if its minutes had passed).
    await db.execute(
        "UPDATE pending_deletions SET claimed_until = now() - interval '1 second' WHERE user_id = $1", user_id
    )
    await retry(small_pool_app)
    assert await pending_of(db, user_id) is None
    assert letta_fake.agents_named(agent_name(user_id)) == []
