"""Run our services for tests: an ASGI app on a real loopback port from a background thread (our services and
the fakes), or a service's ``python -m`` entry point as its own process (``run_main``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp


class ThreadedServer:
    """uvicorn in a daemon thread on 127.0.0.1, with a bounded startup wait and a clean stop."""

    def __init__(
        self, app: ASGIApp, *, name: str = "asgi", startup_timeout: float = 30.0, port: int = 0
    ) -> None:
        self.app = app
        self.name = name
        self.startup_timeout = startup_timeout
        self.requested_port = port  # 0: any free port; fixed: a restart comes back on the same address
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"{self.name} server is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} server is already running")
        # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY; without it keep-alive requests stall ~40 ms.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.requested_port))
        sock.listen()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, lifespan="on", loop="asyncio", http="h11", ws="none", log_config=None,
            timeout_graceful_shutdown=2,
        )  # fmt: skip
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=self._serve, args=(server, sock), name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not self._thread.is_alive():
                self._thread = None
                raise RuntimeError(f"{self.name} server failed to start") from self._error
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self.name} server did not start within {self.startup_timeout} s")
            time.sleep(0.005)
        return self

    def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # uvicorn reports a failed startup as SystemExit
            self._error = exc
        finally:
            sock.close()

    def stop(self) -> None:
        thread, server = self._thread, self._server
        if thread is None or server is None:
            return
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        self._thread = None
        self._server = None
        self.port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_main(module: str, env: dict[str, str], cwd: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m module`` with exactly ``env``, from ``cwd`` (a directory without a .env); the finished
    process with its text output."""
    return subprocess.run(
        [sys.executable, "-m", module],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
