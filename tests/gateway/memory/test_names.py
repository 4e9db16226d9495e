"""The names a recall question gives."""

from __future__ import annotations

import pytest

from gateway.memory.names import maybe_names, names_in, written_as_names


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


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("what does caroline like", ["what", "does", "caroline", "like"]),
        ("What is melanie's dog called?", ["what", "is", "melanie", "dog", "called"]),
        ("WHAT DID ANNA SAY", ["what", "did", "anna", "say"]),
        ("What Did Anna Say About The Wedding?", ["what", "did", "anna", "say", "about", "the", "wedding"]),
        ("did i tell you? ok", ["did", "tell", "you"]),
        ("What does Caroline like?", []),  # its capitals name her: names_in has her
    ],
)
def test_a_question_whose_capitals_name_nobody_leaves_its_words_open(query: str, words: list[str]) -> None:
    assert maybe_names(query) == words


MEMORIES = [
    "Had lunch with Anna today, she loves lasagna",
    "Anna says hi",  # first in a sentence: says nothing either way
    "I told Anna about the bank",
    "the bank closed early again",
    "Went to the Bank of England museum",  # once capitalised, more often not: not a name
    "walked to the bank with Anna",
    "THE BANK WAS PACKED",  # shouting says nothing
    "Met Sparky's vet. Sparky is fine",
]


@pytest.mark.parametrize(
    ("words", "names"),
    [
        (["anna", "bank", "lunch"], ["anna"]),
        (["sparky"], []),  # capitalised inside a sentence once only (then first in one)
        (["says", "hi"], []),
        (["england"], []),  # once is not enough
    ],
)
def test_a_word_is_a_name_when_the_memories_write_it_like_one(words: list[str], names: list[str]) -> None:
    assert written_as_names(words, MEMORIES) == names


def test_a_word_seldom_written_with_a_capital_is_no_name() -> None:
    texts = ["I love Summer", "Summer is here, said Tom", "we met last summer", "that summer rocked"]
    assert written_as_names(["summer"], texts) == []
    assert written_as_names(["summer"], ["I love Summer", "Oh, Summer called", "I met Summer"]) == ["summer"]


def test_only_the_whole_word_counts() -> None:
    assert (
        written_as_names(["anna"], ["I met Annabel", "We saw Annabel", "Ask Anna-Maria", "ask Anna-Maria"])
        == []
    )
    assert written_as_names(["anna"], ["Thanks, Anna's mum called", "Oh Anna’s here", "the annals"]) == [
        "anna"
    ]
