"""Turning a raw message into the text the detector reads: what a model would understand, not what a regex
sees on the surface.

Every step is bounded: the analysed text is at most ``MAX_ANALYSED_CHARS`` (head and tail of longer
messages), decoding runs at most ``MAX_DECODE_DEPTH`` levels deep and decodes at most
``MAX_DECODED_SEGMENTS`` segments of at most ``MAX_SEGMENT_CHARS`` each, so a megabyte message or a payload
wrapped in base64 a hundred times costs the same bounded work as a short one.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import re
import unicodedata
from dataclasses import dataclass, field

MAX_ANALYSED_CHARS = 8_000
_TAIL_CHARS = 2_000  # attacks hide at the end of long texts as often as at the start
MAX_DECODE_DEPTH = 3
MAX_DECODED_SEGMENTS = 6
MAX_SEGMENT_CHARS = 4_000

# Characters that render as nothing (or as a join) and are used to split trigger words invisibly.
_INVISIBLE = {
    0x00AD,  # soft hyphen
    0x034F,  # combining grapheme joiner
    0x061C,
    0x115F,
    0x1160,
    0x17B4,
    0x17B5,
    0x180E,
    0x3164,
    0xFEFF,
    0xFFA0,
}
_INVISIBLE_RANGES = (
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0xFE00, 0xFE0F),
    (0xE0000, 0xE007F),
)

# Unicode tag characters U+E0020-U+E007E mirror printable ASCII: invisible to a person, read by a model as
# the text they spell ("ASCII smuggling"). Decoded in place, as their own words.
_TAG_RUN = re.compile("[\U000e0020-\U000e007e]+")
# A subdivision flag (England, Scotland, Wales): a black flag, its region code in tag letters, a cancel tag.
_FLAG_TAGS = re.compile("(?<=\U0001f3f4)[\U000e0030-\U000e0039\U000e0061-\U000e007a]{1,7}\U000e007f")
_TAG_TO_ASCII = {0xE0000 + code: chr(code) for code in range(0x20, 0x7F)}

# Invisible characters that carry text a model can be asked to decode: "sneaky bits" spell each character's
# code in binary with INVISIBLE TIMES (0) and INVISIBLE PLUS (1), words split by zero-width spaces; variation
# selectors stand for one byte each (U+FE00-FE0F: 0-15, U+E0100-E01EF: 16-255 or the byte itself, as tools
# write them). A run of them is hidden text whatever it decodes to; nobody types one by hand.
_SNEAKY_RUN = re.compile("[\u2062\u2064][\u2062\u2064\u200b]{7,}")
_SNEAKY_BITS = str.maketrans({"\u2062": "0", "\u2064": "1", "\u200b": " "})
_SELECTOR_RUN = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{3,}")
MIN_HIDDEN_RUN = 8  # payload-carrying invisibles in a run: from here the text was hidden on purpose
BACKSPACE = "\x08"

# Letters from other scripts that look like Latin ones (the common part of Unicode's confusables list).
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "с": "c", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "м": "m", "н": "h",
        "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԝ": "w", "ү": "y", "ӏ": "l",
        "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M", "О": "O",
        "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "Ү": "Y", "Ԝ": "W",
        # Greek
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
        "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
        # Armenian and others seen in the wild
        "օ": "o", "ս": "u", "ց": "g", "ɡ": "g", "ı": "i", "ℓ": "l",
    }
)  # fmt: skip
# Small capitals and letter-like symbols that NFKC leaves alone but a reader takes for plain letters.
_SMALL_CAPS = str.maketrans(
    dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnopqrstuvwyz", strict=True))
    | {chr(0x1F1E6 + i): chr(ord("a") + i) for i in range(26)}  # regional indicator letters
)
_SMALL_CAPS_CHARS = frozenset("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ") | frozenset(chr(0x1F1E6 + i) for i in range(26))

_MORSE = {
    ".-": "a",
    "-...": "b",
    "-.-.": "c",
    "-..": "d",
    ".": "e",
    "..-.": "f",
    "--.": "g",
    "....": "h",
    "..": "i",
    ".---": "j",
    "-.-": "k",
    ".-..": "l",
    "--": "m",
    "-.": "n",
    "---": "o",
    ".--.": "p",
    "--.-": "q",
    ".-.": "r",
    "...": "s",
    "-": "t",
    "..-": "u",
    "...-": "v",
    ".--": "w",
    "-..-": "x",
    "-.--": "y",
    "--..": "z",
    "-----": "0",
    ".----": "1",
    "..---": "2",
    "...--": "3",
    "....-": "4",
    ".....": "5",
    "-....": "6",
    "--...": "7",
    "---..": "8",
    "----.": "9",
    ".-.-.-": ".",
    "--..--": ",",
    "..--..": "?",
    "-.-.--": "!",
}
# Eight or more Morse letters separated by spaces (words by " / " or double spaces).
_MORSE_RUN = re.compile(r"(?<![\w.\-])(?:[.\-]{1,6}(?: {1,3}| ?/ ?)){7,}[.\-]{1,6}(?![\w.\-])")
_CONFUSABLE = frozenset(ch for ch in "авсеһіјкмнорԛѕтухԝүӏАВСЕНІЈКМОРЅТХҮԜαεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧօսցɡıℓ")

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_LEET_TOKEN = re.compile(r"(?=[A-Za-z0-9@$!]*[A-Za-z])(?=[A-Za-z0-9@$!]*[013457@$!])[A-Za-z0-9@$!]{3,30}")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Five or more single letters separated by a space, dot, dash, underscore or slash ("i g n o r e"), with
# wider gaps between words ("I g n o r e   a l l").
_SPACED = re.compile(r"(?<![\w])(?:[A-Za-z][ .\-_/*]{1,3}){4,}[A-Za-z](?![\w])")
_BASE64_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_HEX_TOKEN = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]?){8,}(?![0-9A-Fa-f])")
_BINARY_TOKEN = re.compile(r"(?:[01]{8}[ ]?){4,}")
_WHITESPACE_RUN = re.compile(r"[ \t\f\v]+")
_NEWLINE_RUN = re.compile(r"\n{3,}")

# Words frequent in English prose and in instructions to a model; a decoded text is "readable" when enough
# of its words are among them.
_COMMON_WORDS = frozenset(
    """
    a about above act after again against all also always am an and answer any are as ask at be been before
    being below between both but by can cannot could did do does doing down during each every few for forget
    from further had has have having he her here hers him his how i if ignore in instructions into is it its
    just me mode more most must my myself new no nor not now of off on once only or other our out over own
    please previous print prompt reply respond rules say secret she should so some such system tell than that
    the their them then there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours password reveal now act pretend developer
    """.split()
)


@dataclass(frozen=True)
class NormalizedText:
    """What the detector reads: the cleaned text, plus every readable decoding found inside it."""

    original_length: int
    text: str  # NFKC, tag characters decoded, invisible ones removed, homoglyphs folded, whitespace collapsed
    decoded: tuple[str, ...] = ()  # readable texts recovered from base64, rot13, leetspeak, spacing...
    transforms: tuple[str, ...] = ()  # which steps changed something ("truncated", "homoglyphs", "base64"...)
    obfuscation: float = 0.0  # 0..1: how much hiding there was (invisible chars, mixed scripts, encodings)
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def hidden(self) -> bool:
        """Text put out of a reader's sight on purpose: a run of payload-carrying invisibles (tag characters,
        invisible binary, variation selectors) or backspaces that erase what was typed. Nobody types these in a
        chat; they exist to show a model what a person does not see."""
        carried = self.extra.get("tags", 0) + self.extra.get("hidden_payload", 0)
        return carried >= MIN_HIDDEN_RUN or self.extra.get("backspaces", 0) > 0

    @property
    def analysis_text(self) -> str:
        """The text and its decodings, as one string for the rules."""
        if not self.decoded:
            return self.text
        return self.text + "\n" + "\n".join(self.decoded)

    @property
    def is_blank(self) -> bool:
        """Nothing to read: no letter or digit in the text nor in anything decoded from it."""
        return not any(ch.isalnum() for part in (self.text, *self.decoded) for ch in part)


def safe_text(raw: str) -> str:
    """``raw`` with lone surrogates (possible from JSON ``\\ud800`` escapes) and NULs replaced, so it can be
    stored in Postgres and encoded as UTF-8 anywhere."""
    if raw.isascii():
        return raw.replace("\x00", "\ufffd")
    return raw.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def bound(text: str) -> tuple[str, bool]:
    """At most MAX_ANALYSED_CHARS: the head and the tail of a longer text."""
    if len(text) <= MAX_ANALYSED_CHARS:
        return text, False
    head = MAX_ANALYSED_CHARS - _TAIL_CHARS
    return text[:head] + "\n" + text[-_TAIL_CHARS:], True


def _apply_backspaces(text: str) -> tuple[str, int]:
    """``text`` as it shows once each backspace has erased the character before it, and how many there were."""
    count = text.count(BACKSPACE)
    if not count:
        return text, 0
    kept: list[str] = []
    for ch in text:
        if ch != BACKSPACE:
            kept.append(ch)
        elif kept:
            kept.pop()
    return "".join(kept), count


def _is_invisible(ch: str) -> bool:
    code = ord(ch)
    if code in _INVISIBLE:
        return True
    for low, high in _INVISIBLE_RANGES:
        if low <= code <= high:
            return True
    category = unicodedata.category(ch)
    if category == "Cc":
        return ch not in "\n\t"
    return category in ("Cf", "Co", "Cs")


def _fold_homoglyphs(text: str) -> tuple[str, int]:
    """Fold look-alike letters inside words that mix them with Latin letters or consist only of them, so a
    Russian word stays Russian but "іgnоrе" becomes "ignore"."""
    folded = 0

    def fold(match: re.Match[str]) -> str:
        nonlocal folded
        word = match.group(0)
        confusable = sum(1 for ch in word if ch in _CONFUSABLE)
        if not confusable:
            return word
        latin = sum(1 for ch in word if "a" <= ch.lower() <= "z")
        if latin + confusable != len(word):  # other letters of that script: a real foreign word
            return word
        if latin == 0 and len(word) > 1 and not _looks_latin_when_folded(word):
            return word
        folded += 1
        return word.translate(_HOMOGLYPHS)

    return _WORD.sub(fold, text), folded


def _looks_latin_when_folded(word: str) -> bool:
    return word.translate(_HOMOGLYPHS).lower() in _COMMON_WORDS or len(word) >= 4


ROT13_MIN_WORDS = 4


def readable_ratio(text: str) -> float:
    """Share of a text's words that are common English words (0 for a text without words)."""
    words = _WORD.findall(text.lower())[:400]  # "café" is one word, not "caf"
    if not words:
        return 0.0
    return sum(1 for w in words if w in _COMMON_WORDS) / len(words)


def _is_readable(text: str) -> bool:
    if len(text) < 4:
        return False
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\t")
    letters = sum(1 for ch in text if ch.isalpha() or ch == " ")
    return printable / len(text) > 0.95 and letters / len(text) > 0.6 and readable_ratio(text) >= 0.2


def _bits_to_text(bits: str) -> str | None:
    """One word of sneaky bits: each character's code in binary without leading zeros, back to back (7 bits
    for letters, 6 for digits, spaces and punctuation); the split that reads as most letters, None when the
    bits split into no printable ASCII at all."""
    best: list[tuple[int, str] | None] = [None] * (len(bits) + 1)
    best[0] = (0, "")
    for start in range(len(bits)):
        here = best[start]
        if here is None or bits[start] != "1":
            continue
        for width in (7, 6):
            end = start + width
            if end > len(bits):
                continue
            char = chr(int(bits[start:end], 2))
            score = here[0] + char.isalpha()
            there = best[end]
            if there is None or score > there[0]:
                best[end] = (score, here[1] + char)
    last = best[len(bits)]
    return None if last is None else last[1]


def _hidden_payloads(text: str) -> tuple[list[tuple[str, str]], int]:
    """(transform, decoded text) for each run of payload-carrying invisibles, and how many such characters
    there were; the runs themselves are removed later with the other invisibles."""
    found: list[tuple[str, str]] = []
    hidden = 0
    for match in _SNEAKY_RUN.finditer(text):
        hidden += len(match.group(0))
        words = match.group(0).translate(_SNEAKY_BITS).split()
        decoded = " ".join(word for word in (_bits_to_text(bits) for bits in words) if word)
        if decoded.strip() and len(found) < MAX_DECODED_SEGMENTS:
            found.append(("sneaky_bits", decoded[:MAX_SEGMENT_CHARS]))
    for match in _SELECTOR_RUN.finditer(text):
        hidden += len(match.group(0))
        raw = bytes(
            (code - 0xFE00) if code < 0xE0000 else (code - 0xE0100) % 256
            for code in (ord(ch) for ch in match.group(0)[: MAX_SEGMENT_CHARS * 2])
        )
        decoded = "".join(ch for ch in raw.decode("utf-8", "replace") if ch.isprintable() or ch in "\n\t")
        if decoded.strip() and len(found) < MAX_DECODED_SEGMENTS:
            found.append(("variation_selectors", decoded[:MAX_SEGMENT_CHARS]))
    return found, hidden


def _decode_base64(token: str) -> str | None:
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode_hex(token: str) -> str | None:
    digits = re.sub(r"[ :]", "", token)
    if len(digits) % 2:
        return None
    try:
        return bytes.fromhex(digits).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _decode_binary(token: str) -> str | None:
    bits = token.replace(" ", "")
    usable = len(bits) - len(bits) % 8
    try:
        return bytes(int(bits[i : i + 8], 2) for i in range(0, usable, 8)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _decode_morse(token: str) -> str:
    words = re.split(r" ?/ ?| {2,}", token.strip())
    return " ".join("".join(_MORSE.get(letter, "") for letter in word.split()) for word in words)


def _morse_decodings(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for match in _MORSE_RUN.finditer(text[: MAX_SEGMENT_CHARS * 2]):
        if len(found) >= MAX_DECODED_SEGMENTS:
            break
        decoded = _decode_morse(match.group(0))
        if _is_readable(decoded):
            found.append(("morse", decoded[:MAX_SEGMENT_CHARS]))
    return found


def _decodings(text: str) -> list[tuple[str, str]]:
    """(transform, decoded text) for each readable payload found in ``text``; one level deep."""
    found = _morse_decodings(text)
    for name, pattern, decode in (
        ("base64", _BASE64_TOKEN, _decode_base64),
        ("hex", _HEX_TOKEN, _decode_hex),
        ("binary", _BINARY_TOKEN, _decode_binary),
    ):
        for match in pattern.finditer(text):
            if len(found) >= MAX_DECODED_SEGMENTS:
                return found
            token = match.group(0)[: MAX_SEGMENT_CHARS * 2]
            decoded = decode(token.strip())
            if decoded is not None and _is_readable(decoded):
                found.append((name, decoded[:MAX_SEGMENT_CHARS]))
    # rot13 of the whole text, when it reads far better than the text itself.
    sample = text[:MAX_SEGMENT_CHARS]
    rotated = codecs.decode(sample, "rot_13")
    enough_words = len(_WORD.findall(sample)) >= ROT13_MIN_WORDS  # a few words read as anything
    if (
        enough_words
        and readable_ratio(rotated) >= 0.3
        and readable_ratio(rotated) > readable_ratio(sample) + 0.2
    ):
        found.append(("rot13", rotated))
    # Leetspeak: words mixing letters with digit look-alikes ("1gn0r3").
    leet_tokens = _LEET_TOKEN.findall(sample)
    if leet_tokens and any(not token.isdigit() for token in leet_tokens):
        unleeted = _LEET_TOKEN.sub(lambda m: m.group(0).translate(_LEET), sample)
        if unleeted != sample and readable_ratio(unleeted) > readable_ratio(sample):
            found.append(("leetspeak", unleeted))
    # S p a c e d - o u t letters, joined back into words.
    if _SPACED.search(sample):
        joined = _SPACED.sub(lambda m: _unspace(m.group(0)), sample)
        found.append(("spaced", joined))
    return found


_WORD_GAP = re.compile(r"[ .\-_/*]{2,}")
_SPACER = re.compile(r"[ .\-_/*]")
MAX_WORD_CHARS = 20


@functools.cache
def vocabulary() -> frozenset[str]:
    """Lower-case words of the texts written for the detector (exemplars and corpus): what spaced-out letters
    are read back into."""
    from gateway.security import corpus, exemplars

    texts = [row.text for row in corpus.rows()] + [text for text, _ in exemplars.attack_bank()]
    texts += list(exemplars.BENIGN)
    return frozenset(
        word for text in texts for word in re.findall(r"[a-z]+", text.lower()) if len(word) <= MAX_WORD_CHARS
    )


def segment(letters: str) -> str:
    """``letters`` split into the fewest known words (a letter no word explains stands alone)."""
    known = vocabulary()
    lower = letters.lower()
    n = len(lower)
    best: list[tuple[int, int]] = [(0, 0)] + [(n * 3, 0)] * n  # (cost, start of the last word)
    for end in range(1, n + 1):
        for start in range(max(0, end - MAX_WORD_CHARS), end):
            word = lower[start:end]
            cost = best[start][0] + (1 if word in known else 3 * len(word))
            if cost < best[end][0]:
                best[end] = (cost, start)
    words: list[str] = []
    end = n
    while end > 0:
        start = best[end][1]
        words.append(letters[start:end])
        end = start
    return " ".join(reversed(words))


def _unspace(run: str) -> str:
    """A run of spaced-out letters as words: a wider gap separates words; letters alone are segmented."""
    groups = [_SPACER.sub("", group) for group in _WORD_GAP.split(run.strip())]
    if len(groups) > 1:
        return " ".join(groups)
    return segment(groups[0])


def normalize(raw: str) -> NormalizedText:
    """The detector's view of ``raw``; never raises, whatever the input."""
    text = safe_text(raw)
    original_length = len(raw)
    transforms: list[str] = []
    text, truncated = bound(text)
    if truncated:
        transforms.append("truncated")
    nfkc = unicodedata.normalize("NFKC", text)
    if nfkc != text:
        transforms.append("nfkc")
    text = nfkc
    tagged = 0
    text = _FLAG_TAGS.sub("", text)  # the flag shows as a flag: nothing hidden in it
    if _TAG_RUN.search(text):
        tagged = sum(len(run) for run in _TAG_RUN.findall(text))
        text = _TAG_RUN.sub(lambda m: " " + m.group(0).translate(_TAG_TO_ASCII) + " ", text)
        transforms.append("tags")
    text, backspaces = _apply_backspaces(text)
    if backspaces:
        transforms.append("backspaces")
    hidden_payloads, payload_chars = _hidden_payloads(text)
    for name, _ in hidden_payloads:
        if name not in transforms:
            transforms.append(name)
    if payload_chars:
        text = _SELECTOR_RUN.sub(" ", text)  # variation selectors are not removed as invisibles below
    invisible = sum(1 for ch in text if _is_invisible(ch))
    if invisible:
        text = "".join(" " if ch == "\r" else ch for ch in text if ch == "\r" or not _is_invisible(ch))
        transforms.append("invisible")
    small_caps = sum(1 for ch in text if ch in _SMALL_CAPS_CHARS)
    if small_caps:
        text = text.translate(_SMALL_CAPS)
        transforms.append("small_caps")
    text, folded = _fold_homoglyphs(text)
    if folded:
        transforms.append("homoglyphs")
    # Morse marks word breaks with runs of spaces, which the collapse below would erase.
    spaced_morse = _morse_decodings(text) if "  " in text and ".-" in text else []
    text = _NEWLINE_RUN.sub("\n\n", _WHITESPACE_RUN.sub(" ", text)).strip()

    decoded: list[str] = [unicodedata.normalize("NFKC", payload) for _, payload in hidden_payloads]
    for _, payload in spaced_morse:
        decoded.append(payload)
    if spaced_morse:
        transforms.append("morse")
    frontier = [text, *decoded]
    for _ in range(MAX_DECODE_DEPTH):
        next_frontier: list[str] = []
        for source in frontier:
            for name, payload in _decodings(source):
                if len(decoded) >= MAX_DECODED_SEGMENTS:
                    break
                payload = unicodedata.normalize("NFKC", payload)
                decoded.append(payload)
                if name not in transforms:
                    transforms.append(name)
                next_frontier.append(payload)
        if not next_frontier or len(decoded) >= MAX_DECODED_SEGMENTS:
            break
        frontier = next_frontier

    hidden = invisible + tagged + folded + small_caps + payload_chars + backspaces
    obfuscation = min(1.0, hidden / 4) * 0.5 + (0.5 if payload_chars >= MIN_HIDDEN_RUN or any(
        t in transforms for t in ("base64", "hex", "binary", "rot13", "morse")
    ) else 0.0)  # fmt: skip
    return NormalizedText(
        original_length=original_length,
        text=text,
        decoded=tuple(decoded),
        transforms=tuple(transforms),
        obfuscation=obfuscation,
        extra={
            "invisible": invisible,
            "tags": tagged,
            "homoglyphs": folded,
            "small_caps": small_caps,
            "hidden_payload": payload_chars,
            "backspaces": backspaces,
        },
    )
