"""BotPushClient: every delivery problem is a failed Delivery, never an exception."""

from __future__ import annotations

import json

import httpx
import pytest

from gateway.integrations.discord_push import BotPushClient, Delivery


def push_client(handler: object, *, url: str | None = "http://bot:8091", token: str = "t") -> BotPushClient:  # noqa: S107
    async def locate() -> str | None:
        return url

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return BotPushClient(locate, token, allowed_hosts=frozenset({"bot"}), http=http)


async def test_delivered_answer_is_parsed_and_the_request_is_authenticated() -> None:
    """The bot's JSON becomes a Delivery; the request carries the bearer token and the body."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"status": "delivered_dm", "detail": "", "channel_id": "1", "message_id": "2"}
        )

    delivery = await push_client(handler).deliver("5", "hi", "social", channel_id="9")
    assert delivery == Delivery("delivered_dm", "", "1", "2") and delivery.delivered
    assert seen[0].url == "http://bot:8091/push"
    assert seen[0].headers["authorization"] == "Bearer t"
    assert json.loads(seen[0].content) == {
        "user_id": "5",
        "text": "hi",
        "reason": "social",
        "channel_id": "9",
        "channel_text": None,  # no channel-safe text: the bot may deliver this one to the DMs only
    }


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused")


@pytest.mark.parametrize(
    ("handler", "url", "token", "detail"),
    [
        (_refused, "http://bot:8091", "t", "bot unreachable"),
        (lambda r: httpx.Response(200, json={}), None, "t", "no bot registered"),
        (lambda r: httpx.Response(401, json={"error": "Unauthorized"}), "http://bot:8091", "t", "push token"),
        (lambda r: httpx.Response(500, text="oops"), "http://bot:8091", "t", "without a JSON body"),
        (lambda r: httpx.Response(200, json={}), "http://bot:8091", "", "BOT_PUSH_TOKEN"),
    ],
)
async def test_problems_are_failed_deliveries(
    handler: object, url: str | None, token: str, detail: str
) -> None:
    """Unreachable, unregistered, refused token, garbage, unconfigured: failed with a reason."""
    delivery = await push_client(handler, url=url, token=token).deliver("5", "hi", "r")
    assert delivery.status == "failed" and detail in delivery.detail


@pytest.mark.parametrize("url", ["http://[::1", "http://attacker.example:8091", "http://u:p@bot:8091"])
async def test_token_never_goes_to_a_refused_push_url(url: str) -> None:
    """A stored push URL that is malformed or off BOT_PUSH_ALLOWED_HOSTS: failed, and nothing is sent."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "delivered_dm"})

    client = push_client(handler, url=url)
    delivery = await client.deliver("5", "hi", "social")
    reachable, detail = await client.probe()
    assert delivery.status == "failed" and delivery.detail.startswith("registered push URL refused")
    assert reachable is False and detail is not None and detail.startswith("registered push URL refused")
    assert seen == []
