"""When a secret is too weak for production: one rule set for every service.

The documented way to make a secret (``openssl rand -hex 32``) and the local stack's generator
(``secrets.token_urlsafe(32)``) always pass.
"""

from __future__ import annotations

import itertools
import re
from urllib.parse import parse_qs, unquote, urlsplit

MIN_LENGTH = 24
# A random hex value of 24 characters or more practically never has fewer distinct characters than this.
MIN_DISTINCT_CHARACTERS = 7
HOW_TO_GENERATE = "generate one with `openssl rand -hex 32`"

# Whole values that ship in examples or get typed as stand-ins (compared stripped and in lower case).
PLACEHOLDERS = frozenset(
    {"", "change-me", "changeme", "secret", "password", "companion", "admin", "token", "dev", "development"}
)
# Words a random value never contains (none can be spelt in hex digits); compared in lower case with
# separators removed, so "Change_Me", "CHANGE-ME" and "my-secret-token" all match.
PLACEHOLDER_WORDS = (
    "changeme",
    "password",
    "passwd",
    "secret",
    "example",
    "placeholder",
    "replaceme",
    "companion",
    "letmein",
    "qwerty",
    "dummy",
    "sample",
    "default",
    "insecure",
)
# "your-token-here", "<password>", "${TOKEN}": template text left in place of a value.
_STAND_IN = re.compile(r"your.*here|^<.*>$|^\$\{.*\}$")
_SEPARATORS = re.compile(r"[\s._-]")


def weakness(value: str) -> str | None:
    """Why ``value`` is too weak a secret for production (a phrase completing "<VARIABLE> ..."), or None."""
    text = value.strip()
    lowered = text.lower()
    if not text:
        return "is empty"
    if lowered in PLACEHOLDERS or _STAND_IN.search(lowered):
        return "is a placeholder"
    folded = _SEPARATORS.sub("", lowered)
    word = next((word for word in PLACEHOLDER_WORDS if word in folded), None)
    if word is not None:
        return f"contains the placeholder word {word!r}"
    if len(text) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    distinct = len(set(text))
    if distinct < MIN_DISTINCT_CHARACTERS:
        return f"uses only {distinct} distinct characters"
    period = _period(text)
    if period is not None:
        return f"repeats a {period}-character unit"
    if _constant_step(text):
        return "is a run of consecutive characters"
    return None


def url_password(url: str) -> str | None:
    """The password in a service URL (``scheme://user:password@host`` or ``?password=``), or None."""
    parts = urlsplit(url)
    if parts.password is not None:
        return unquote(parts.password)
    query = parse_qs(parts.query).get("password")
    return query[0] if query else None


def url_is_unix_socket(url: str) -> bool:
    """Whether the URL reaches its server over a Unix socket (file permissions guard it, not a password)."""
    parts = urlsplit(url)
    hosts = parse_qs(parts.query).get("host", [])
    return parts.scheme == "unix" or any(host.startswith("/") for host in hosts) or not parts.hostname


def url_password_weakness(url: str) -> str | None:
    """Why the URL's password is too weak for production (a phrase completing "<VARIABLE> ..."), or None."""
    password = url_password(url)
    if password is None:
        return None if url_is_unix_socket(url) else "has no password"
    problem = weakness(password)
    return None if problem is None else f"has a password that {problem}"


def secret_refusal(variable: str, value: str) -> str | None:
    """The line refusing ``value`` as the secret ``variable`` in production, or None when it is strong."""
    problem = weakness(value)
    if problem is None:
        return None
    return f"{variable}: {problem}; production needs a strong secret ({HOW_TO_GENERATE})"


def url_refusal(variable: str, url: str) -> str | None:
    """The line refusing the service URL ``variable`` for its password in production, or None."""
    problem = url_password_weakness(url)
    if problem is None:
        return None
    return f"{variable}: {problem}; production needs a strong password ({HOW_TO_GENERATE})"


def _period(text: str) -> int | None:
    """The length of a unit that, repeated, makes up ``text`` (the last copy may be cut short)."""
    for period in range(1, len(text) // 2 + 1):
        if all(text[i] == text[i - period] for i in range(period, len(text))):
            return period
    return None


def _constant_step(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return len(steps) == 1
