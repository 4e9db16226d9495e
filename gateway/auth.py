"""Bearer-token dependencies: the bot's service token for user routes, the admin key for /api/admin.

The caller is read in one place, ``bearer_token``, from the ASGI scope: the route dependencies below and the
rate limiter (an ASGI middleware that runs before any route) both use it, so they can never disagree about
who is calling.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection
from starlette.types import Scope

from gateway.config import Settings
from gateway.errors import AuthenticationError
from gateway.headers import single_header


def bearer_token(scope: Scope) -> str | None:
    """The token of the request's one ``Authorization: Bearer <token>`` header; None when the header is
    absent, sent more than once, or of another scheme."""
    header = single_header(scope, b"authorization")
    if header is None:
        return None
    scheme, _, token = header.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def token_matches(token: str | None, expected: str) -> bool:
    """Constant-time comparison; an empty expected token matches nothing."""
    if not expected or token is None:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


class _ScopeBearer(HTTPBearer):
    """``HTTPBearer`` for the OpenAPI security scheme, reading the token through ``bearer_token``."""

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        token = bearer_token(request.scope)
        return None if token is None else HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)


_bearer = _ScopeBearer(auto_error=False, description="`Authorization: Bearer <token>`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _check(credentials: HTTPAuthorizationCredentials | None, expected: str, variable: str) -> None:
    if not expected:
        raise AuthenticationError(f"{variable} is not configured on the gateway; every request is refused")
    if credentials is None:
        raise AuthenticationError("missing bearer token (Authorization: Bearer <token>)")
    if not token_matches(credentials.credentials, expected):
        raise AuthenticationError("invalid token")


async def require_service_token(request: Request, credentials: Credentials) -> None:
    """User routes: only the bot (or the terminal chat) holding GATEWAY_SERVICE_TOKEN may call them."""
    _check(
        credentials, _settings(request).auth.gateway_service_token.get_secret_value(), "GATEWAY_SERVICE_TOKEN"
    )


async def require_admin_key(request: Request, credentials: Credentials) -> None:
    """Admin routes: ADMIN_API_KEY, never accepted from a query string."""
    _check(credentials, _settings(request).auth.admin_api_key.get_secret_value(), "ADMIN_API_KEY")


ServiceAuth = Depends(require_service_token)
AdminAuth = Depends(require_admin_key)
