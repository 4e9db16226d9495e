"""The shared package stays usable by each service's image."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_IMPORT_EVERY_BOT_MODULE = """
import importlib, pkgutil, sys
import discord_bot
for module in pkgutil.walk_packages(discord_bot.__path__, "discord_bot."):
    importlib.import_module(module.name)
print(" ".join(sorted({name.split(".")[0] for name in sys.modules} & {"fastapi", "starlette", "prometheus_client"})))
"""


def test_the_bot_loads_no_http_service_dependency() -> None:
    """Every bot module imports without FastAPI, Starlette or prometheus-client, which its image lacks."""
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_BOT_MODULE], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
