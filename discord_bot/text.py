"""Pure text logic: splitting replies for Discord, stripping mentions, and the in-character lines the bot
says when the gateway cannot answer normally. No discord.py objects here, so all of it is tested directly."""

from __future__ import annotations

import bisect
import re
import unicodedata
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

DISCORD_MESSAGE_LIMIT = 2000
# Kept under the limit with room for a mention prefix ("<@123...> ") on channel fallbacks.
DEFAULT_CHUNK = 1900
GATEWAY_MESSAGE_LIMIT = 4000

_FENCE = "```"
_FENCE_LANGUAGE = re.compile(r"[A-Za-z0-9_+\-.#]+\n")  # Discord's language tag: ```py and a line break
# Where a chunk may end, best first. A chunk ends after the separator, so its whitespace trails the chunk
# (Discord trims it when it shows the message).
_BOUNDARIES = (
    re.compile(r"\n(?:[ \t]*\n)+"),  # paragraph
    re.compile(r"\n"),  # line
    re.compile(r"[.!?…][\"'”’»)\]]*[ \t]+"),  # sentence
    re.compile(r"\s+"),  # word
)
_VISIBLE = re.compile(r"\S")
_GRAPHEME_GLUE = frozenset("\u200d\ufe0e\ufe0f")


@dataclass(frozen=True)
class _CodeBlock:
    start: int  # the opening ```
    content: int  # after ```, its language and line break
    close: int  # the closing ```
    end: int  # after the closing ```
    language: str


def split_message(text: str, limit: int = DEFAULT_CHUNK) -> list[str]:
    """``text`` as Discord messages of at most ``limit`` characters each, none empty or blank.

    Text that fits comes back unchanged as one chunk; text of only whitespace gives no chunks. Longer text
    is cut at the last paragraph break that fits, else the last line break, else the last sentence end,
    else the last space; only a word longer than the limit is cut inside. A chunk ends after the break it
    was cut at, so joining the chunks gives back the text exactly, with two exceptions: a cut inside a
    ``` code block (made only when no cut outside one fits) closes the block at the end of its chunk and
    reopens it, with its language, at the start of the next, so each message renders as code; and a run of
    whitespace that would otherwise make a chunk of its own is dropped (Discord would show nothing of it)."""
    if limit < 1:
        raise ValueError("limit must be positive")
    if not text or text.isspace():
        return []
    if len(text) <= limit:
        return [text]
    return list(_Splitter(text, limit).chunks())


class _Splitter:
    # The smallest chunk that reopens and closes a block around one character: "```\n" + "x" + "\n```".
    _MIN_FENCED = 9

    def __init__(self, text: str, limit: int) -> None:
        self.text = text
        self.limit = limit
        self.blocks = _code_blocks(text) if limit >= self._MIN_FENCED else []
        self.block_starts = [block.start for block in self.blocks]

    def chunks(self) -> Iterator[str]:
        text = self.text
        pos = 0
        reopened: _CodeBlock | None = None
        while pos < len(text):
            prefix = self._reopening(reopened) if reopened is not None else ""
            room = self.limit - len(prefix)
            rest = text[pos:]
            if len(rest) <= room:
                if not rest.isspace():
                    yield prefix + rest
                return
            if text[pos : pos + room].isspace():
                pos = _first_visible(text, pos)
                continue
            cut, block = self._cut(pos, room)
            if block is None and self._block_at(cut) is not None and text[pos].isspace():
                # Only a cut through a code block (its fence, or code without reopening) fits after the
                # whitespace in front of it: leave that whitespace out (Discord trims it) and cut again.
                pos = _first_visible(text, pos)
                continue
            chunk = text[pos:cut]
            yield prefix + chunk + (_closing(chunk) if block is not None else "")
            pos, reopened = cut, block

    def _reopening(self, block: _CodeBlock) -> str:
        fence = f"{_FENCE}{block.language}\n"
        return fence if len(fence) + 1 + len(_closing("")) <= self.limit else _FENCE + "\n"

    def _cut(self, pos: int, room: int) -> tuple[int, _CodeBlock | None]:
        """Where the chunk starting at ``pos`` ends, and the code block it ends in (None: outside any)."""
        text = self.text
        first_visible = _first_visible(text, pos)
        inside: tuple[int, _CodeBlock] | None = None
        for boundary in _BOUNDARIES:
            outside: int | None = None
            inside_here: tuple[int, _CodeBlock] | None = None
            for match in boundary.finditer(text, pos, pos + room):
                cut = match.end()
                if cut <= first_visible:
                    continue
                block = self._block_at(cut)
                if block is None:
                    outside = cut
                elif self._fits_inside(block, pos, cut, room):
                    inside_here = (cut, block)
            if outside is not None:
                return outside, None
            inside = inside or inside_here
        if inside is not None:
            return inside
        return self._hard_cut(pos, room, first_visible)

    def _hard_cut(self, pos: int, room: int, first_visible: int) -> tuple[int, _CodeBlock | None]:
        """Inside a word: the furthest cut that fits, preferring not to split an emoji or accent."""
        text = self.text
        for keep_graphemes in (True, False):
            for cut in range(pos + room, first_visible, -1):
                if keep_graphemes and _splits_grapheme(text, cut):
                    continue
                block = self._block_at(cut)
                if block is None:
                    return cut, None
                if self._fits_inside(block, pos, cut, room):
                    return cut, block
        return pos + room, None  # too small a limit to keep a code block whole: cut it like text

    def _block_at(self, cut: int) -> _CodeBlock | None:
        """The code block a chunk ending at ``cut`` would end inside of."""
        index = bisect.bisect_left(self.block_starts, cut) - 1
        if index >= 0 and cut < self.blocks[index].end:
            return self.blocks[index]
        return None

    def _fits_inside(self, block: _CodeBlock, pos: int, cut: int, room: int) -> bool:
        """A cut inside ``block`` needs code on both sides (no empty blocks) and room for the closing fence."""
        text = self.text
        code_before = text[max(block.content, pos) : cut]
        code_after = text[cut : block.close]
        if cut <= block.content or not code_before.strip() or not code_after.strip():
            return False
        return cut - pos + len(_closing(code_before)) <= room


def _first_visible(text: str, pos: int) -> int:
    match = _VISIBLE.search(text, pos)
    return match.start() if match else len(text)


def _closing(chunk: str) -> str:
    return _FENCE if chunk.endswith("\n") else "\n" + _FENCE


def _splits_grapheme(text: str, cut: int) -> bool:
    return (
        text[cut - 1] in _GRAPHEME_GLUE
        or text[cut] in _GRAPHEME_GLUE
        or unicodedata.combining(text[cut]) != 0
    )


def _code_blocks(text: str) -> list[_CodeBlock]:
    """Discord's code blocks: ``` pairs, in order (an unclosed ``` is shown as it is)."""
    blocks: list[_CodeBlock] = []
    search_from = 0
    while (start := text.find(_FENCE, search_from)) >= 0:
        after = start + len(_FENCE)
        close = text.find(_FENCE, after)
        if close < 0:
            break
        language = _FENCE_LANGUAGE.match(text, after, close)
        content = language.end() if language else after
        blocks.append(
            _CodeBlock(start, content, close, close + len(_FENCE), language[0][:-1] if language else "")
        )
        search_from = close + len(_FENCE)
    return blocks


def strip_mentions(content: str, user_id: int) -> str:
    """The message without mentions of the bot (``<@id>`` or ``<@!id>``), whitespace collapsed at the ends."""
    return re.sub(rf"<@!?{user_id}>", "", content).strip()


# --- in-character lines for the gateway's answers --------------------------------------------------------

GATEWAY_DOWN = (
    "Sorry — I lost my train of thought for a moment (I can't reach my mind right now). "
    "Give me a minute and try again?"
)
NOT_STARTED = (
    "We haven't properly met yet! Send me a DM to say hi, or use `/companion init` to choose my personality."
)
MEMORY_NOT_FOUND = (
    "I couldn't find that memory — it may already be forgotten. `/memories recent` shows what I remember."
)
OTHER_USER_NOT_FOUND = "The companion has never met that user: there is nothing to show or delete."
BANNED = "I'm not able to talk with you any more. (An administrator has blocked this account.)"
ATTACHMENTS_ONLY = "I can't open attachments yet — could you tell me about it in words? I'd love to hear."
EMPTY_MESSAGE = "Did you mean to say something? I'm listening."
GENERIC_FAILURE = "Something went wrong on my side. Could you try that again in a moment?"
ADMIN_ONLY = "That command is for the companion's administrators."
ADMIN_NOT_CONFIGURED = "Admin commands need ADMIN_API_KEY set for the bot."
ALREADY_DONE = "That's already done — nothing to change."
NOT_FOUND = "I couldn't find that — it may be gone already."
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
