"""Error answers of the embedding service over a real socket: validation without the input, 431 for
oversized request heads, one 500 that leaves the connection usable."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from embedding_service.app import create_app
from tests.embedding_service.conftest import make_settings
from tests.gateway.logcapture import raw_request
from tests.servers import ThreadedServer


async def test_validation_error_does_not_echo_the_texts(local_client: httpx.AsyncClient) -> None:
    """A refused batch is answered with {error, detail, errors}, not with the texts it carried."""
    texts = [f"secret text number {i} " * 50 for i in range(3)] + [5]
    response = await local_client.post("/embed", json={"texts": texts})
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error", "detail", "errors"}
    assert body["error"] == "ValidationError"
    assert "secret text" not in response.text


@pytest.fixture(scope="module")
def served(redis_url: str) -> Iterator[int]:
    """The service on a loopback port, with one extra route that fails; yields the port."""
    app = create_app(make_settings(redis_url, provider="local"))

    async def broken() -> None:
        raise RuntimeError("the failure under test")

    app.add_api_route("/test-only/broken", broken)
    with ThreadedServer(app, name="embedding-errors") as server:
        assert server.port is not None
        yield server.port


def test_oversized_request_heads_are_431(served: int) -> None:
    """5,000 headers, or 40 kB of one header, get 431 before any route runs."""
    many = b"".join(b"X-H-%d: a\r\n" % i for i in range(5000))
    big = b"X-Big: " + b"a" * 40_000 + b"\r\n"
    for headers in (many, big):
        answer = raw_request(served, b"GET /health HTTP/1.1\r\nHost: e\r\n" + headers + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_unexpected_error_is_one_500_and_the_connection_stays_usable(
    served: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing route answers one 500 JSON, logs one traceback, and the keep-alive connection still works."""
    caplog.set_level(logging.ERROR)
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=30)
    try:
        connection.request("GET", "/test-only/broken")
        failed = connection.getresponse()
        body = json.loads(failed.read())
        socket_used = connection.sock
        connection.request("GET", "/health")
        after = connection.getresponse()
        after.read()
        assert connection.sock is socket_used and socket_used is not None
    finally:
        connection.close()
    assert (failed.status, body["error"], after.status) == (500, "InternalError", 200)
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert len(tracebacks) == 1, [record.getMessage() for record in tracebacks]
