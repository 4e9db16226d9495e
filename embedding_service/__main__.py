"""``python -m embedding_service``: read settings, then serve on EMBEDDING_HOST:EMBEDDING_PORT.

Bad settings end the process with exit code 2 and one line naming the variable and the rule.
"""

from __future__ import annotations

import logging
import sys

import uvicorn

from companion_common.asgi import H11_MAX_INCOMPLETE_EVENT_BYTES
from embedding_service.app import create_app
from embedding_service.config import ConfigError, Settings

CONFIG_ERROR_EXIT_CODE = 2


def main() -> int:
    try:
        settings = Settings.load()
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return CONFIG_ERROR_EXIT_CODE
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.log_level != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per Gemini call otherwise
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # h11 named, not left to "auto": its buffer limit bounds the memory one request head may take.
        http="h11",
        h11_max_incomplete_event_size=H11_MAX_INCOMPLETE_EVENT_BYTES,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
