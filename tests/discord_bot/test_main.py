"""``python -m discord_bot`` when Discord cannot be reached: one clear line and a non-zero exit, no traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import discord
import pytest

from discord_bot.__main__ import main
from scripts.localstack import free_port


@pytest.fixture
def unreachable_discord(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """discord.py pointed at a port where nothing listens (as a host without outbound HTTPS sees Discord),
    the bot configured by environment from a directory without a .env; yields the port."""
    port = free_port()
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    monkeypatch.chdir(tmp_path)
    push_port = free_port()
    for name, value in {
        "DISCORD_TOKEN": "fake.discord.token",
        "GATEWAY_URL": f"http://127.0.0.1:{free_port()}",
        "GATEWAY_SERVICE_TOKEN": "service-token-for-this-test",
        "BOT_PUSH_TOKEN": "push-token-for-this-test",
        "BOT_PUSH_HOST": "127.0.0.1",
        "BOT_PUSH_PORT": str(push_port),
        "BOT_PUSH_PUBLIC_URL": f"http://127.0.0.1:{push_port}",
    }.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield str(port)
    finally:  # main() installs discord.py's logging on the root logger
        root.handlers[:] = handlers
        root.setLevel(level)


def test_bot_without_a_route_to_discord_says_so_in_one_line_and_exits(
    unreachable_discord: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The self-hoster sees why the bot stopped (no Discord), not an aiohttp traceback."""
    assert main() == 1
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]  # after discord.py's own log lines
    assert last.startswith(f"cannot reach Discord at 127.0.0.1:{unreachable_discord} ("), captured.err
    assert "outbound HTTPS to discord.com" in last
    assert "Traceback" not in captured.err + captured.out
