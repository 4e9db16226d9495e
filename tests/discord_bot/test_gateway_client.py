"""The gateway client's error mapping, against a mock transport (no network)."""

from __future__ import annotations

import httpx
import pytest

from discord_bot import text
from discord_bot.gateway_client import (
    GatewayClient,
    GatewayError,
    GatewayNotFound,
    GatewayRateLimited,
    GatewayRejected,
    GatewayUnavailable,
    UserBanned,
    UserNotStarted,
    user_message,
)


def client_answering(status: int, body: object, headers: dict[str, str] | None = None) -> GatewayClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return GatewayClient("http://gateway", "token", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (429, {"error": "TooManyRequests", "detail": "slow"}, {"Retry-After": "7"}, GatewayRateLimited),
        (404, {"error": "UserNotFoundError", "detail": "no"}, None, UserNotStarted),
        (404, {"error": "MemoryNotFoundError", "detail": "no memory"}, None, GatewayNotFound),
        (404, {"error": "NotFound", "detail": "Not Found"}, None, GatewayNotFound),
        (403, {"error": "UserBannedError", "detail": "banned"}, None, UserBanned),
        (503, {"error": "ServiceUnavailableError", "detail": "down"}, None, GatewayUnavailable),
        (422, {"detail": [{"msg": "too long"}]}, None, GatewayRejected),
    ],
)
async def test_statuses_become_typed_errors(
    status: int, body: object, headers: dict[str, str] | None, expected: type[GatewayError]
) -> None:
    """Each gateway answer maps to one exception class."""
    client = client_answering(status, body, headers)
    with pytest.raises(expected) as caught:
        await client.chat(1, "hi", username="a", channel_id=None, is_dm=True)
    await client.aclose()
    if isinstance(caught.value, GatewayRateLimited):
        assert caught.value.retry_after == 7.0


async def test_unreachable_gateway_is_unavailable() -> None:
    """A connection error is GatewayUnavailable, with the in-character line."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    client = GatewayClient("http://gateway", "token", transport=httpx.MockTransport(handler))
    with pytest.raises(GatewayUnavailable) as caught:
        await client.session(1)
    await client.aclose()
    assert user_message(caught.value) == text.GATEWAY_DOWN


def test_user_messages_for_each_error() -> None:
    """The user sees a friendly line for every kind of failure."""
    assert user_message(UserNotStarted("x", status=404)) == text.NOT_STARTED
    assert (
        user_message(GatewayNotFound("x", status=404, error="MemoryNotFoundError")) == text.MEMORY_NOT_FOUND
    )
    assert user_message(UserBanned("x", status=403)) == text.BANNED
    assert "3 seconds" in user_message(GatewayRateLimited("x", 3))
    assert user_message(GatewayRejected("bad zone", status=422)) == text.NOT_ACCEPTED
    # Any other not-found: the bot's own line, not the gateway's detail (ids, rules).
    unknown = GatewayNotFound("incident 7 not found", status=404, error="IncidentNotFoundError")
    assert user_message(unknown) == text.NOT_FOUND
    assert user_message(GatewayRejected("user 42 already did", status=409)) == text.ALREADY_DONE
    settled = GatewayRejected("user 42 ...", status=409, error="PersonalityAlreadyInitializedError")
    assert user_message(settled) == text.PERSONALITY_SETTLED


def test_the_gateways_wording_never_reaches_the_user() -> None:
    """Error details name ids and API rules: the user sees the bot's own words instead."""
    for status in (400, 409, 413, 422):
        detail = (
            "user 1456074443980800011 already has a personality; traits never change after initialisation"
        )
        shown = user_message(GatewayRejected(detail, status=status))
        assert "1456074443980800011" not in shown and "initialisation" not in shown


async def test_admin_calls_need_the_admin_key() -> None:
    """Without ADMIN_API_KEY the admin calls fail before any request."""
    client = client_answering(200, {})
    with pytest.raises(GatewayRejected, match="ADMIN_API_KEY"):
        await client.admin_stats()
    await client.aclose()


async def test_bodies_are_sent_unescaped() -> None:
    """Emoji travel as UTF-8, not as \\u escapes (keeps 4,000 emoji under the body limit)."""
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, json={"response": "ok"})

    client = GatewayClient("http://gateway", "token", transport=httpx.MockTransport(handler))
    await client.chat(1, "😀" * 10, username="a", channel_id=None, is_dm=True)
    await client.aclose()
    assert "😀".encode() in seen[0]
