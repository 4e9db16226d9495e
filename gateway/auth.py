"""Bearer-token dependencies: the bot's service token for user routes, the admin key for /api/admin."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.config import Settings
from gateway.errors import AuthenticationError

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <token>`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _check(credentials: HTTPAuthorizationCredentials | None, expected: str, variable: str) -> None:
    if not expected:
        raise AuthenticationError(f"{variable} is not configured on the gateway; every request is refused")
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("missing bearer token (Authorization: Bearer <token>)")
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
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
