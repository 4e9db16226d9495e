"""The second tier: the real ``CompanionBot`` (every cog) under simcord, an in-memory Discord that drives
discord.py's own machinery, against the real gateway (uvicorn, the session's Postgres and Redis).

simcord simulates Discord: users, guilds, DMs, slash commands (synced through the bot's real
``tree.sync()``), buttons, autocomplete and a virtual clock (``advance_time`` fires view timeouts and the
heartbeat loop). After every user action it waits until the bot's tasks are done, its real HTTP calls to the
gateway included, so a test reads the bot's answer on the next line. What the gateway does after answering
(writing a turn's memories) is outside that wait: tests poll the gateway for it. The wire-level fake
(tests/fakes/discord) stays the tier for the socket, REST, 429s and reconnects.

simcord's snowflakes follow its virtual clock, which every environment starts at the same instant, while the
gateway's database lives for the whole session: each environment first moves its clock on by one second more
than the last one did, so tests never share a Discord id. Create a test's users, servers and channels before
moving its clock further.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator

import pytest
import simcord

from discord_bot.bot import CompanionBot
from scripts.localstack import free_port
from tests.discord_bot.conftest import WATCHED_LOGGERS, ErrorRecords, bot_settings

_clock_offsets = itertools.count(1)


@pytest.fixture
def simcord_bot(gateway_url: str) -> CompanionBot:
    """The bot simcord's ``simcord_env`` fixture runs: the real one, with every cog."""
    return CompanionBot(bot_settings(gateway_url, free_port()))


@pytest.fixture
async def sim(simcord_env: simcord.Env, simcord_bot: CompanionBot) -> AsyncIterator[simcord.Env]:
    """simcord's environment around the real bot. Fails the test on an error the bot logged or raised and did
    not answer (simcord's own check, at its teardown), or an extension that did not load."""
    simcord_env.settle_timeout = 30.0  # the gateway is real: leave room for a slow first call
    await simcord_env.advance_time(next(_clock_offsets))
    errors = ErrorRecords()
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).addHandler(errors)
    try:
        yield simcord_env
        assert not simcord_bot.failed_extensions, simcord_bot.failed_extensions
        assert not errors.records, "errors were logged:\n" + "\n".join(
            f"{record.name}: {record.getMessage()}" for record in errors.records
        )
    finally:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).removeHandler(errors)
        await simcord_bot.close()  # simcord never closes the bot: stop the push server, the gateway client
