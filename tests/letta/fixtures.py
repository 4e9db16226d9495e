"""A real Letta 0.6.8 server for the test session, installed by ``scripts/letta_server.py`` on first use.

The venv is cached in ``<repo>/.companion/letta-venv`` (reused while the pins are unchanged, so only the
first run pays for pip). The install runs when collection finishes — outside any test's timeout — and only
when a collected test uses ``letta_server`` or ``letta_server_url``. The server itself starts once per
session on a free port, with a temporary HOME and SQLite; agents point it at whatever LLM and embedding
endpoints their ``llm_config``/``embedding_config`` name (in tests: the fake OpenAI server and the real
embedding service). Letta sends ``LETTA_TEST_LLM_KEY`` as the bearer token to both.

Fixtures (imported into ``tests/conftest.py``, so every test directory can use them):

- ``letta_server``: the running ``scripts.letta_server.LettaServer`` (session).
- ``letta_server_url``: its base URL, for ``LettaSettings(server_url=...)`` (session).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.letta_server import LettaInstall, LettaServer, LettaServerError

REPO_ROOT = Path(__file__).resolve().parents[2]
LETTA_VENV = REPO_ROOT / ".companion" / "letta-venv"
LETTA_TEST_LLM_KEY = "letta-test-llm-key"
LETTA_FIXTURES = frozenset({"letta_server", "letta_server_url"})

_install_state: dict[str, object] = {}
timings: dict[str, float] = {}  # how long the session's install check and server start took


def letta_install() -> LettaInstall:
    return LettaInstall(LETTA_VENV)


def install_letta_once() -> LettaInstall:
    """Install (or find) Letta; an install failure is kept and re-raised by every fixture that needs it."""
    if "error" in _install_state:
        raise LettaServerError(str(_install_state["error"]))
    install = letta_install()
    if "seconds" not in _install_state:
        try:
            _install_state["cold"] = not install.installed()
            _install_state["seconds"] = timings["install_seconds"] = install.ensure()
        except LettaServerError as exc:
            _install_state["error"] = exc
            raise
    return install


def pytest_collection_finish(session: pytest.Session) -> None:
    if not any(LETTA_FIXTURES.intersection(getattr(item, "fixturenames", ())) for item in session.items):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and not letta_install().installed():
        reporter.write_line(f"installing Letta 0.6.8 into {LETTA_VENV} (once; later runs reuse it) ...")
    try:
        install_letta_once()
    except LettaServerError:
        return  # reported by the fixtures, test by test
    if reporter is not None and _install_state.get("cold"):
        reporter.write_line(f"Letta installed in {float(_install_state['seconds']):.1f}s")  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def letta_server() -> Iterator[LettaServer]:
    install = install_letta_once()
    started = time.perf_counter()
    server = LettaServer(install, openai_api_key=LETTA_TEST_LLM_KEY).start()
    timings["session_start_seconds"] = time.perf_counter() - started
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def letta_server_url(letta_server: LettaServer) -> str:
    return letta_server.base_url
