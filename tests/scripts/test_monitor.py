"""`python -m scripts monitor` against the real gateway and embedding service on loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from gateway.bot.service import REGISTRATION_KEY
from scripts.localstack import free_port
from scripts.monitor import run_monitor
from tests.gateway.conftest import SERVICE_TOKEN

REPO = Path(__file__).resolve().parents[2]


def monitor(env: dict[str, str], **kwargs: object) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = run_monitor(env, emit=lines.append, **kwargs)  # type: ignore[arg-type]
    return code, lines


def test_everything_up_exits_zero(ops_env: dict[str, str]) -> None:
    """Every dependency the gateway reports, and the embedding service, are listed as up; exit 0."""
    code, [report] = monitor(ops_env)
    assert code == 0, report
    assert "all services up" in report.splitlines()[0]
    for name in ("gateway ", "gateway → postgres", "gateway → redis", "gateway → embedding_service"):
        assert f"ok   {name}" in report, report
    assert "embedding_service" in report and "384" in report  # provider, model and dimensions shown


def test_down_service_is_named_and_exit_is_one(ops_env: dict[str, str]) -> None:
    """An embedding service that does not answer makes the run fail and is named in the JSON report."""
    env = {**ops_env, "EMBEDDING_SERVICE_URL": f"http://127.0.0.1:{free_port()}"}
    code, [line] = monitor(env, as_json=True)
    report = json.loads(line)
    assert code == 1
    assert report["status"] == "down" and report["down"] == ["embedding_service"]
    probe = next(c for c in report["checks"] if c["name"] == "embedding_service")
    assert probe["detail"].startswith("unreachable")


def test_gateway_down_is_reported(ops_env: dict[str, str]) -> None:
    """No gateway at GATEWAY_URL: one `gateway` failure, not a traceback."""
    env = {**ops_env, "GATEWAY_URL": f"http://127.0.0.1:{free_port()}"}
    code, [line] = monitor(env, as_json=True)
    assert code == 1
    assert "gateway" in json.loads(line)["down"]


@pytest.fixture
def no_bot(ops_redis_url: str) -> Iterator[None]:
    """No bot registration in this module's Redis DB, before and after the test."""
    client = redis.Redis.from_url(ops_redis_url)
    client.delete(REGISTRATION_KEY)
    try:
        yield
    finally:
        client.delete(REGISTRATION_KEY)
        client.close()


def test_bot_expected_but_not_registered_fails(
    ops_env: dict[str, str], gateway_url: str, no_bot: None
) -> None:
    """With DISCORD_TOKEN set a bot is expected: no registration is a failure; without it, only a note.
    A registered bot is shown with its push URL."""
    code, [line] = monitor(ops_env, as_json=True)
    bot = next(c for c in json.loads(line)["checks"] if c["name"] == "discord_bot")
    assert code == 0 and bot["required"] is False and "none is expected" in bot["detail"]

    code, [line] = monitor({**ops_env, "DISCORD_TOKEN": "x"}, as_json=True)
    assert code == 1 and json.loads(line)["down"] == ["discord_bot"]

    response = httpx.post(
        gateway_url + "/api/bot/register",
        json={"push_url": "http://127.0.0.1:9"},
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    code, [line] = monitor({**ops_env, "DISCORD_TOKEN": "x"}, as_json=True)
    bot = next(c for c in json.loads(line)["checks"] if c["name"] == "discord_bot")
    assert "http://127.0.0.1:9" in bot["detail"]


def test_watch_repeats(ops_env: dict[str, str]) -> None:
    """--watch prints one report per round."""
    code, lines = monitor(ops_env, watch=0.05, rounds=3, as_json=True)
    assert code == 0 and len(lines) == 3
    assert all(json.loads(line)["status"] == "ok" for line in lines)


def test_cli_exit_code_for_cron(ops_env: dict[str, str], tmp_path: Path) -> None:
    """`python -m scripts monitor --json` prints one JSON object and exits 1 when something is down."""
    env = {**ops_env, "EMBEDDING_SERVICE_URL": f"http://127.0.0.1:{free_port()}"}
    result = subprocess.run(
        [sys.executable, "-m", "scripts", "monitor", "--json"],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(REPO), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["down"] == ["embedding_service"]
