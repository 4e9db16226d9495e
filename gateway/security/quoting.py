"""User-controlled text on its way into a prompt, or back out to a person: checked, cleaned, quoted.

Every string a user controls (a message, a name, a recalled memory) is data, never instructions. Three
tools make it so, with no I/O and nothing but the standard library (schemas and every prompt builder import
them):

- ``name_problem``: why a name cannot be accepted at all (control characters, line breaks, bidirectional
  controls, invisible characters); the schemas answer 422 with it.
- ``clean_text`` and ``clean_name``: stored text or a stored name made safe to echo (older rows, or text
  that reached us some other way): control, format and bidi characters removed, whitespace collapsed.
- ``quote``: a JSON string literal in which nothing can pose as prompt structure: line breaks, quotes and
  backslashes are JSON-escaped, and angle brackets, ampersands, bidi and other invisible characters are
  ``\\uXXXX`` escapes, so a quoted text can neither close a surrounding ``</tag>`` nor start a new section.

``is_invisible_only`` tells an empty message (zero-width spaces and the like) from one that hides text in
invisible characters: Unicode tag characters, invisible operators and variation selectors can smuggle text
to a model, so they count as content and go to the security detector, which decodes them.
"""

from __future__ import annotations

import json
import unicodedata

MAX_NAME_CHARS = 100
NAME_FALLBACK = "friend"  # what a person is called when their name is blank or reads as an instruction

# Bidirectional controls: embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the marks.
BIDI_CONTROLS = frozenset(
    chr(code) for code in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
_ZERO_WIDTH_JOINER = "\u200d"  # part of emoji sequences (family, flags), allowed in names
# Characters that render as nothing (or as blank space) without being Unicode format controls.
_BLANK_LOOKALIKES = frozenset("\u034f\u115f\u1160\u180e\u2800\u3164\uffa0")


def _hides_text(code: int) -> bool:
    """Invisible characters that can carry a payload a model reads: tag characters (ASCII smuggling),
    invisible math operators and variation selectors (bit encodings)."""
    return (
        0xE0000 <= code <= 0xE007F
        or 0x2061 <= code <= 0x2064
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
    )


def is_invisible_only(text: str) -> bool:
    """True when ``text`` shows nothing: only whitespace, control characters and invisible fillers (zero-width
    space, non-joiner and joiner, word joiner, BOM, bidi marks, Hangul fillers). Text hidden in tag
    characters or other payload-carrying invisibles is content, not emptiness."""
    for ch in text:
        if ch.isspace() or ch in _BLANK_LOOKALIKES:
            continue
        code = ord(ch)
        if _hides_text(code):
            return False
        if unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        return False
    return True


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
        if category in ("Cf", "Co", "Cs") and ch != _ZERO_WIDTH_JOINER:
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


def clean_text(raw: str) -> str:
    """``raw`` safe to echo to a person: control, format and bidi characters removed (the emoji joiner
    kept), whitespace collapsed to single spaces."""
    kept = []
    for ch in raw:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif (category in ("Cf", "Co", "Cs") and ch != _ZERO_WIDTH_JOINER) or ch in _BLANK_LOOKALIKES:
            continue
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())


def clean_name(raw: str | None, fallback: str = NAME_FALLBACK) -> str:
    """A stored name safe to show or quote: ``clean_text``, at most ``MAX_NAME_CHARS``; ``fallback`` when
    nothing is left."""
    name = clean_text(raw or "")[:MAX_NAME_CHARS].strip()
    return name or fallback


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
