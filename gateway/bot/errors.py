from __future__ import annotations

from gateway.errors import CompanionError


class PushUrlNotAllowedError(CompanionError):
    """The registered push URL names a host outside BOT_PUSH_ALLOWED_HOSTS: the gateway would send
    BOT_PUSH_TOKEN there, so the registration is refused."""

    status_code = 422
