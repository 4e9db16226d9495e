"""Letta 0.6.8 as a local process: installed once into its own virtualenv, started on a loopback port.

Letta pins hundreds of packages that clash with ours, so it never enters the project's venv: it lives in
``$COMPANION_HOME/letta-venv`` (default ``./.companion/letta-venv``), installed with our committed pins
(``scripts/letta/constraints-0.6.8.txt``). A marker file records what was installed; while it matches, a
rerun skips pip entirely. The server runs on SQLite in its own data directory (temporary unless given),
with the offline settings of docs/letta.md#running-letta-locally-no-docker: tiktoken's ``cl100k_base`` from
the copy inside llama-index-core's wheel and composio's version check off, so it starts without any network.

Used by the test suite (``tests/letta/fixtures.py``) and by ``python -m scripts letta``::

    install = LettaInstall.default()
    install.ensure()                       # a no-op once installed
    with LettaServer(install) as server:   # waits for /v1/health/
        print(server.base_url)
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from scripts.localstack import StackError, free_port, private_log_file

LETTA_VERSION = "0.6.8"
CONSTRAINTS_FILE = Path(__file__).resolve().parent / "letta" / f"constraints-{LETTA_VERSION}.txt"
MARKER_NAME = ".companion-letta-installed"
HEALTH_PATH = "/v1/health/"
# Letta sends this to the chat LLM and the embedding endpoint as the bearer token (server-wide: an agent's
# llm_config has no key). Local OpenAI-compatible servers and our embedding service ignore it.
DEFAULT_OPENAI_API_KEY = "letta-local-no-key"


class LettaServerError(StackError):
    """Letta could not be installed, started or stopped."""


def companion_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("COMPANION_HOME") or ".companion").resolve()


def _log_tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


@dataclass
class LettaInstall:
    """Letta in its own venv at ``venv``, (re)installed only when the marker says something changed."""

    venv: Path
    constraints: Path = CONSTRAINTS_FILE
    python: str = sys.executable
    pip_timeout: float = 1800.0

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> LettaInstall:
        return cls(companion_home(env) / "letta-venv")

    @property
    def bin_python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def marker(self) -> Path:
        return self.venv / MARKER_NAME

    @property
    def log_file(self) -> Path:
        return self.venv.parent / "logs" / "letta-install.log"

    def fingerprint(self) -> str:
        """What an install depends on: Letta's version, the pins, and the interpreter it was built from."""
        digest = hashlib.sha256()
        digest.update(f"letta=={LETTA_VERSION}\n".encode())
        digest.update(self.constraints.read_bytes())
        base = Path(self.python).resolve()
        digest.update(f"{base}\n{sys.version_info[:3]}\n".encode())
        return digest.hexdigest()

    def installed(self) -> bool:
        try:
            recorded = self.marker.read_text().strip()
        except FileNotFoundError:
            return False
        return recorded == self.fingerprint() and self.bin_python.exists()

    def ensure(self) -> float:
        """Install Letta unless the marker matches; returns the seconds spent (about 0 when cached).

        A file lock serialises concurrent callers (two test runs, xdist workers); an interrupted install
        leaves no marker and is redone from scratch next time.
        """
        started = time.perf_counter()
        if self.installed():
            return time.perf_counter() - started
        self.venv.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.venv.parent / f"{self.venv.name}.lock"
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not self.installed():
                    self._install()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return time.perf_counter() - started

    def _install(self) -> None:
        if self.venv.exists():
            shutil.rmtree(self.venv)
        private_log_file(self.log_file)
        steps = [
            [self.python, "-m", "venv", str(self.venv)],
            [
                str(self.bin_python), "-m", "pip", "install", "--disable-pip-version-check",
                "--no-input", "--progress-bar", "off",
                "-c", str(self.constraints), f"letta=={LETTA_VERSION}",
            ],
        ]  # fmt: skip
        with self.log_file.open("a") as log:
            for command in steps:
                log.write(f"$ {' '.join(command)}\n")
                log.flush()
                try:
                    result = subprocess.run(
                        command,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        timeout=self.pip_timeout,
                        check=False,
                        env=_install_environment(),
                    )
                except subprocess.TimeoutExpired as exc:
                    raise LettaServerError(
                        f"installing Letta timed out after {self.pip_timeout:.0f} s; see {self.log_file}"
                    ) from exc
                if result.returncode != 0:
                    raise LettaServerError(
                        f"installing Letta failed ({command[2]} {command[3]} exited {result.returncode}); "
                        f"{self.log_file} ends with:\n{_log_tail(self.log_file)}"
                    )
        if self.tiktoken_cache() is None:
            raise LettaServerError("Letta installed but llama-index-core's tiktoken cache is missing")
        self.marker.write_text(self.fingerprint() + "\n")

    def tiktoken_cache(self) -> Path | None:
        """The ``cl100k_base`` cache shipped in llama-index-core's wheel (tiktoken would download it)."""
        for candidate in sorted(
            self.venv.glob("lib/python*/site-packages/llama_index/core/_static/tiktoken_cache")
        ):
            if candidate.is_dir() and any(candidate.iterdir()):
                return candidate
        return None


def _install_environment() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"):
        env.pop(name, None)
    return env


@dataclass
class LettaServer:
    """``letta server`` on 127.0.0.1 as a child process (its own session), on SQLite.

    ``data_dir`` holds Letta's HOME (``.letta/sqlite.db``, its config); unset, a temporary directory that
    ``stop()`` removes. The process gets a clean environment: Letta reads provider keys and a ``.env`` from
    its working directory, and neither may come from ours.
    """

    install: LettaInstall
    port: int = 0
    data_dir: Path | None = None
    openai_api_key: str = DEFAULT_OPENAI_API_KEY
    startup_timeout: float = 120.0
    extra_env: Mapping[str, str] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _home: Path | None = field(default=None, init=False, repr=False)
    _temporary_home: bool = field(default=False, init=False, repr=False)

    @property
    def base_url(self) -> str:
        if not self.port:
            raise LettaServerError("the Letta server has no port yet: start() it first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def log_file(self) -> Path:
        if self._home is None:
            raise LettaServerError("the Letta server has not been started")
        return self._home / "letta-server.log"

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def environment(self, home: Path) -> dict[str, str]:
        cache = self.install.tiktoken_cache()
        if cache is None:
            raise LettaServerError(f"Letta is not installed in {self.install.venv}: run install.ensure()")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LETTA_DIR": str(home / ".letta"),
            "TIKTOKEN_CACHE_DIR": str(cache),
            "COMPOSIO_DISABLE_VERSION_CHECK": "true",
            "OPENAI_API_KEY": self.openai_api_key,
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update(self.extra_env)
        return env

    def start(self) -> Self:
        if self.running():
            return self
        if not self.install.installed():
            raise LettaServerError(f"Letta is not installed in {self.install.venv}: run install.ensure()")
        if self.data_dir is not None:
            self._home, self._temporary_home = self.data_dir, False
            self._home.mkdir(parents=True, exist_ok=True)
        elif self._home is None:
            self._home, self._temporary_home = Path(tempfile.mkdtemp(prefix="letta-home-")), True
        home = self._home
        assert home is not None
        if not self.port:
            self.port = free_port()
        command = [str(self.install.bin_python), "-m", "letta", "server",
                   "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        with private_log_file(self.log_file).open("ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=home,
                env=self.environment(home),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = self.base_url + HEALTH_PATH
        with httpx.Client(timeout=2.0) as client:
            while True:
                process = self._process
                if process is None or process.poll() is not None:
                    code = None if process is None else process.returncode
                    raise LettaServerError(
                        f"Letta exited with {code} while starting; {self.log_file} ends with:\n"
                        + _log_tail(self.log_file)
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(url).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise LettaServerError(
                        f"Letta did not answer {HEALTH_PATH} within {self.startup_timeout:.0f} s; "
                        f"{self.log_file} ends with:\n{_log_tail(self.log_file)}"
                    )
                time.sleep(0.1)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the server's process group, SIGKILL after ``timeout``; removes a temporary home."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if self._temporary_home and self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home, self._temporary_home = None, False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def running_letta(
    env: Mapping[str, str] | None = None, *, port: int = 0, data_dir: Path | None = None
) -> Iterator[LettaServer]:
    """Install (when needed) and run Letta for the duration of the block, with the chat LLM's key from
    ``env`` (``LLM_API_KEY`` with ``LLM_BASE_URL``, else ``CHUTES_API_KEY``)."""
    env = os.environ if env is None else env
    install = LettaInstall.default(env)
    install.ensure()
    with LettaServer(install, port=port, data_dir=data_dir, openai_api_key=chat_llm_key(env)) as server:
        yield server


def chat_llm_key(env: Mapping[str, str]) -> str:
    """The key Letta must send to the chat LLM: the one the gateway itself uses (see ChatLLMSettings)."""
    key = env.get("LLM_API_KEY", "") if env.get("LLM_BASE_URL") else env.get("CHUTES_API_KEY", "")
    return key.strip() or DEFAULT_OPENAI_API_KEY
