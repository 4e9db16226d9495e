"""Pure logic: splitting, mentions, error lines, hours, gauges."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discord_bot import text

EXAMPLE_REPLY = (
    'You told me: "Sparky chewed my shoe!" That made me laugh. (Puppies do that.) Try this:\n'
    "- a chew toy.\n- a firm no."
)


def test_short_text_is_one_chunk() -> None:
    """Text under the limit comes back whole."""
    assert text.split_message("Hello there. How are you?") == ["Hello there. How are you?"]


def test_a_reply_with_quotes_brackets_and_a_list_arrives_unchanged() -> None:
    """Closing quotes, brackets and line breaks in a short reply are not touched."""
    assert text.split_message(EXAMPLE_REPLY) == [EXAMPLE_REPLY]


def test_short_text_keeps_its_line_breaks_code_and_edges() -> None:
    """A reply that fits is sent byte for byte, whitespace at its ends included."""
    reply = "\nSteps:\n\n1. one\n   2. two\n```py\nprint( 'x' )\n```\n"
    assert text.split_message(reply) == [reply]


def test_long_text_splits_at_sentence_boundaries_under_the_limit() -> None:
    """Every chunk fits, ends at a sentence end, and the chunks join back to the text."""
    sentence = "This is a sentence that goes on for a while. "
    chunks = text.split_message(sentence * 100, limit=200)
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert all(chunk.endswith(". ") for chunk in chunks)
    assert "".join(chunks) == sentence * 100


def test_long_text_splits_at_paragraphs_then_lines_before_sentences() -> None:
    """A paragraph break wins over a later line break, which wins over a later sentence end."""
    reply = "Para one.\n\nLine a\nLine b. More words here"
    assert text.split_message(reply, limit=25) == ["Para one.\n\n", "Line a\n", "Line b. More words here"]


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    """No chunk ever exceeds the limit, even without spaces."""
    chunks = text.split_message("x" * 4500, limit=1900)
    assert [len(chunk) for chunk in chunks] == [1900, 1900, 700]


def test_paragraphs_are_kept_apart() -> None:
    """Blank lines between paragraphs survive when they fit in one chunk."""
    assert text.split_message("One.\n\nTwo.") == ["One.\n\nTwo."]


def test_a_long_code_block_is_closed_and_reopened_with_its_language() -> None:
    """Each message of a split code block renders as code in the same language."""
    code = "".join(f"print({n})\n" for n in range(40))
    reply = f"Here it is:\n```python\n{code}```\nDone."
    chunks = text.split_message(reply, limit=120)
    assert chunks[0] == "Here it is:\n"
    for chunk in chunks[1:]:
        assert len(chunk) <= 120
        assert chunk.startswith("```python\n")
        assert chunk.count("```") == 2
    assert chunks[-1].endswith("```\nDone.")
    code_lines = "".join(chunk.removeprefix("```python\n").split("```")[0] for chunk in chunks[1:])
    assert code_lines == code


def test_a_code_block_that_fits_is_not_cut() -> None:
    """A cut lands before a code block rather than inside it when the block fits in the next message."""
    code = "```js\nlet a = 1;\nlet b = 2;\n```"
    reply = "Some words before it. " * 3 + code
    assert text.split_message(reply, limit=80) == ["Some words before it. " * 3, code]


def test_empty_text_gives_no_chunks() -> None:
    """Nothing to send: no empty message."""
    assert text.split_message("   ") == []
    assert text.split_message("") == []


def test_default_chunks_fit_discord_with_room_for_a_mention() -> None:
    """The default chunk size leaves room for a mention prefix under 2,000."""
    chunks = text.split_message("word " * 3000)
    assert all(len(chunk) + len("<@123456789012345678> ") <= text.DISCORD_MESSAGE_LIMIT for chunk in chunks)


# --- split_message, property-tested ---------------------------------------------------------------------

_words = st.text(
    alphabet=st.characters(
        # A word has no whitespace (every character str.isspace() accepts is a control or a separator) and
        # no backtick (code fences are generated apart).
        blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
        blacklist_characters="`",
    ),
    min_size=1,
    max_size=30,
) | st.sampled_from(
    ["Sparky", "laugh.", "that.)", 'shoe!"', "(Puppies", "“quoted”", "é", "👨\u200d👩\u200d👧", "x" * 90]
)
_lines = st.lists(_words, min_size=1, max_size=12).map(" ".join)
_list_items = st.lists(_lines, min_size=1, max_size=4).map(
    lambda items: "".join(f"- {item}\n" for item in items)
)
_code = st.tuples(st.sampled_from(["", "py", "c++", "sh"]), st.lists(_lines, min_size=1, max_size=8)).map(
    lambda block: f"```{block[0]}\n" + "\n".join(block[1]) + "\n```"
)
_prose = st.one_of(_lines, _list_items, st.lists(_lines, min_size=1, max_size=4).map("\n".join))
_separators = st.sampled_from(["\n\n", "\n", " ", "\n\n\n", "\n \n"])


def _texts_of(paragraphs: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(st.tuples(paragraphs, _separators), min_size=1, max_size=12).map(
        lambda parts: "".join(paragraph + separator for paragraph, separator in parts)
    )


_texts = _texts_of(st.one_of(_prose, _code))


def _without_whitespace(value: str) -> str:
    return "".join(value.split())


def _fence_free_rejoin(source: str, chunks: list[str]) -> bool:
    """The chunks are consecutive slices of ``source``, with at most whitespace left out between them."""
    position = 0
    for chunk in chunks:
        while not source.startswith(chunk, position):
            if position >= len(source) or not source[position].isspace():
                return False
            position += 1
        position += len(chunk)
    return source[position:].strip() == ""


@given(source=_texts, limit=st.integers(min_value=1, max_value=400))
@settings(max_examples=150, deadline=None)
def test_split_chunks_fit_are_never_blank_and_keep_everything(source: str, limit: int) -> None:
    """Every message fits, shows something, and together they show the whole reply in order."""
    chunks = text.split_message(source, limit=limit)
    assert all(0 < len(chunk) <= limit and chunk.strip() for chunk in chunks)
    if len(source) <= limit:
        assert chunks == [source]
    if "```" not in source:
        assert _fence_free_rejoin(source, chunks)
    elif limit >= len("```c++\n") + len("x\n```"):  # room to reopen and close the longest language here
        assert all(chunk.count("```") % 2 == 0 for chunk in chunks)
        fences = re.compile(r"```[A-Za-z0-9_+\-.#]*")
        shown = _without_whitespace(fences.sub("", "".join(chunks)))
        assert shown == _without_whitespace(fences.sub("", source))


@given(source=_texts_of(_prose), limit=st.integers(min_value=20, max_value=400))
@settings(max_examples=100, deadline=None)
def test_split_text_without_code_joins_back_exactly(source: str, limit: int) -> None:
    """Lists, line breaks, quotes and brackets all survive: the chunks join back to the reply (at most the
    whitespace after its last word may be left out)."""
    joined = "".join(text.split_message(source, limit=limit))
    assert source.startswith(joined)
    assert source[len(joined) :].strip() == ""


@given(limit=st.integers(min_value=2, max_value=60))
def test_the_example_reply_splits_at_its_own_boundaries(limit: int) -> None:
    """Split small, the example still joins back exactly and never loses a quote or bracket."""
    chunks = text.split_message(EXAMPLE_REPLY, limit=limit)
    assert all(0 < len(chunk) <= limit for chunk in chunks)
    assert "".join(chunks) == EXAMPLE_REPLY


def test_mentions_of_the_bot_are_stripped() -> None:
    """Both mention forms disappear, other text stays."""
    assert text.strip_mentions("<@42> hi <@!42> there <@7>", 42) == "hi  there <@7>"


def test_rate_limited_line_says_how_long() -> None:
    """The wait is shown in whole seconds."""
    assert "12 seconds" in text.rate_limited(11.6)
    assert "1 second " in text.rate_limited(0.2)
    assert "moment" in text.rate_limited(None)


def test_footers_for_offline_and_restricted_replies() -> None:
    """Offline replies that don't say so get a note; restricted users get a note; suspension none."""
    assert "offline mode" in text.compose_reply("hi", offline=True)
    assert text.compose_reply("hi (I'm in offline mode right now)", offline=True).count("offline mode") == 1
    assert "short" in text.compose_reply("hi", restricted=True, escalation_level=2)
    until = datetime(2030, 1, 1, tzinfo=UTC)
    assert (
        text.compose_reply("Taking a break.", escalation_level=3, suspended_until=until) == "Taking a break."
    )


@pytest.mark.parametrize(("raw", "hour"), [("22", 22), ("22:00", 22), ("10pm", 22), ("12am", 0), ("7", 7)])
def test_hours_parse(raw: str, hour: int) -> None:
    """Quiet hours accept 24 h and am/pm forms."""
    assert text.parse_hour(raw) == hour


@pytest.mark.parametrize("raw", ["25", "teatime", "13pm", "22:30"])
def test_bad_hours_are_refused(raw: str) -> None:
    """Anything not a whole hour is a ValueError with a hint."""
    with pytest.raises(ValueError):
        text.parse_hour(raw)


def test_bar_and_page_bounds() -> None:
    """Gauges are clamped; pages are clamped to what exists."""
    assert text.bar(1.0) == "▰" * 10
    assert text.bar(-5.0) == "▱" * 10
    assert text.page_bounds(12, 5, 5) == (2, 10, 3)
    assert text.page_bounds(0, 0, 5) == (0, 0, 1)
