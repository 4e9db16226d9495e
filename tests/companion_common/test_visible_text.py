"""What a person sees of a user's text: the rules the bot and the gateway share."""

from __future__ import annotations

import pytest

from companion_common.visible_text import clean_name, is_invisible_only


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
    """Display names may hold line breaks, bidi and zero-width characters: they are dropped."""
    assert clean_name(name, "123") == safe


@pytest.mark.parametrize(
    ("content", "visible"),
    [("\u200b\u200c", False), (" \ufeff\u2060 ", False), ("hi\u200b", True), ("\U000e0069\U000e0067", True)],
)
def test_invisible_only_content_is_not_text(content: str, visible: bool) -> None:
    """Zero-width characters alone are no message; tag characters are (the gateway screens them)."""
    assert is_invisible_only(content) is not visible
