"""Error answers and request-head limits both HTTP services share (needs FastAPI and Starlette).

Every error is ``{"error": <name>, "detail": <one line>}``; a validation error adds ``errors``, one
``{loc, msg, type}`` per problem, never the input itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from companion_common.validation import readable_message

logger = logging.getLogger(__name__)

MAX_REQUEST_HEADERS = 100
MAX_REQUEST_HEADER_BYTES = 32 * 1024
# What the HTTP server itself may buffer for one incomplete request head (uvicorn's h11 option): a bound on
# memory before the app ever sees the request. A head that arrives whole is bounded by HeaderLimitMiddleware.
H11_MAX_INCOMPLETE_EVENT_BYTES = 2 * MAX_REQUEST_HEADER_BYTES

MAX_LOC_PART_CHARS = 40
MAX_MSG_CHARS = 200


def error_body(name: str, detail: str) -> dict[str, str]:
    return {"error": name, "detail": detail}


async def send_error(
    send: Send, status: int, name: str, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """The ``{"error", "detail"}`` answer from inside an ASGI middleware (which runs outside FastAPI's
    exception handlers), with any extra headers."""
    body = json.dumps(error_body(name, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validation_problems(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic's errors without ``input``, ``ctx`` or ``url``: the caller knows what they sent, and echoing
    it made a 4 kB message (or a batch of texts) a 4 kB error. Locations and messages are clipped (a location
    can be a key the client chose); a validator's message loses pydantic's "Value error, " prefix."""
    return [
        {
            "loc": [
                part if isinstance(part, int) else _clip(str(part), MAX_LOC_PART_CHARS)
                for part in error["loc"]
            ],
            "msg": _clip(readable_message(error["msg"]), MAX_MSG_CHARS),
            "type": str(error["type"]),
        }
        for error in errors
    ]


def validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    """``{"error": "ValidationError", "detail": <the first problem, one line>, "errors": [...]}``."""
    problems = validation_problems(errors)
    lines = [f"{'.'.join(str(part) for part in p['loc']) or 'request'}: {p['msg']}" for p in problems]
    detail = lines[0] if lines else "invalid request"
    if len(lines) > 1:
        detail += f" (and {len(lines) - 1} more)"
    return {"error": "ValidationError", "detail": detail, "errors": problems}


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """The 422 for a request FastAPI refused, as :func:`validation_body`."""
    # Rendered ASCII-only: a location can hold a key with a lone surrogate escape ("\\ud800"), which cannot
    # be encoded as UTF-8 and turned a client error into a 500.
    assert isinstance(exc, RequestValidationError)
    body = json.dumps(validation_body(exc.errors()), ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


class UnexpectedErrorMiddleware:
    """An exception nothing handled: logged once with its traceback, answered once as a 500
    ``{"error": "InternalError", "detail": ...}``, and the keep-alive connection stays usable.

    Not an ``Exception`` handler: Starlette's ServerErrorMiddleware re-raises after calling one, so uvicorn
    logged the traceback a second time and closed the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def detail(self, scope: Scope) -> str:
        """The 500's one line."""
        return "unexpected server error; see the service log"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if response_started:
                # Half a response is out: returning without finishing it makes the server close this
                # connection, the only honest end for it.
                return
            await send_error(send, 500, "InternalError", self.detail(scope))


class HeaderLimitMiddleware:
    """Answers 431 to a request with more than ``max_count`` headers or ``max_bytes`` of them (names and
    values): no client of ours needs more, and every header is parsed, copied and scanned downstream.
    Install it outermost, so nothing else handles an oversized set of headers."""

    def __init__(
        self, app: ASGIApp, max_count: int = MAX_REQUEST_HEADERS, max_bytes: int = MAX_REQUEST_HEADER_BYTES
    ) -> None:
        self.app = app
        self.max_count = max_count
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        size = sum(len(name) + len(value) for name, value in headers)
        if len(headers) <= self.max_count and size <= self.max_bytes:
            await self.app(scope, receive, send)
            return
        detail = (
            f"request headers exceed the limit of {self.max_count} headers or {self.max_bytes} bytes "
            f"(got {len(headers)} headers, {size} bytes)"
        )
        await send_error(send, 431, "RequestHeaderFieldsTooLarge", detail, [(b"connection", b"close")])
