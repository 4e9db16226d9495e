"""The names a recall question gives."""

from __future__ import annotations

import pytest

from gateway.memory.names import names_in


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("What does Caroline like?", ["Caroline"]),
        ("Why does Dave regularly visit parks?", ["Dave"]),
        ("When did I go to Boston?", ["Boston"]),
        ("What is Melanie's dog called?", ["Melanie"]),
        ("What is Melanie’s dog called?", ["Melanie"]),
        ("Did Jon and Gina meet, and did Jon call?", ["Jon", "Gina"]),
        ("I'm going with Anna. Is that ok with Mum?", ["Anna", "Mum"]),
        ("what did the vet say about Sparky", ["Sparky"]),
        ("What did Mary-Kate bring?", ["Mary-Kate"]),
        ("What did Mary-Kate and Ashley Olsen bring?", ["Mary-Kate", "Ashley", "Olsen"]),
        ("What LGBTQ events did Caroline go to?", ["LGBTQ", "Caroline"]),
    ],
)
def test_a_question_gives_the_names_written_with_a_capital(query: str, names: list[str]) -> None:
    assert names_in(query) == names


@pytest.mark.parametrize(
    "query",
    [
        "what does caroline like",  # typed in lower case: nobody is named
        "Sparky ate what?",  # the first word of a sentence is capitalised whatever it is
        "Where did we go? Dinner was late.",
        "What did I do on Saturday in May?",  # days and months are when.py's
        "Did I tell you? I think I did",
        '"Wow" was all I said',
        "WHAT DID ANNA SAY ABOUT THE WEDDING",  # shouting: every word has capitals
        "What Did Anna Say About The Wedding?",  # Title Case: so does every word
    ],
)
def test_words_capitalised_for_other_reasons_are_no_names(query: str) -> None:
    assert names_in(query) == []
