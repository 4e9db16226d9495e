"""Pure text logic: splitting replies for Discord, stripping mentions, and the in-character lines the bot
says when the gateway cannot answer normally. No discord.py objects here, so all of it is tested directly."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache

DISCORD_MESSAGE_LIMIT = 2000
# Kept under the limit with room for a mention prefix ("<@123...> ") on channel fallbacks.
DEFAULT_CHUNK = 1900
GATEWAY_MESSAGE_LIMIT = 4000

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_MENTION = re.compile(r"<@!?(\d+)>")


def split_message(text: str, limit: int = DEFAULT_CHUNK) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, at paragraph, then sentence, then word
    boundaries; a single word longer than the limit is cut hard. Never returns an empty chunk."""
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    if not text:
        return []
    chunks: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        joiner = _joiner(current, piece)
        if current and len(current) + len(joiner) + len(piece.strip()) <= limit:
            current = current + joiner + piece.strip()
        else:
            if current:
                chunks.append(current)
            current = piece.strip()
    if current:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk]


def _joiner(current: str, piece: str) -> str:
    return "\n\n" if piece.startswith("\n\n") else " "


def _pieces(text: str, limit: int) -> Iterable[str]:
    """Sentences (paragraph starts marked with a leading blank line), each at most ``limit`` long."""
    for index, paragraph in enumerate(re.split(r"\n\s*\n", text)):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        for number, sentence in enumerate(_SENTENCE_END.split(paragraph)):
            sentence = sentence.strip()
            if not sentence:
                continue
            prefix = "\n\n" if index > 0 and number == 0 else ""
            for part in _hard_wrap(sentence, limit):
                yield prefix + part
                prefix = ""


def _hard_wrap(sentence: str, limit: int) -> Iterable[str]:
    if len(sentence) <= limit:
        yield sentence
        return
    line = ""
    for word in sentence.split(" "):
        while len(word) > limit:
            if line:
                yield line
                line = ""
            yield word[:limit]
            word = word[limit:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= limit:
            line += " " + word
        else:
            yield line
            line = word
    if line:
        yield line


def strip_mentions(content: str, user_id: int) -> str:
    """The message without mentions of the bot (``<@id>`` or ``<@!id>``), whitespace collapsed at the ends."""
    return re.sub(rf"<@!?{user_id}>", "", content).strip()


MAX_NAME_CHARS = 100
_ZERO_WIDTH_JOINER = "\u200d"  # part of emoji sequences, kept
_BLANK_LOOKALIKES = frozenset("\u034f\u115f\u1160\u180e\u2800\u3164\uffa0")


def _hides_text(ch: str) -> bool:
    """Tag characters, invisible operators and variation selectors can carry text a model reads."""
    code = ord(ch)
    return (
        0xE0000 <= code <= 0xE007F
        or 0x2061 <= code <= 0x2064
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
    )


def safe_name(name: str | None, fallback: str) -> str:
    """A Discord name as the bot passes or shows it: display and global names may hold line breaks, bidi
    overrides and zero-width characters (usernames may not), so control, format and bidi characters go,
    whitespace collapses, at most 100 characters; ``fallback`` when nothing visible is left."""
    kept = []
    for ch in name or "":
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif (category in ("Cf", "Co", "Cs") and ch != _ZERO_WIDTH_JOINER) or ch in _BLANK_LOOKALIKES:
            continue
        else:
            kept.append(ch)
    cleaned = " ".join("".join(kept).split())[:MAX_NAME_CHARS].strip()
    return cleaned or fallback


def has_visible_text(content: str) -> bool:
    """False for a message of only whitespace and invisible fillers (zero-width spaces, joiners, BOM),
    which the gateway refuses as empty; text hidden in tag characters counts as text (the gateway's
    security screen decodes it)."""
    for ch in content:
        if ch.isspace() or ch in _BLANK_LOOKALIKES:
            continue
        if _hides_text(ch) or unicodedata.category(ch) not in ("Cc", "Cf"):
            return True
    return False


def mentioned_ids(content: str) -> set[int]:
    return {int(match) for match in _MENTION.findall(content)}


# --- in-character lines for the gateway's answers --------------------------------------------------------

GATEWAY_DOWN = (
    "Sorry — I lost my train of thought for a moment (I can't reach my mind right now). "
    "Give me a minute and try again?"
)
NOT_STARTED = (
    "We haven't properly met yet! Send me a DM to say hi, or use `/companion init` to choose my personality."
)
BANNED = "I'm not able to talk with you any more. (An administrator has blocked this account.)"
ATTACHMENTS_ONLY = "I can't open attachments yet — could you tell me about it in words? I'd love to hear."
EMPTY_MESSAGE = "Did you mean to say something? I'm listening."
GENERIC_FAILURE = "Something went wrong on my side. Could you try that again in a moment?"
ADMIN_ONLY = "That command is for the companion's administrators."
ADMIN_NOT_CONFIGURED = "Admin commands need ADMIN_API_KEY set for the bot."
ALREADY_DONE = "That's already done — nothing to change."
NOT_ACCEPTED = "I couldn't do that — something about it didn't work for me. Could you check it and try again?"
FIRST_CONTACT = (
    "-# New here? I picked a personality for myself and I'm keeping time in UTC. While we're still getting to "
    "know each other you can choose who I am (and your time zone) with `/companion init`; "
    "`/companion timezone` sets your time zone any time."
)
PERSONALITY_SETTLED = (
    "We've talked enough that my personality has settled — it's who I am now, and it won't change. "
    "You can still set your time zone any time with `/companion timezone`."
)


def too_long(length: int, limit: int = GATEWAY_MESSAGE_LIMIT) -> str:
    return (
        f"That's a lot to take in at once ({length:,} characters) — I can read up to {limit:,} in one "
        "message. Could you split it up?"
    )


def rate_limited(retry_after_seconds: float | None) -> str:
    if retry_after_seconds is None or retry_after_seconds <= 0:
        return "Whoa, slow down a little — give me a moment to catch up before your next message."
    seconds = max(1, round(retry_after_seconds))
    unit = "second" if seconds == 1 else "seconds"
    return f"Whoa, slow down a little — I need {seconds} {unit} to catch up. Try again then?"


def suspended(until: datetime | None) -> str:
    if until is None:
        return "I need a break from our conversation for now."
    return f"I need a break from our conversation. We can talk again <t:{int(until.timestamp())}:R>."


def security_footer(escalation_level: int, restricted: bool, suspended_until: datetime | None) -> str | None:
    """A short note under a reply when the user's standing limits what the companion does (None: nothing)."""
    if suspended_until is not None or escalation_level >= 3:
        return None  # the reply itself is the suspension notice
    if restricted or escalation_level == 2:
        return "-# I'm keeping my replies short and not remembering this conversation for now."
    return None


OFFLINE_MARK = "offline mode"


def offline_footer(offline: bool, response: str) -> str | None:
    """Offline replies say so themselves (gateway templates); add a note only if one does not."""
    if offline and OFFLINE_MARK not in response.lower():
        return "-# (offline mode: my usual voice is unavailable, so I'm answering simply)"
    return None


def compose_reply(
    response: str,
    *,
    offline: bool = False,
    escalation_level: int = 0,
    restricted: bool = False,
    suspended_until: datetime | None = None,
    first_contact: bool = False,
) -> str:
    """The reply text plus any footer about offline mode, the user's standing, or (on the very first reply)
    how to choose the companion's personality and time zone."""
    parts = [response.strip() or "…"]
    for footer in (
        offline_footer(offline, response),
        security_footer(escalation_level, restricted, suspended_until),
        FIRST_CONTACT if first_contact else None,
    ):
        if footer:
            parts.append(footer)
    return "\n".join(parts)


# --- formatting for embeds ------------------------------------------------------------------------------


def bar(value: float, *, low: float = -1.0, high: float = 1.0, width: int = 10) -> str:
    """A text gauge for a value in [low, high]: ``▰▰▰▱▱▱▱▱▱▱``."""
    span = high - low
    filled = 0 if span <= 0 else round((min(max(value, low), high) - low) / span * width)
    return "▰" * filled + "▱" * (width - filled)


def truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def parse_hour(value: str) -> int:
    """``"22"``, ``"22:00"``, ``"10pm"`` → 22; ValueError for anything else."""
    raw = value.strip().lower().replace(" ", "")
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(am|pm)?", raw)
    if match is None:
        raise ValueError(f"{value!r} is not an hour (try 22, 22:00 or 10pm)")
    hour = int(match[1])
    minutes = int(match[2] or 0)
    suffix = match[3]
    if minutes != 0:
        raise ValueError("quiet hours start and end on the hour")
    if suffix is not None:
        if not 1 <= hour <= 12:
            raise ValueError(f"{value!r} is not an hour")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if not 0 <= hour <= 23:
        raise ValueError(f"{value!r} is not an hour between 0 and 23")
    return hour


def page_bounds(total: int, page: int, per_page: int) -> tuple[int, int, int]:
    """(clamped page, offset, page count) for 0-based ``page``."""
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    return page, page * per_page, pages


def join_lines(lines: Sequence[str], limit: int) -> str:
    """As many whole lines as fit in ``limit`` characters (embed fields cap at 1024, descriptions 4096)."""
    out: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + (1 if out else 0)
        if used + cost > limit:
            break
        out.append(line)
        used += cost
    return "\n".join(out)


# --- time zones -------------------------------------------------------------------------------------------

MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices


@cache
def known_timezones() -> tuple[str, ...]:
    """Every IANA zone name this machine knows (zoneinfo, backed by the tzdata package), sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def timezone_choices(query: str, limit: int = MAX_CHOICES) -> list[str]:
    """Zone names containing ``query``, ignoring case (``"paris"`` → ``Europe/Paris``), at most ``limit``."""
    needle = query.strip().lower()
    return [zone for zone in known_timezones() if needle in zone.lower()][:limit]


def resolve_timezone(value: str) -> str | None:
    """The IANA name the user meant (exact, or the same ignoring case: ``europe/paris``), None if unknown."""
    wanted = value.strip()
    zones = known_timezones()
    if wanted in zones:
        return wanted
    return next((zone for zone in zones if zone.lower() == wanted.lower()), None)


def unknown_timezone(value: str) -> str:
    return (
        f"I don't know the time zone “{truncate(value, 60)}”. Pick one from the list as you type "
        "(a city usually finds it, e.g. `Paris` → Europe/Paris), or use UTC."
    )
