"""The real app with a frozen clock, the scheduler off (tests run jobs themselves) and proactive messages
delivered over HTTP to a fake bot push server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from gateway.app import create_app
from gateway.clock import FrozenClock
from gateway.config import SchedulerSettings, SecuritySettings, Settings
from gateway.deps import Services
from tests.gateway.conftest import gateway_settings, service_auth
from tests.gateway.proactive.fake_bot import BotHandle

# A Monday, noon UTC.
START = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def sim_settings(database_url: str, redis_url: str, embedding_url: str, **overrides: object) -> Settings:
    return gateway_settings(
        database_url,
        redis_url,
        embedding_url,
        scheduler=SchedulerSettings(enabled=False, _env_file=None),  # type: ignore[call-arg]
        # A simulated week sends hundreds of requests in seconds of wall time.
        security=SecuritySettings(rate_limit_enabled=False, _env_file=None),  # type: ignore[call-arg]
        **overrides,
    )


@pytest.fixture
def bot() -> Iterator[BotHandle]:
    handle = BotHandle()
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


@dataclass
class Sim:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FrozenClock
    bot: BotHandle

    @property
    def context(self) -> Services:
        context: Services = self.app.state.services
        return context

    async def say(self, user_id: str, message: str, username: str = "sam") -> dict[str, object]:
        response = await self.client.post(
            f"/api/chat/{user_id}/messages",
            json={"message": message, "username": username, "channel_id": "c-1"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
async def sim(
    database_url: str, redis_url: str, embedding_service_url: str, bot: BotHandle
) -> AsyncIterator[Sim]:
    clock = FrozenClock(START)
    deliverer = bot.client()
    app = create_app(
        sim_settings(database_url, redis_url, embedding_service_url), clock=clock, deliverer=deliverer
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", headers=service_auth()
        ) as http:
            yield Sim(app, http, clock, bot)
    await deliverer.aclose()
