"""A local fake of the part of Letta 0.6.8's REST API that deleting a user walks: health, listing agents by
name and deleting one. For tests that need Letta as a store that can be slow, fail or hang, without the real
server (``tests/letta/`` runs the real one). A real HTTP server (Starlette on uvicorn, in a background
thread) on 127.0.0.1, scripted from the test thread::

    with FakeLettaServer() as letta:
        agent_id = letta.add_agent("companion_42")
        letta.fail_listing("companion_42")  # GET /v1/agents/?name=companion_42 answers 500
        letta.hold_listing("companion_43")  # ... does not answer until released
        ...  # LettaSettings(server_url=letta.base_url)
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from types import TracebackType
from typing import Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.servers import ThreadedServer


class FakeLettaServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._agents: dict[str, str] = {}  # id -> name
        self._failing: set[str] = set()
        self._held: set[str] = set()
        self._stopping = threading.Event()
        self.listed: list[str] = []  # every name GET /v1/agents/ was asked for, in order
        app = Starlette(
            routes=[
                Route("/v1/health/", self._health, methods=["GET"]),
                Route("/v1/agents/", self._list, methods=["GET"]),
                Route("/v1/agents/{agent_id}", self._delete, methods=["DELETE"]),
            ]
        )
        self._http = ThreadedServer(app, name="fake-letta")

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def __enter__(self) -> Self:
        self._http.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        self._http.stop()

    # Scripting (from the test thread)

    def add_agent(self, name: str) -> str:
        with self._lock:
            agent_id = f"agent-{next(self._ids):08d}"
            self._agents[agent_id] = name
        return agent_id

    def agents_named(self, name: str) -> list[str]:
        with self._lock:
            return [agent_id for agent_id, known in self._agents.items() if known == name]

    def fail_listing(self, name: str, failing: bool = True) -> None:
        """Listing the agents named ``name`` answers 500 (as Letta does when its database is gone)."""
        with self._lock:
            (self._failing.add if failing else self._failing.discard)(name)

    def hold_listing(self, name: str, held: bool = True) -> None:
        """Listing the agents named ``name`` does not answer until released (a Letta that hangs)."""
        with self._lock:
            (self._held.add if held else self._held.discard)(name)

    # Handlers (on the server thread)

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"version": "0.6.8", "status": "ok"})

    async def _list(self, request: Request) -> Response:
        name = request.query_params.get("name", "")
        with self._lock:
            self.listed.append(name)
        while not self._stopping.is_set():
            with self._lock:
                if name not in self._held:
                    break
            await asyncio.sleep(0.01)
        with self._lock:
            if name in self._failing:
                return JSONResponse({"detail": "internal server error"}, status_code=500)
            found = [agent_id for agent_id, known in self._agents.items() if not name or known == name]
            return JSONResponse(
                [
                    {"id": agent_id, "name": self._agents[agent_id], "memory": {"blocks": []}}
                    for agent_id in found
                ]
            )

    async def _delete(self, request: Request) -> Response:
        agent_id = request.path_params["agent_id"]
        with self._lock:
            if self._agents.pop(agent_id, None) is None:
                return JSONResponse({"detail": f"Agent id={agent_id} not found"}, status_code=404)
        return JSONResponse({})
