"""``python -m gateway``: validate settings (one line and exit 2 when wrong), then serve."""

from __future__ import annotations

import sys

import uvicorn

from companion_common.asgi import H11_MAX_INCOMPLETE_EVENT_BYTES
from gateway.app import create_app
from gateway.config import ConfigError, Settings
from gateway.observability import configure_logging


def main() -> int:
    try:
        settings = Settings.load()
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.core.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        # h11 named, not left to "auto": its buffer limit bounds the memory one request head may take.
        http="h11",
        h11_max_incomplete_event_size=H11_MAX_INCOMPLETE_EVENT_BYTES,
        proxy_headers=True,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
