"""One error base carrying its HTTP status, one handler rendering ``{"error": <ClassName>, "detail": ...}``.

Validation errors add ``errors`` (one ``{loc, msg, type}`` per problem, never the input); oversized request
headers are a 431; an unexpected exception is one 500, logged once (companion_common.asgi).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from companion_common import asgi

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


async def _service_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    if exc.status_code >= 500:
        logger.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc.detail)
    return JSONResponse(asgi.error_body(type(exc).__name__, exc.detail), status_code=exc.status_code)


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    try:
        name = HTTPStatus(exc.status_code).phrase.title().replace(" ", "").replace("-", "")
    except ValueError:
        name = "HTTPError"
    return JSONResponse(
        asgi.error_body(name, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def install_error_handlers(app: FastAPI) -> None:
    """The handlers, and the two middlewares (add them after every other middleware: they go outermost)."""
    app.add_exception_handler(ServiceError, _service_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RequestValidationError, asgi.validation_error_handler)
    app.add_middleware(asgi.UnexpectedErrorMiddleware)
    app.add_middleware(asgi.HeaderLimitMiddleware)
