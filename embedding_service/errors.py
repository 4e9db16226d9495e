"""One error base carrying its HTTP status, one handler rendering ``{"error": <ClassName>, "detail": ...}``.

Validation errors keep FastAPI's 422 shape.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log, so the cause is never hidden; the caller still gets JSON.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        error_body("InternalError", "unexpected server error; see the service log"), status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
