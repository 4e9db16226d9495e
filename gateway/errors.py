"""One error hierarchy and one handler: every failure renders as ``{"error": <ClassName>, "detail": ...}``."""

from __future__ import annotations

import json
import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

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


class ServiceUnavailableError(CompanionError):
    """A dependency is down and no fallback can answer."""

    status_code = 503


def error_body(name: str, detail: str) -> dict[str, str]:
    return {"error": name, "detail": detail}


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
    """Validation errors keep FastAPI's 422 shape; unexpected exceptions still reach the server log."""
    app.add_exception_handler(CompanionError, _companion_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(asyncpg.DataError, _data_error_handler)
    app.add_exception_handler(asyncpg.ForeignKeyViolationError, _row_gone_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)


async def _data_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # Postgres refused a value the schema let through (a NUL character in text, a number out of range):
    # the client's input, so a 422 that names it, never a 500.
    detail = getattr(exc, "message", None) or str(exc)
    logger.info("database refused a value on %s %s: %s", request.method, request.url.path, detail)
    return JSONResponse(
        {"error": "UnstorableValue", "detail": f"a value in the request cannot be stored: {detail}"},
        status_code=422,
    )


async def _validation_error_handler(request: Request, exc: Exception) -> Response:
    # FastAPI's own 422, rendered ASCII-only: a JSON string with a lone surrogate escape ("\\ud800") is echoed
    # back in the error and cannot be encoded as UTF-8, which turned a client error into a 500.
    assert isinstance(exc, RequestValidationError)
    body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # Logged with its traceback so the cause is never hidden; the caller gets JSON and the request id.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    request_id = request.headers.get("x-request-id", "")
    return JSONResponse(
        error_body("InternalError", f"unexpected server error (request id {request_id or 'n/a'})"),
        status_code=500,
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
