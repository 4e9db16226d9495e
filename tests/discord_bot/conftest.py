"""The bot under test: the real discord.py client against the fake Discord (tests/fakes/discord), talking to
the real gateway app (uvicorn on a loopback port) backed by the session's Postgres and Redis. No chat LLM is
configured, so replies come from the offline templates (fast and deterministic).

``running_bot`` fails the test when discord.py or the bot logs an error, when the client task dies, or when
the bot called a Discord route the fake does not know.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import discord
import pytest
import yarl

from discord_bot.bot import CompanionBot
from discord_bot.config import BotSettings
from gateway.config import AuthSettings
from scripts.localstack import free_port
from tests.fakes.discord import FakeDiscord
from tests.gateway.conftest import ADMIN_KEY, SERVICE_TOKEN, embedding_service_url, gateway_settings  # noqa: F401
from tests.servers import ThreadedServer

PUSH_TOKEN = "push-token-for-tests-0123456789abc"
WATCHED_LOGGERS = ("discord", "discord_bot")


@pytest.fixture(scope="session")
def gateway_url(database_url: str, redis_url: str, embedding_service_url: str) -> Iterator[str]:  # noqa: F811
    auth = AuthSettings(
        gateway_service_token=SERVICE_TOKEN,
        admin_api_key=ADMIN_KEY,
        bot_push_token=PUSH_TOKEN,
        _env_file=None,  # type: ignore[call-arg]
    )
    settings = gateway_settings(database_url, redis_url, embedding_service_url, auth=auth)
    from gateway.app import create_app

    with ThreadedServer(create_app(settings), name="gateway-for-bot") as server:
        yield server.base_url


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


class ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.allowed: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not any(fragment in record.getMessage() for fragment in self.allowed):
            self.records.append(record)


def bot_settings(gateway: str, push_port: int, **overrides: Any) -> BotSettings:
    values: dict[str, Any] = {
        "discord_token": "fake-bot-token",
        "gateway_url": gateway,
        "gateway_service_token": SERVICE_TOKEN,
        "admin_api_key": ADMIN_KEY,
        "bot_push_token": PUSH_TOKEN,
        "bot_push_host": "127.0.0.1",
        "bot_push_port": push_port,
        "bot_push_public_url": f"http://127.0.0.1:{push_port}",
    }
    values.update(overrides)
    return BotSettings(_env_file=None, **values)  # type: ignore[call-arg]


async def wait_for(condition: Callable[[], Any], *, within: float = 10.0, what: str = "condition") -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = condition()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def run_bot(
    fake: FakeDiscord, gateway: str, *, bot_options: dict[str, Any] | None = None, **overrides: Any
) -> AsyncIterator[CompanionBot]:
    """The bot with ``overrides`` as settings and ``bot_options`` as CompanionBot's keyword arguments."""
    route_base, default_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    errors = ErrorRecords()
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).addHandler(errors)
    settings = bot_settings(gateway, free_port(), **overrides)
    bot = CompanionBot(settings, guild_ready_timeout=0.05, **(bot_options or {}))
    bot.error_records = errors  # type: ignore[attr-defined]
    task = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()), name="discord-bot")
    try:
        await wait_for(lambda: bot.is_ready() or task.done(), within=15, what="the bot to be ready")
        if task.done():
            task.result()
            raise AssertionError("the bot stopped before it was ready")
        yield bot
        assert not task.done(), f"the bot's client task died: {task.exception() if task.done() else ''}"
        assert not bot.failed_extensions, bot.failed_extensions
        assert not fake.unhandled, f"the bot called routes the fake lacks: {fake.unhandled}"
        assert not errors.records, "errors were logged:\n" + "\n".join(
            f"{record.name}: {record.getMessage()}" for record in errors.records
        )
    finally:
        await bot.close()
        with contextlib.suppress(Exception):  # its failure, if any, was asserted above
            await asyncio.wait_for(task, timeout=10)
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).removeHandler(errors)
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
            route_base,
            default_gateway,
        )


@pytest.fixture
async def bot(fake_discord: FakeDiscord, gateway_url: str) -> AsyncIterator[CompanionBot]:
    async with run_bot(fake_discord, gateway_url) as running:
        yield running
