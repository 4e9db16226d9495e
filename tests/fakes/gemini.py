"""A local fake of the Gemini Developer API's embeddings endpoint, speaking its real wire protocol.

``POST /{v1,v1beta}/models/{model}:batchEmbedContents`` with header ``x-goog-api-key`` and body
``{"requests": [{"model": "models/...", "content": {"parts": [{"text": ...}]}, "taskType": ...,
"outputDimensionality": n}]}`` answers ``{"embeddings": [{"values": [...]}]}``; errors use Google's
``{"error": {"code", "message", "status"}}`` body. Vectors are deterministic (seeded by the sha256 of the
text) and deliberately not unit length, like Google's truncated outputs.

It is a real HTTP server (Starlette on uvicorn in a background thread, bound to 127.0.0.1 on a free port);
tests script it from their own thread::

    with start_fake_gemini(api_key="k") as fake:
        fake.fail_next(1, status=429)
        ...  # GEMINI_BASE_URL=fake.base_url
        assert [call.status for call in fake.calls] == [429, 200]

Or use the ``gemini_fake`` fixture: one server for the session, reset before each test.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import ThreadedServer

API_VERSIONS = ("v1", "v1beta")  # the real API serves batchEmbedContents on both
MAX_REQUESTS_PER_BATCH = 100
DEFAULT_DIMENSIONS = 3072
DEFAULT_API_KEY = "fake-gemini-key"
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def fake_vector(text: str, dimensions: int) -> list[float]:
    """The fake's vector for ``text``: the same text always gets the same, non-normalised values."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    values: list[float] = (np.random.default_rng(seed).standard_normal(dimensions) * 3.0).tolist()
    return values


@dataclass(frozen=True)
class RecordedCall:
    """One HTTP call the fake received, and the status it answered."""

    version: str  # "v1" or "v1beta"
    model: str  # from the path, e.g. "gemini-embedding-001"
    api_key: str | None
    body: dict[str, Any]
    status: int

    @property
    def requests(self) -> list[dict[str, Any]]:
        return list(self.body.get("requests", []))

    @property
    def texts(self) -> list[str]:
        return [r["content"]["parts"][0]["text"] for r in self.requests]

    @property
    def task_types(self) -> set[str]:
        return {r.get("taskType", "") for r in self.requests}

    @property
    def dimensions(self) -> set[int]:
        return {int(r.get("outputDimensionality") or DEFAULT_DIMENSIONS) for r in self.requests}


class FakeGemini:
    """The fake's state: the key it accepts, scripted failures, and every call it received."""

    def __init__(self, api_key: str = DEFAULT_API_KEY) -> None:
        self.api_key = api_key
        self.base_url = ""
        self._lock = threading.Lock()
        self._calls: list[RecordedCall] = []
        self._failures: list[int] = []
        self.app = Starlette(routes=[Route("/{version}/models/{method}", self._handle, methods=["POST"])])

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` calls with ``status`` (429, 500, 503...), then behave again."""
        with self._lock:
            self._failures.extend([status] * count)

    def reset(self, api_key: str = DEFAULT_API_KEY) -> None:
        with self._lock:
            self.api_key = api_key
            self._calls.clear()
            self._failures.clear()

    async def _handle(self, request: Request) -> JSONResponse:
        version = request.path_params["version"]
        model, _, method = request.path_params["method"].partition(":")
        api_key = request.headers.get("x-goog-api-key")
        body = await request.json()
        status, answer = self._answer(version, model, method, api_key, body)
        with self._lock:
            self._calls.append(RecordedCall(version, model, api_key, body, status))
        return JSONResponse(answer, status_code=status)

    def _answer(
        self, version: str, model: str, method: str, api_key: str | None, body: Any
    ) -> tuple[int, dict[str, Any]]:
        if version not in API_VERSIONS or method != "batchEmbedContents":
            return _error(404, f"unknown method {version}/models/{model}:{method}")
        if api_key != self.api_key:
            return _error(400, "API key not valid. Please pass a valid API key.")
        with self._lock:
            injected = self._failures.pop(0) if self._failures else None
        if injected is not None:
            return _error(injected, "injected failure")
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return _error(400, "requests must be a non-empty list")
        if len(requests) > MAX_REQUESTS_PER_BATCH:
            return _error(400, f"at most {MAX_REQUESTS_PER_BATCH} requests can be in one batch")
        embeddings = []
        for item in requests:
            if item.get("model") != f"models/{model}":
                return _error(400, f"request model {item.get('model')!r} does not match models/{model}")
            text = item["content"]["parts"][0]["text"]
            dimensions = int(item.get("outputDimensionality") or DEFAULT_DIMENSIONS)
            embeddings.append({"values": fake_vector(text, dimensions)})
        return 200, {"embeddings": embeddings}


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {
        "error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}
    }


@contextmanager
def start_fake_gemini(api_key: str = DEFAULT_API_KEY) -> Iterator[FakeGemini]:
    """Run the fake on a free loopback port for the duration of the ``with`` block."""
    fake = FakeGemini(api_key)
    with ThreadedServer(fake.app, name="fake-gemini") as server:
        fake.base_url = server.base_url
        yield fake


@pytest.fixture(scope="session")
def gemini_fake_server() -> Iterator[FakeGemini]:
    """One fake Gemini API for the whole session; use ``gemini_fake``, which resets it per test."""
    with start_fake_gemini() as fake:
        yield fake


@pytest.fixture
def gemini_fake(gemini_fake_server: FakeGemini) -> Iterator[FakeGemini]:
    """The session's fake Gemini API with no recorded calls or scripted failures at the start of the test."""
    gemini_fake_server.reset()
    try:
        yield gemini_fake_server
    finally:
        gemini_fake_server.reset()
