"""Error answers as a client sees them: one shape, no echoed input, one 500 that leaves the connection usable,
and error responses declared in the OpenAPI document."""

from __future__ import annotations

import http.client
import json

import httpx

from gateway.app import create_app
from gateway.config import Settings
from tests.gateway.conftest import service_auth
from tests.gateway.logcapture import json_log_lines
from tests.servers import ThreadedServer


def test_unexpected_error_is_one_500_and_the_connection_stays_usable(settings: Settings) -> None:
    """A failing route answers 500 JSON quoting the request id, logs one traceback with that id, and the
    next request on the same keep-alive connection is answered."""
    app = create_app(settings)

    async def broken() -> None:
        raise RuntimeError("the failure under test")

    app.add_api_route("/api/test-only/broken", broken)
    with json_log_lines() as lines, ThreadedServer(app, name="gateway-500") as server:
        assert server.port is not None
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", "/api/test-only/broken", headers={"X-Request-ID": "req-broken-1"})
            failed = connection.getresponse()
            body = json.loads(failed.read())
            socket_used = connection.sock
            connection.request("GET", "/health")
            after = connection.getresponse()
            after.read()
            assert connection.sock is socket_used and socket_used is not None  # same connection, not reopened
        finally:
            connection.close()
    assert failed.status == 500
    assert failed.getheader("connection") != "close"
    assert body == {"error": "InternalError", "detail": "unexpected server error (request id req-broken-1)"}
    assert after.status == 200
    tracebacks = [line for line in lines if "exc" in line]
    assert len(tracebacks) == 1, tracebacks
    assert tracebacks[0]["request_id"] == "req-broken-1"
    assert tracebacks[0]["level"] == "ERROR"
    assert "RuntimeError: the failure under test" in str(tracebacks[0]["exc"])


async def test_validation_error_names_the_problem_without_echoing_input(client: httpx.AsyncClient) -> None:
    """A 4,001-character message gets ``{"error", "detail", "errors"}`` back, short and without the text."""
    message = "x" * 4001
    response = await client.post(
        "/api/chat/123456789/messages", json={"message": message, "username": "sam"}, headers=service_auth()
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ValidationError"
    assert body["detail"] == "body.message: String should have at most 4000 characters"
    assert body["errors"] == [
        {
            "loc": ["body", "message"],
            "msg": "String should have at most 4000 characters",
            "type": "string_too_long",
        }
    ]
    assert len(response.content) < 400
    assert "xxxxxxxxxx" not in response.text


async def test_validation_error_counts_every_problem(client: httpx.AsyncClient) -> None:
    """Several problems: the detail names the first and how many more; each is listed."""
    response = await client.post("/api/chat/123456789/messages", json={}, headers=service_auth())
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "body.message: Field required (and 1 more)"
    assert [problem["loc"] for problem in body["errors"]] == [["body", "message"], ["body", "username"]]


async def test_validation_error_clips_a_huge_key_and_stays_ascii(client: httpx.AsyncClient) -> None:
    """An unknown key of 5,000 characters with a lone surrogate comes back clipped, as ASCII JSON."""
    raw = '{"message": "hi", "username": "sam", "%s\\ud800": 1}' % ("k" * 5000)
    response = await client.post(
        "/api/chat/123456789/messages",
        content=raw,
        headers={**service_auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.content.isascii()
    assert len(response.content) < 600
    for problem in response.json()["errors"]:
        assert all(len(str(part)) <= 40 for part in problem["loc"]), problem


async def test_openapi_declares_the_errors_each_route_can_answer(client: httpx.AsyncClient) -> None:
    """Routes list 401/404/409/422/429 where they can happen (and only there), each with the shared error
    model."""
    document = (await client.get("/api/openapi.json")).json()
    paths = document["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert {"401", "404", "413", "422", "429"} <= statuses("/api/chat/{user_id}/messages", "post")
    assert {"401", "404", "409", "422"} <= statuses("/api/personality/{user_id}/initialize", "post")
    assert "401" in statuses("/api/admin/jobs", "get")
    assert "409" in statuses("/api/admin/jobs/{name}/run", "post")
    # Every gateway runs the job runner and the proactive manager: neither route can answer 503.
    assert "503" not in statuses("/api/admin/jobs", "get") | statuses("/api/admin/jobs/{name}/run", "post")
    assert "503" not in statuses("/api/proactive/{user_id}/status", "get")
    assert "429" not in statuses("/api/admin/stats", "get")  # the admin key is not rate limited
    assert "404" not in statuses("/api/admin/stats", "get")
    for path, operations in paths.items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]["$ref"]
                    expected = "ValidationErrorResponse" if status == "422" else "ErrorResponse"
                    assert schema.endswith("/" + expected), (method, path, status)
            if path.startswith("/api/"):
                assert "401" in operation["responses"], (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_a_validators_message_reads_without_pydantics_prefix(client: httpx.AsyncClient) -> None:
    """A bad time zone is refused with the validator's own sentence, not "Value error, ..."."""
    response = await client.post(
        "/api/personality/123456780/initialize", json={"timezone": "Mars/Olympus"}, headers=service_auth()
    )
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == (
        "body.timezone: unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Berlin"
    )
    assert body["errors"][0]["msg"].startswith("unknown time zone")
