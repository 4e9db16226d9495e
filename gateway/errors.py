"""One error hierarchy and one handler: every failure renders as ``{"error": <ClassName>, "detail": ...}``
(validation errors add ``errors``, one ``{loc, msg, type}`` per problem, never the input itself)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from companion_common import asgi

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
        asgi.error_body(type(exc).__name__, exc.message), status_code=exc.status_code, headers=headers
    )


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    name = _HTTP_ERROR_NAMES.get(exc.status_code, "HTTPError")
    return JSONResponse(
        asgi.error_body(name, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def install_error_handlers(app: FastAPI) -> None:
    """Our errors, HTTP errors, validation and unstorable values as ``{"error", "detail"}``. Unexpected
    exceptions are not handled here but by :class:`UnexpectedErrorMiddleware` (see there why)."""
    app.add_exception_handler(CompanionError, _companion_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, asgi.validation_error_handler)
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


class UnexpectedErrorMiddleware(asgi.UnexpectedErrorMiddleware):
    """The shared 500, quoting the request id (the log line carries it too). Install it inside
    RequestContextMiddleware, so the request id is set and echoed."""

    def detail(self, scope: Scope) -> str:
        request_id = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        return f"unexpected server error (request id {request_id or 'n/a'})"


async def _row_gone_handler(request: Request, exc: Exception) -> JSONResponse:
    # A write that refers to a row deleted while the request ran: above all a user deleted between the
    # route's "does the user exist" and its insert (the chat pipeline is ordered with deletion by the user's
    # lock; other per-user writes are not). The row is gone, so the answer is what it would be now.
    assert isinstance(exc, asyncpg.ForeignKeyViolationError)
    constraint = exc.constraint_name or ""
    logger.info("write refused on %s %s: %s is gone", request.method, request.url.path, constraint)
    if constraint.endswith(("_user", "_user_id_fkey")):
        return JSONResponse(
            asgi.error_body("UserNotFoundError", "the user was deleted while this request ran"),
            status_code=404,
        )
    return JSONResponse(
        asgi.error_body("Conflict", "a row this request refers to was deleted while it ran"), status_code=409
    )
