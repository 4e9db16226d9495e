"""User-controlled text on its way into a prompt, or back out to a person: checked and quoted.

Every string a user controls (a message, a name, a recalled memory) is data, never instructions. Two
tools make it so, with no I/O and nothing but the standard library (schemas and every prompt builder import
them):

- ``name_problem``: why a name cannot be accepted at all (control characters, line breaks, bidirectional
  controls, invisible characters); the schemas answer 422 with it.
- ``quote``: a JSON string literal in which nothing can pose as prompt structure: line breaks, quotes and
  backslashes are JSON-escaped, and angle brackets, ampersands, bidi and other invisible characters are
  ``\\uXXXX`` escapes, so a quoted text can neither close a surrounding ``</tag>`` nor start a new section.

Stored text or a stored name is made safe to echo by ``companion_common.visible_text`` (``clean_text``,
``clean_name``), which also tells an empty message from one hiding text in invisible characters
(``is_invisible_only``): rules the bot applies too.
"""

from __future__ import annotations

import json
import unicodedata

from companion_common.visible_text import ZERO_WIDTH_JOINER, is_invisible_only

NAME_FALLBACK = "friend"  # what a person is called when their name is blank or reads as an instruction

# Bidirectional controls: embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the marks.
BIDI_CONTROLS = frozenset(
    chr(code) for code in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
)


def name_problem(name: str) -> str | None:
    """Why ``name`` (already stripped) is not acceptable as a person's name, or None when it is."""
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            return "must not contain control characters or line breaks"
        if ch in BIDI_CONTROLS:
            return (
                "must not contain bidirectional control characters "
                f"(U+{ord(ch):04X}; U+202A-U+202E and U+2066-U+2069 reorder the text around them)"
            )
        if category in ("Cf", "Co", "Cs") and ch != ZERO_WIDTH_JOINER:
            return f"must not contain invisible or unassigned characters (U+{ord(ch):04X})"
    if is_invisible_only(name):
        return "must not be blank"
    return None


def check_name(field: str, value: str) -> str:
    """``value`` stripped, when it is acceptable as a person's name (``name_problem``); else a ValueError
    that names ``field``, for a schema validator to turn into a 422."""
    value = value.strip()
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(f"{field} {problem}")
    return value


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells astral characters as a UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _needs_escape(ch: str) -> bool:
    return ch in "<>&" or unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")


def quote(text: str, limit: int | None = None) -> str:
    """``text`` (cut to ``limit`` characters) as a JSON string literal that cannot break out of the prompt
    around it: no raw line break, quote, angle bracket, bidi or other invisible character survives."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    literal = json.dumps(text, ensure_ascii=False)
    return "".join(_escape(ch) if _needs_escape(ch) else ch for ch in literal)
