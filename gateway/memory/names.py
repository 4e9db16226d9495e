"""Who a recall query is about: the names it gives ("What does Caroline like?", "When did I go to Boston?"):
people, places, pets, anything called by a proper name; and which side of the conversation it asks for
("What did you promise me?" is about what the companion said, "What did I tell you about Anna?" about what
the user said).

A name in a question is a constraint, not one more word: "What does Caroline like?" asks about Caroline, and
a memory that never mentions her is about someone else, however well it matches "like". Full-text ranking
gives a name the weight of its rarity, so the name of someone the user talks about every day counts for
almost nothing; recall sinks the memories that miss who the query asks about (``MEMORY_WHO_WEIGHT``,
docs/memory.md#recall).

For names, English capitalisation is the signal: a capitalised word that does not begin a sentence, is not
"I" and names no month or weekday. Many people type in lower case ("what does anna like to cook"), and a
question whose capitals mark no name (lower case, capitals throughout, Title Case, or only a sentence's first
letter) says nothing either way: then a word of it is a name when the memories it is checked against write it
like one (``written_as_names``: capitalised inside a sentence, never or seldom in lower case), which is how
the user spells it when not in a hurry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway.memory.schemas import Speaker
from gateway.memory.when import MONTHS, WEEKDAYS

# A capitalised word (letters, inner apostrophes and hyphens) that starts a word.
_CAPITALISED = re.compile(r"(?:^|(?<=[^\w'’-]))(?P<word>[A-Z][\w’'-]*)")
_POSSESSIVE = re.compile(r"['’]s?$")
_SENTENCE_END = re.compile(r"[.!?:;\"“(\[\n]\s*$|^\s*$")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# More than this share of the words after the first capitalised: Title Case, not names.
TITLE_CASE_SHARE = 0.6
# A word of a lower-case question is a name when the memories write it capitalised inside a sentence this
# often, and in this share of its appearances other than first in a sentence.
NAME_MIN_SEEN = 2
NAME_SHARE = 0.8
_NOT_NAMES = frozenset(MONTHS) | frozenset(WEEKDAYS) | {"i", "i'm", "i've", "i'd", "i'll", "ok", "okay"}
_PAST = r"(?:said|told|promised|mentioned|suggested|recommended|asked|wrote)"
_BASE = r"(?:say|tell|promise|mention|suggest|recommend|ask|write)"


def _asks(subject: str) -> re.Pattern[str]:
    """ "<subject> said/told/…" (had, once, just… between) or "did <subject> say/tell/…": a past statement,
    not a request ("can you tell me…")."""
    between = r"(?:\s+(?:had|have|once|just|ever|already|also))?"
    return re.compile(
        rf"\b{subject}{between}\s+{_PAST}\b|\bdid(?:n['’]?t| not)?\s+{subject}\s+(?:ever\s+)?{_BASE}\b",
        re.IGNORECASE,
    )


_SPEAKERS = ((Speaker.ASSISTANT, _asks("you")), (Speaker.USER, _asks("(?:i|we)")))


def names_in(query: str) -> list[str]:
    """The query's names, in order, each once and without a possessive ("Caroline's" gives "Caroline").

    Where capitals mark every word (SHOUTING, or Title Case), they mark no name, and the query gives none."""
    if not _marks_names(query):
        return []
    found: dict[str, None] = {}
    for match in _CAPITALISED.finditer(query):
        start = match.start("word")
        if _SENTENCE_END.search(query[:start]):
            continue  # the first word of a sentence is capitalised whatever it is
        word = _POSSESSIVE.sub("", match.group("word").replace("’", "'"))
        if len(word) < 2 or word.lower() in _NOT_NAMES:
            continue
        found.setdefault(word, None)
    return list(found)


def _marks_names(text: str) -> bool:
    """Whether capitals can mark names in ``text``: not where they mark every word (SHOUTING, Title Case)."""
    if not any(character.islower() for character in text):
        return False
    words = _WORD.findall(text)
    return not (
        len(words) >= 4 and sum(word[0].isupper() for word in words[1:]) > TITLE_CASE_SHARE * (len(words) - 1)
    )


def maybe_names(query: str) -> list[str]:
    """The words of a query whose capitals name nobody that could still be names, lower-cased, in order, each
    once; [] when its capitals do name someone (``names_in`` has them). Each is a name only if
    ``written_as_names`` finds it written as one."""
    if names_in(query):
        return []
    found: dict[str, None] = {}
    for word in _WORD.findall(query):
        word = _POSSESSIVE.sub("", word.replace("’", "'")).lower()
        if len(word) >= 2 and word not in _NOT_NAMES:
            found.setdefault(word, None)
    return list(found)


def written_as_names(words: Sequence[str], texts: Sequence[str]) -> list[str]:
    """Those of ``words`` (lower case) that ``texts`` write as a name: capitalised inside a sentence at least
    ``NAME_MIN_SEEN`` times, and so in at least ``NAME_SHARE`` of the times they appear other than first in a
    sentence (where every word is capitalised). A capital in a text written all in capitals or in Title Case
    says nothing. Recall runs this over a hundred candidates, so each word is found by ``str.find``."""
    if not words:
        return []
    lowered = [text.lower() for text in texts]
    marks: dict[int, bool] = {}
    found = []
    for word in words:
        capitalised = lower = 0
        for n, (text, low) in enumerate(zip(texts, lowered, strict=True)):
            if len(low) != len(text):
                continue  # lower case changed the length (a rare letter): positions would not line up
            start = low.find(word)
            while start != -1:
                end = start + len(word)
                if _whole_word(low, start, end):
                    if text[start].islower():
                        lower += 1
                    elif not _starts_sentence(text, start) and marks.setdefault(n, _marks_names(text)):
                        capitalised += 1
                start = low.find(word, end)
        if capitalised >= NAME_MIN_SEEN and capitalised >= NAME_SHARE * (capitalised + lower):
            found.append(word)
    return found


def _is_word_character(character: str) -> bool:
    return character.isalnum() or character in "_'’-"


def _whole_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is a word of its own (a possessive after it allowed), not part of
    another ("e-mail", "o'clock", "annabel")."""
    if start > 0 and _is_word_character(text[start - 1]):
        return False
    if text[end : end + 2] in ("'s", "’s"):
        end += 2
    elif text[end : end + 1] in ("'", "’"):
        end += 1
    return end >= len(text) or not _is_word_character(text[end])


def _starts_sentence(text: str, start: int) -> bool:
    """Whether the word at ``start`` is the first of a sentence (only capitalised matches ask)."""
    return _SENTENCE_END.search(text[:start]) is not None


def speaker_in(query: str) -> Speaker | None:
    """The side of the conversation the query asks about: the companion's ("what did you say about…", "what
    did you promise me?"), the user's ("what did I tell you about…"), or None (either, or both named)."""
    asked = {speaker for speaker, pattern in _SPEAKERS if pattern.search(query)}
    return asked.pop() if len(asked) == 1 else None
