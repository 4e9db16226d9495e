"""What a person sees of text a user controls: one rule for the bot and the gateway, so the bot never sends
what the gateway refuses (standard library only).

Invisible characters come in two kinds: fillers that show nothing (zero-width spaces and joiners, the BOM,
bidi marks, Hangul fillers), and characters that can carry a payload a model reads (Unicode tag characters,
invisible operators, variation selectors), which count as content: the gateway's security screen decodes
them.
"""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 100
ZERO_WIDTH_JOINER = "\u200d"  # part of emoji sequences (family, flags), allowed in names
# Characters that render as nothing (or as blank space) without being Unicode format controls.
BLANK_LOOKALIKES = frozenset("\u034f\u115f\u1160\u180e\u2800\u3164\uffa0")


def hides_text(ch: str) -> bool:
    """Invisible characters that can carry a payload a model reads: tag characters (ASCII smuggling),
    invisible math operators and variation selectors (bit encodings)."""
    code = ord(ch)
    return (
        0xE0000 <= code <= 0xE007F
        or 0x2061 <= code <= 0x2064
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
    )


def is_invisible_only(text: str) -> bool:
    """True when ``text`` shows nothing: only whitespace, control characters and invisible fillers. Text
    hidden in tag characters or other payload-carrying invisibles is content, not emptiness."""
    for ch in text:
        if ch.isspace() or ch in BLANK_LOOKALIKES:
            continue
        if hides_text(ch) or unicodedata.category(ch) not in ("Cc", "Cf"):
            return False
    return True


def clean_text(raw: str) -> str:
    """``raw`` safe to echo to a person: control, format and bidi characters removed (the emoji joiner
    kept), line breaks and whitespace collapsed to single spaces."""
    kept = []
    for ch in raw:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif (category in ("Cf", "Co", "Cs") and ch != ZERO_WIDTH_JOINER) or ch in BLANK_LOOKALIKES:
            continue
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())


def clean_name(raw: str | None, fallback: str) -> str:
    """A name safe to show, quote or send (Discord display names may hold line breaks, bidi overrides and
    zero-width characters): ``clean_text``, at most ``MAX_NAME_CHARS``; ``fallback`` when nothing is left."""
    name = clean_text(raw or "")[:MAX_NAME_CHARS].strip()
    return name or fallback
