"""Per-user and global rate limits on the user routes: token buckets in Redis, checked atomically by one Lua
script, answered with ``429`` and ``Retry-After``.

The middleware counts only calls that carry the service token (anything else is refused by the route's own
auth, at no cost to a user's bucket) on ``/api/...`` routes other than ``/api/admin`` and the docs. The
user is the path's user id (``/api/<domain>/<user_id>/...``); routes without one count against the global
bucket only. Redis time is used, so every gateway replica refills the same buckets at the same rate. If Redis
is unreachable the request is let through (logged): an outage of the cache must not take chat down.
"""

from __future__ import annotations

import logging
import math
import re
import time

from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from companion_common.asgi import send_error
from gateway.auth import bearer_token, token_matches
from gateway.config import Settings
from gateway.redis import user_key

logger = logging.getLogger(__name__)

# KEYS: global bucket, user bucket (may be absent). ARGV: global rate/s, global burst, user rate/s, user burst.
# Returns {allowed (0/1), retry_after_seconds as a string}. Nothing is taken from either bucket unless both
# have a token.
BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function refill(key, rate, burst)
  local data = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(data[1])
  local ts = tonumber(data[2])
  if tokens == nil or ts == nil then
    return burst
  end
  return math.min(burst, tokens + math.max(0, now - ts) * rate)
end
local n = #KEYS
local tokens = {}
local retry = 0
for i = 1, n do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  tokens[i] = refill(KEYS[i], rate, burst)
  if tokens[i] < 1 then
    retry = math.max(retry, (1 - tokens[i]) / rate)
  end
end
local allowed = 0
if retry == 0 then allowed = 1 end
for i = 1, n do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local left = tokens[i]
  if allowed == 1 then left = left - 1 end
  redis.call('HSET', KEYS[i], 'tokens', tostring(left), 'ts', tostring(now))
  redis.call('EXPIRE', KEYS[i], math.ceil(burst / rate) + 60)
end
return {allowed, tostring(retry)}
"""

_USER_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_EXEMPT_PREFIXES = ("/api/admin", "/api/docs", "/api/openapi.json")
_WARN_EVERY_SECONDS = 60.0


def path_user_id(path: str) -> str | None:
    """The user id of ``/api/<domain>/<user_id>[/...]``, if the path has one."""
    parts = path.split("/")
    if len(parts) >= 4 and parts[1] == "api" and _USER_ID.match(parts[3]):
        return parts[3]
    return None


class RateLimitMiddleware:
    """Token buckets (global, then per user) in front of the user routes; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._last_warning = -math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._applies(scope):
            await self.app(scope, receive, send)
            return
        # The services exist from the lifespan on (gateway/deps.py); before it, nothing is limited.
        services = getattr(scope["app"].state, "services", None)
        if services is None:
            await self.app(scope, receive, send)
            return
        settings = services.settings
        security = settings.security
        if not security.rate_limit_enabled or not self._has_service_token(scope, settings):
            await self.app(scope, receive, send)
            return
        keys = ["ratelimit:global"]
        args: list[float] = [security.global_requests_per_minute / 60.0, security.global_burst]
        user_id = path_user_id(scope["path"])
        if user_id is not None:
            # Under the user's key prefix, so deleting the user deletes their bucket too.
            keys.append(user_key(user_id, "ratelimit"))
            args.extend([security.user_requests_per_minute / 60.0, security.user_burst])
        try:
            allowed, retry = await services.redis.eval(BUCKET_LUA, len(keys), *keys, *args)
        except RedisError as exc:
            now = time.monotonic()
            if now - self._last_warning > _WARN_EVERY_SECONDS:
                self._last_warning = now
                logger.warning("rate limiting off while Redis is unreachable: %s", exc)
            await self.app(scope, receive, send)
            return
        if int(allowed) == 1:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(float(retry)))
        scope_name = "user" if user_id is not None else "gateway"
        await send_error(
            send,
            429,
            "TooManyRequests",
            f"{scope_name} rate limit exceeded; retry in {retry_after} s",
            [(b"retry-after", str(retry_after).encode())],
        )

    @staticmethod
    def _applies(scope: Scope) -> bool:
        path: str = scope["path"]
        return path.startswith("/api/") and not path.startswith(_EXEMPT_PREFIXES)

    @staticmethod
    def _has_service_token(scope: Scope, settings: Settings) -> bool:
        # The same reading of the caller as the route's own auth (gateway.auth), never a second one.
        return token_matches(bearer_token(scope), settings.auth.gateway_service_token.get_secret_value())
