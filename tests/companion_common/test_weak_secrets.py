"""The production secret rules shared by the three services (companion_common/weak_secrets.py)."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from companion_common.weak_secrets import url_password_weakness, weakness

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = (".env.example", "docs/deployment.md", "docker-compose.yml", "README.md")


def documented_generators() -> set[str]:
    """Every `openssl rand ...` command the operator documentation tells people to run."""
    found: set[str] = set()
    for name in DOCUMENTS:
        found |= set(re.findall(r"openssl rand [-\w ]*?\d+", (REPO / name).read_text()))
    return found


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_documented_generator_always_passes() -> None:
    """Values made the documented way (`openssl rand -hex 32`) pass, every time."""
    commands = documented_generators()
    assert commands == {"openssl rand -hex 32"}
    for command in commands:
        for _ in range(50):
            value = subprocess.run(command.split(), capture_output=True, text=True, check=True).stdout.strip()
            assert weakness(value) is None, value


def test_generated_values_pass() -> None:
    """Random hex (24 characters and up) and the local stack's token_urlsafe(32) always pass."""
    for _ in range(2000):
        for value in (secrets.token_hex(12), secrets.token_hex(32), secrets.token_urlsafe(32)):
            assert weakness(value) is None, value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("CHANGE_ME", "contains the placeholder word 'changeme'"),
        ("${BOT_PUSH_TOKEN}", "is a placeholder"),
        ("Change-Me-Change-Me-Change-Me", "contains the placeholder word 'changeme'"),
        ("x" * 64, "uses only 1 distinct characters"),
        ("0123456789" * 3, "repeats a 10-character unit"),
        ("ZYXWVUTSRQPONMLKJIHGFEDCBA", "is a run of consecutive characters"),
        ("9f3a7c1e5b", "is shorter than 24 characters"),
    ],
)
def test_weak_values_are_named(value: str, reason: str) -> None:
    """Each weak pattern is refused with its own reason."""
    assert weakness(value) == reason


def test_url_passwords_are_decoded_and_unix_sockets_need_none() -> None:
    """A percent-encoded password is judged decoded; a Unix socket URL may omit it; TCP may not."""
    strong = secrets.token_hex(32)
    assert url_password_weakness(f"redis://:{strong}@redis:6379/0") is None
    assert url_password_weakness("redis://:%63hangeme@redis:6379/0") == "has a password that is a placeholder"
    assert url_password_weakness("unix:///run/redis.sock") is None
    assert url_password_weakness("rediss://redis:6380/0") == "has no password"
