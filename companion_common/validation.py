"""pydantic's validation messages as people should read them."""

from __future__ import annotations

# pydantic puts these before the message of a validator's ValueError or assert: noise to anyone reading it.
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def readable_message(message: object) -> str:
    """A validation error's ``msg`` without pydantic's prefix: the validator's own sentence."""
    text = str(message)
    for prefix in _PYDANTIC_PREFIXES:
        text = text.removeprefix(prefix)
    return text
