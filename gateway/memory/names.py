"""Who a recall query is about: the names it gives ("What does Caroline like?", "When did I go to Boston?"):
people, places, pets, anything called by a proper name; and which side of the conversation it asks for
("What did you promise me?" is about what the companion said, "What did I tell you about Anna?" about what
the user said).

A name in a question is a constraint, not one more word: "What does Caroline like?" asks about Caroline, and
a memory that never mentions her is about someone else, however well it matches "like". Full-text ranking
gives a name the weight of its rarity, so the name of someone the user talks about every day counts for
almost nothing; recall sinks the memories that miss who the query asks about (``MEMORY_WHO_WEIGHT``,
docs/memory.md#recall).

For names, English capitalisation is the only signal: a capitalised word that does not begin a sentence, is
not "I" and names no month or weekday. A question typed in lower case (or in capitals throughout) names
nobody, and recall ranks as without.
"""

from __future__ import annotations

import re

from gateway.memory.schemas import Speaker
from gateway.memory.when import MONTHS, WEEKDAYS

# A capitalised word (letters, inner apostrophes and hyphens) that starts a word.
_CAPITALISED = re.compile(r"(?:^|(?<=[^\w'’-]))(?P<word>[A-Z][\w’'-]*)")
_POSSESSIVE = re.compile(r"['’]s?$")
_SENTENCE_END = re.compile(r"[.!?:;\"“(\[\n]\s*$|^\s*$")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# More than this share of the words after the first capitalised: Title Case, not names.
TITLE_CASE_SHARE = 0.6
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
    words = _WORD.findall(query)
    if not any(character.islower() for character in query):
        return []
    if len(words) >= 4 and sum(word[0].isupper() for word in words[1:]) > TITLE_CASE_SHARE * (len(words) - 1):
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


def speaker_in(query: str) -> Speaker | None:
    """The side of the conversation the query asks about: the companion's ("what did you say about…", "what
    did you promise me?"), the user's ("what did I tell you about…"), or None (either, or both named)."""
    asked = {speaker for speaker, pattern in _SPEAKERS if pattern.search(query)}
    return asked.pop() if len(asked) == 1 else None
