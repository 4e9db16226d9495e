"""One error base carrying its HTTP status, one handler rendering ``{"error": <ClassName>, "detail": ...}``.

Validation errors add ``errors`` (one ``{loc, msg, type}`` per problem, never the input); oversized request
headers are a 431; an unexpected exception is one 500, logged once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """Base of every error the embedding service raises on purpose."""

    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ProviderError(ServiceError):
    """The embedding provider failed (after retries) or answered something unusable."""

    status_code = 502


def error_body(name: str, detail: str) -> dict[str, str]:
    return {"error": name, "detail": detail}


async def _service_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    if exc.status_code >= 500:
        logger.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc.detail)
    return JSONResponse(error_body(type(exc).__name__, exc.detail), status_code=exc.status_code)


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    try:
        name = HTTPStatus(exc.status_code).phrase.title().replace(" ", "").replace("-", "")
    except ValueError:
        name = "HTTPError"
    return JSONResponse(
        error_body(name, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


MAX_LOC_PART_CHARS = 40
MAX_MSG_CHARS = 200


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    """``{"error": "ValidationError", "detail": <the first problem>, "errors": [{loc, msg, type}...]}``:
    no ``input`` (a batch of texts came back whole) and no ``ctx``."""
    problems = [
        {
            "loc": [p if isinstance(p, int) else _clip(str(p), MAX_LOC_PART_CHARS) for p in error["loc"]],
            "msg": _clip(str(error["msg"]), MAX_MSG_CHARS),
            "type": str(error["type"]),
        }
        for error in errors
    ]
    lines = [
        f"{'.'.join(str(p) for p in problem['loc']) or 'request'}: {problem['msg']}" for problem in problems
    ]
    detail = lines[0] if lines else "invalid request"
    if len(lines) > 1:
        detail += f" (and {len(lines) - 1} more)"
    return {"error": "ValidationError", "detail": detail, "errors": problems}


async def _validation_error_handler(request: Request, exc: Exception) -> Response:
    # ASCII-only, so a lone surrogate in a location can never fail the UTF-8 encoding of the answer.
    assert isinstance(exc, RequestValidationError)
    body = json.dumps(validation_body(exc.errors()), ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


def _json_answer(status: int, name: str, detail: str) -> tuple[Message, Message]:
    body = json.dumps(error_body(name, detail)).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


class UnexpectedErrorMiddleware:
    """An exception nothing handled: logged once with its traceback, answered once with a 500 JSON body, and
    the keep-alive connection stays usable. (An ``Exception`` handler would not do: Starlette re-raises after
    it, so uvicorn logged the traceback again and closed the connection.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
                return  # half a response is out: the server closes this connection, the only honest end
            for message in _json_answer(500, "InternalError", "unexpected server error; see the service log"):
                await send(message)


MAX_REQUEST_HEADERS = 100
MAX_REQUEST_HEADER_BYTES = 32 * 1024
# What uvicorn's h11 may buffer for one incomplete request head, before the app sees anything.
H11_MAX_INCOMPLETE_EVENT_BYTES = 2 * MAX_REQUEST_HEADER_BYTES


class HeaderLimitMiddleware:
    """431 for more than MAX_REQUEST_HEADERS headers or MAX_REQUEST_HEADER_BYTES of them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            size = sum(len(name) + len(value) for name, value in headers)
            if len(headers) > MAX_REQUEST_HEADERS or size > MAX_REQUEST_HEADER_BYTES:
                detail = (
                    f"request headers exceed the limit of {MAX_REQUEST_HEADERS} headers or "
                    f"{MAX_REQUEST_HEADER_BYTES} bytes (got {len(headers)} headers, {size} bytes)"
                )
                for message in _json_answer(431, "RequestHeaderFieldsTooLarge", detail):
                    await send(message)
                return
        await self.app(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """The handlers, and the two middlewares (add them after every other middleware: they go outermost)."""
    app.add_exception_handler(ServiceError, _service_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(HeaderLimitMiddleware)
