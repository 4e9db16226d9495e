"""Headers that name one thing are read once: repeated, they are refused before any middleware reads them."""

from __future__ import annotations

import httpx

from tests.gateway.conftest import admin_auth, service_auth


async def test_repeated_content_length_is_refused(client: httpx.AsyncClient) -> None:
    """Two Content-Length headers (the body-size guard read the last, the server the first) get a 400."""
    body = b'{"push_url": "http://127.0.0.1:9"}'
    headers = [
        *service_auth().items(),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Content-Length", "1"),
    ]
    response = await client.post("/api/bot/register", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "DuplicateHeader"
    assert "Content-Length" in response.json()["detail"]


async def test_repeated_admin_authorization_is_refused(client: httpx.AsyncClient) -> None:
    """Admin routes (outside the rate limiter) refuse two Authorization headers as well, even both valid."""
    headers = [*admin_auth().items(), *admin_auth().items()]
    response = await client.get("/api/admin/bot", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "DuplicateHeader"


async def test_repeated_request_id_is_replaced_by_a_fresh_one(client: httpx.AsyncClient) -> None:
    """Two X-Request-ID headers: neither is trusted; the response carries one fresh id."""
    headers = [("X-Request-ID", "first-id"), ("X-Request-ID", "second-id")]
    response = await client.get("/health", headers=headers)
    echoed = response.headers.get_list("x-request-id")
    assert len(echoed) == 1
    assert echoed[0] not in {"first-id", "second-id"}
