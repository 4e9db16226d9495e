"""The embedded local stack as `make run` uses it: real processes on free loopback ports."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from scripts.chat import GatewayChat
from scripts.localstack import (
    EmbeddedPostgres,
    EmbeddedRedis,
    LocalStack,
    ServiceProcess,
    StackConfig,
    StackError,
    free_port,
    isolated_env,
)
from tests.conftest import scratch_dir

pytestmark = pytest.mark.slow


def stack_env(home: Path) -> dict[str, str]:
    return isolated_env(home, os.environ)


def assert_all_gone(pids: list[int]) -> None:
    alive = [
        pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert alive == [], f"processes left behind: {alive}"


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    with scratch_dir() as path:
        yield path / ".companion"


@pytest.fixture(scope="module")
def env(home: Path) -> dict[str, str]:
    return stack_env(home)


@pytest.fixture
def stack(env: dict[str, str]) -> Iterator[LocalStack]:
    local = LocalStack(StackConfig.from_env(env))
    try:
        yield local
    finally:
        local.down()


def all_pids(stack: LocalStack) -> list[int]:
    pids = [pid for pid in stack.status().values() if pid]
    for pid in list(pids):
        pids += [child.pid for child in psutil.Process(pid).children(recursive=True)]
    return pids


def test_stack_comes_up_ready_and_stops_clean(stack: LocalStack) -> None:
    """`up` brings Postgres, Redis, the embedding service and the gateway up; /health/ready is all green."""
    stack.up()
    chat = GatewayChat(stack.gateway.base_url, stack.secrets["GATEWAY_SERVICE_TOKEN"], "424242", "tester")
    try:
        ready = chat.readiness()
        reply = chat.send("hello there")
    finally:
        chat.close()
    assert ready["status"] == "ok", ready
    assert all(dep["ok"] for dep in ready["dependencies"].values())
    assert "offline mode" in reply and "[offline templates; mood " in reply, reply
    pids = all_pids(stack)
    assert len(pids) >= 4
    stack.down()
    assert_all_gone(pids)
    assert all(pid is None for pid in stack.status().values())


def test_up_is_idempotent_and_data_survives_restart(stack: LocalStack) -> None:
    """A second `up` reuses running processes; after down and up again the data is still there."""
    stack.up()
    first = stack.status()
    stack.up()
    assert stack.status() == first
    stack.postgres.psql(
        "INSERT INTO user_profiles (user_id, username) VALUES ('777', 'kept')", database="companion"
    )
    stack.down()
    stack.up()
    assert (
        stack.postgres.psql(
            "SELECT username FROM user_profiles WHERE user_id = '777'", database="companion"
        ).strip()
        == "kept"
    )
    assert stack.secrets == LocalStack(stack.config).secrets  # generated once, reused


def test_crash_leftovers_are_cleaned_up(stack: LocalStack) -> None:
    """After a hard kill, stale pid files do not stop the next start."""
    stack.up()
    postmaster = stack.postgres.running_pid()
    redis_pid = stack.redis.running_pid()
    assert postmaster and redis_pid
    for pid in (postmaster, redis_pid):
        os.kill(pid, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(p) for p in (postmaster,) if psutil.pid_exists(p)], timeout=10)
    time.sleep(0.5)
    stack.redis.pidfile.write_text(str(redis_pid))  # leave the pid file behind as a crash would
    assert (stack.postgres.data_dir / "postmaster.pid").exists()
    stack.up()
    ready = httpx.get(stack.gateway.base_url + "/health/ready", timeout=10).json()
    assert ready["status"] == "ok", ready


def test_taken_port_is_reported(stack_dir: Path) -> None:
    """A port already in use gives a StackError naming the variable to change."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        local = LocalStack(StackConfig.from_env({**stack_env(stack_dir), "STACK_REDIS_PORT": str(port)}))
        try:
            with pytest.raises(StackError, match="STACK_REDIS_PORT"):
                local.up()
        finally:
            local.down()


def test_bad_port_setting_is_refused(tmp_path: Path) -> None:
    """A malformed port variable is named in the error."""
    with pytest.raises(StackError, match="STACK_GATEWAY_PORT must be a port number"):
        StackConfig.from_env({"COMPANION_HOME": str(tmp_path), "STACK_GATEWAY_PORT": "http"})


def test_run_opens_the_chat_and_ctrl_c_leaves_nothing(stack_dir: Path) -> None:
    """`python -m scripts run` starts everything, answers at the prompt, and Ctrl-C stops every process."""
    env = stack_env(stack_dir / ".companion")
    pids: list[int] = []
    with subprocess.Popen(
        [sys.executable, "-m", "scripts", "run", "--user", "31337"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        cwd=Path(__file__).resolve().parents[2],
    ) as proc:  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        try:
            seen: list[str] = []
            while not seen or not seen[-1].startswith("Type a message"):
                line = proc.stdout.readline()
                if not line:
                    break
                seen.append(line)
            assert any(line.startswith("gateway ok:") for line in seen), "".join(seen)
            proc.stdin.write("hello\n")
            proc.stdin.flush()
            answer = proc.stdout.readline()
            assert "companion> " in answer and "offline mode" in answer, answer
            pids = all_pids(LocalStack(StackConfig.from_env(env)))
            assert len(pids) >= 4
            proc.send_signal(signal.SIGINT)
            rest = proc.communicate(timeout=120)[0]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                LocalStack(StackConfig.from_env(env)).down()
    assert proc.returncode == 0, rest
    assert "stopped" in rest
    assert_all_gone(pids)


def test_service_stopped_right_after_spawn_is_gone(stack_dir: Path) -> None:
    """Stopping a service the instant it was spawned (before it even exec'd) still ends it."""
    service = ServiceProcess("gateway", "gateway", free_port(), stack_dir)
    service.start({"PATH": os.environ["PATH"], "DATABASE_URL": "postgresql://u:p@127.0.0.1:1/x"})
    pid = service.running_pid()
    assert pid is not None
    service.stop()
    assert_all_gone([pid])
    assert service.running_pid() is None


def test_recycled_pid_in_a_pid_file_is_not_ours(stack_dir: Path) -> None:
    """A pid file naming a live but unrelated process (a recycled pid) is treated as stale and left alone."""
    service = ServiceProcess("gateway", "gateway", free_port(), stack_dir)
    service.pidfile.parent.mkdir(parents=True)
    service.pidfile.write_text(f"{os.getpid()} 12345.0")
    assert service.running_pid() is None
    service.stop()
    assert psutil.pid_exists(os.getpid())


def _assert_private(log_file: Path) -> None:
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600, oct(log_file.stat().st_mode)
    directory_mode = stat.S_IMODE(log_file.parent.stat().st_mode)
    assert directory_mode & 0o066 == 0, oct(directory_mode)  # nobody else lists or writes the logs


def test_postgres_and_redis_logs_are_private(
    postgres_server: EmbeddedPostgres, redis_server: EmbeddedRedis
) -> None:
    """The Postgres and Redis logs are 0600 in a logs directory no one else can list."""
    _assert_private(postgres_server.log_file)
    _assert_private(redis_server.log_file)


def test_service_log_is_private_even_if_it_was_world_readable(stack_dir: Path) -> None:
    """A service's log is created 0600 (in a 0700 directory), and a 0644 one left by an older run is tightened."""
    service = ServiceProcess("gateway", "gateway", free_port(), stack_dir)
    service.log_file.parent.mkdir(parents=True)
    service.log_file.parent.chmod(0o755)
    service.log_file.write_text("old line\n")
    service.log_file.chmod(0o644)
    service.start({"PATH": os.environ["PATH"], "DATABASE_URL": "postgresql://u:p@127.0.0.1:1/x"})
    service.stop()
    _assert_private(service.log_file)
    assert stat.S_IMODE(service.log_file.parent.stat().st_mode) == 0o700
