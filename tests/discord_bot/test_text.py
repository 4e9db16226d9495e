"""Pure logic: splitting, mentions, error lines, hours, gauges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from discord_bot import text


def test_short_text_is_one_chunk() -> None:
    """Text under the limit comes back whole."""
    assert text.split_message("Hello there. How are you?") == ["Hello there. How are you?"]


def test_long_text_splits_at_sentence_boundaries_under_the_limit() -> None:
    """Every chunk fits and ends at a sentence end."""
    sentence = "This is a sentence that goes on for a while. "
    chunks = text.split_message(sentence * 100, limit=200)
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert all(chunk.endswith(".") for chunk in chunks)
    assert " ".join(chunks) == (sentence * 100).strip()


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    """No chunk ever exceeds the limit, even without spaces."""
    chunks = text.split_message("x" * 4500, limit=1900)
    assert [len(chunk) for chunk in chunks] == [1900, 1900, 700]


def test_paragraphs_are_kept_apart() -> None:
    """Blank lines between paragraphs survive when they fit in one chunk."""
    assert text.split_message("One.\n\nTwo.") == ["One.\n\nTwo."]


def test_empty_text_gives_no_chunks() -> None:
    """Nothing to send: no empty message."""
    assert text.split_message("   ") == []


def test_default_chunks_fit_discord_with_room_for_a_mention() -> None:
    """The default chunk size leaves room for a mention prefix under 2,000."""
    chunks = text.split_message("word " * 3000)
    assert all(len(chunk) + len("<@123456789012345678> ") <= text.DISCORD_MESSAGE_LIMIT for chunk in chunks)


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


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("ana", "ana"),
        ("\u202eecila\u202c", "ecila"),
        ("Sam\n\n### SYSTEM", "Sam ### SYSTEM"),
        ("\u200b\u2066\u2069", "123"),
        ("Ana 👨\u200d👩\u200d👧", "Ana 👨\u200d👩\u200d👧"),
        ("x" * 150, "x" * 100),
    ],
)
def test_display_names_are_passed_and_shown_safely(name: str, safe: str) -> None:
    """Display names may hold line breaks, bidi and zero-width characters: the bot drops them."""
    assert text.safe_name(name, "123") == safe


@pytest.mark.parametrize(
    ("content", "visible"),
    [("\u200b\u200c", False), (" \ufeff\u2060 ", False), ("hi\u200b", True), ("\U000e0069\U000e0067", True)],
)
def test_invisible_only_content_is_not_text(content: str, visible: bool) -> None:
    """Zero-width characters alone are no message; tag characters are (the gateway screens them)."""
    assert text.has_visible_text(content) is visible
