"""Reading request headers from the ASGI scope, once and the same way for every reader.

A header sent twice is read differently by different code: Starlette's ``Headers.get`` (FastAPI's
``HTTPBearer``) takes the first copy, ``dict(scope["headers"])`` the last. With two ``Authorization`` headers
the route authenticated with one and the rate limiter keyed on the other, so the limit could be skipped.
Headers that name one thing (who calls, how long the body is, what it is) are therefore refused with a 400
when repeated, before any other middleware reads them, and every reader goes through ``header_values``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from companion_common.asgi import send_error

# Each names exactly one thing; two copies would let two readers disagree about it.
SINGLE_VALUE_HEADERS: tuple[bytes, ...] = (b"authorization", b"content-length", b"content-type")


def header_values(scope: Scope, name: bytes) -> list[bytes]:
    """Every value of header ``name`` (lower-case bytes) in the request, in the order received."""
    return [value for key, value in scope["headers"] if key.lower() == name]


def single_header(scope: Scope, name: bytes) -> bytes | None:
    """The header's value when it was sent exactly once; None when absent or repeated (repeats are refused
    by ``SingleValueHeadersMiddleware`` before anything reads them, so None is only a second guard)."""
    values = header_values(scope, name)
    return values[0] if len(values) == 1 else None


class SingleValueHeadersMiddleware:
    """Answers 400 when a header of ``SINGLE_VALUE_HEADERS`` appears more than once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name in SINGLE_VALUE_HEADERS:
            count = len(header_values(scope, name))
            if count > 1:
                await self._refuse(send, name.decode().title(), count)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(send: Send, header: str, count: int) -> None:
        await send_error(
            send, 400, "DuplicateHeader", f"the {header} header was sent {count} times; send it once"
        )
