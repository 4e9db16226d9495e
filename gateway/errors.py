"""One error hierarchy and one handler: every failure renders as ``{"error": <ClassName>, "detail": ...}``
(validation errors add ``errors``, one ``{loc, msg, type}`` per problem, never the input itself)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

_HTTP_ERROR_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
}


class CompanionError(Exception):
    """Base of every error the gateway raises on purpose; carries its HTTP status."""

    status_code = 500

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(CompanionError):
    status_code = 404


class AuthenticationError(CompanionError):
    status_code = 401


class ConflictError(CompanionError):
    status_code = 409


class BadRequestError(CompanionError):
    status_code = 400


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


class ErrorResponse(BaseModel):
    """Every error the gateway answers: the error's name and one readable line."""

    error: str
    detail: str


class ValidationProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(ErrorResponse):
    """A 422: the problems one by one (where, what, which rule), without the rejected input."""

    errors: list[ValidationProblem]


_RESPONSE_DESCRIPTIONS = {
    401: "Missing or invalid bearer token",
    403: "Forbidden",
    404: "Not found (an unknown user, memory or record)",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "Invalid input (or a value Postgres cannot store)",
    429: "Rate limited; retry after the Retry-After header",
    431: "Request headers too large or too many",
    503: "A dependency this route needs is unavailable",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for routes: each status with the shared error model, for the OpenAPI document."""
    return {
        status: {
            "model": ValidationErrorResponse if status == 422 else ErrorResponse,
            "description": _RESPONSE_DESCRIPTIONS.get(status) or HTTPStatus(status).phrase,
        }
        for status in statuses
    }


async def _companion_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CompanionError)
    if exc.status_code >= 500:
        logger.error("request failed: %s: %s", type(exc).__name__, exc.message)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(
        error_body(type(exc).__name__, exc.message), status_code=exc.status_code, headers=headers
    )


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    name = _HTTP_ERROR_NAMES.get(exc.status_code, "HTTPError")
    return JSONResponse(
        error_body(name, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


def install_error_handlers(app: FastAPI) -> None:
    """Our errors, HTTP errors, validation and unstorable values as ``{"error", "detail"}``. Unexpected
    exceptions are not handled here but by :class:`UnexpectedErrorMiddleware` (see there why)."""
    app.add_exception_handler(CompanionError, _companion_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(asyncpg.DataError, _data_error_handler)
    app.add_exception_handler(asyncpg.ForeignKeyViolationError, _row_gone_handler)


async def _data_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # Postgres refused a value the schema let through (a NUL character in text, a number out of range):
    # the client's input, so a 422 that names it, never a 500.
    detail = getattr(exc, "message", None) or str(exc)
    logger.info("database refused a value on %s %s: %s", request.method, request.url.path, detail)
    return JSONResponse(
        {"error": "UnstorableValue", "detail": f"a value in the request cannot be stored: {detail}"},
        status_code=422,
    )


MAX_LOC_PART_CHARS = 40
MAX_MSG_CHARS = 200


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# pydantic puts these before the message of a validator's ValueError or assert: noise to anyone reading it.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def validation_problems(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic's errors without ``input``, ``ctx`` or ``url``: the caller knows what they sent, and echoing
    it made a 4 kB message a 4 kB error. Locations and messages are clipped (a location can be a key the
    client chose); a validator's message loses pydantic's "Value error, " prefix."""
    problems: list[dict[str, Any]] = []
    for error in errors:
        loc = [
            part if isinstance(part, int) else _clip(str(part), MAX_LOC_PART_CHARS) for part in error["loc"]
        ]
        message = str(error["msg"])
        for prefix in _PYDANTIC_PREFIXES:
            message = message.removeprefix(prefix)
        problems.append({"loc": loc, "msg": _clip(message, MAX_MSG_CHARS), "type": str(error["type"])})
    return problems


def validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    """``{"error": "ValidationError", "detail": <the first problem, one line>, "errors": [...]}``."""
    problems = validation_problems(errors)
    lines = [f"{'.'.join(str(part) for part in p['loc']) or 'request'}: {p['msg']}" for p in problems]
    detail = lines[0] if lines else "invalid request"
    if len(lines) > 1:
        detail += f" (and {len(lines) - 1} more)"
    return {"error": "ValidationError", "detail": detail, "errors": problems}


async def _validation_error_handler(request: Request, exc: Exception) -> Response:
    # Rendered ASCII-only: a location can hold a key with a lone surrogate escape ("\\ud800"), which cannot
    # be encoded as UTF-8 and turned a client error into a 500.
    assert isinstance(exc, RequestValidationError)
    body = json.dumps(validation_body(exc.errors()), ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


class UnexpectedErrorMiddleware:
    """An exception nothing handled: logged once with its traceback (the log line carries the request id),
    answered once as a 500 ``{"error": "InternalError", "detail": ...}`` quoting the request id, and the
    keep-alive connection stays usable.

    Not an ``Exception`` handler: Starlette's ServerErrorMiddleware re-raises after calling one, so uvicorn
    logged the traceback a second time (without the request id) and closed the connection. Install it inside
    RequestContextMiddleware, so the request id is set and echoed.
    """

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
            request_id = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if response_started:
                # Half a response is out: returning without finishing it makes the server close this
                # connection, the only honest end for it.
                return
            await send_error(
                send, 500, "InternalError", f"unexpected server error (request id {request_id or 'n/a'})"
            )


async def _row_gone_handler(request: Request, exc: Exception) -> JSONResponse:
    # A write that refers to a row deleted while the request ran: above all a user deleted between the
    # route's "does the user exist" and its insert (the chat pipeline is ordered with deletion by the user's
    # lock; other per-user writes are not). The row is gone, so the answer is what it would be now.
    assert isinstance(exc, asyncpg.ForeignKeyViolationError)
    constraint = exc.constraint_name or ""
    logger.info("write refused on %s %s: %s is gone", request.method, request.url.path, constraint)
    if constraint.endswith(("_user", "_user_id_fkey")):
        return JSONResponse(
            error_body("UserNotFoundError", "the user was deleted while this request ran"), status_code=404
        )
    return JSONResponse(
        error_body("Conflict", "a row this request refers to was deleted while it ran"), status_code=409
    )
