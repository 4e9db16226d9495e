"""The project-authored injection corpus (the semantic bank and the fusion's own training source): deterministic,
in its target sizes, without duplicates, every family and language on its side, lengths on both sides, and
groups that never mix labels. Pure function, no services."""

from __future__ import annotations

from collections import Counter

import pytest

from gateway.security.corpus import ATTACK_FAMILIES, BENIGN_FAMILIES, LANGUAGES, MAX_CHARS, SOURCE, Row, rows


@pytest.fixture(scope="module")
def corpus() -> list[Row]:
    return rows()


def _family(row: Row) -> str:
    return row.group.split("/")[1]


def test_rows_are_deterministic(corpus: list[Row]) -> None:
    assert rows() == corpus


def test_sizes_are_in_the_target_ranges(corpus: list[Row]) -> None:
    attacks = sum(row.attack for row in corpus)
    benign = len(corpus) - attacks
    assert 1_300 <= attacks <= 1_700
    assert 1_800 <= benign <= 2_200


def test_every_row_has_the_source_and_a_well_formed_group(corpus: list[Row]) -> None:
    for row in corpus:
        assert row.source == SOURCE
        label, family, idea = row.group.split("/")
        assert label == ("attack" if row.attack else "benign")
        assert family in (ATTACK_FAMILIES if row.attack else BENIGN_FAMILIES)
        assert idea


def test_no_duplicate_texts_after_folding_case_and_whitespace(corpus: list[Row]) -> None:
    keys = Counter(" ".join(row.text.lower().split()) for row in corpus)
    assert [key for key, n in keys.items() if n > 1] == []


def test_every_family_is_present_on_its_side(corpus: list[Row]) -> None:
    attack = Counter(_family(row) for row in corpus if row.attack)
    benign = Counter(_family(row) for row in corpus if not row.attack)
    assert set(attack) == set(ATTACK_FAMILIES)
    assert set(benign) == set(BENIGN_FAMILIES)
    assert min(attack.values()) >= 20
    assert min(benign.values()) >= 20


def test_every_language_is_present_on_both_sides(corpus: list[Row]) -> None:
    attack_groups = {row.group for row in corpus if row.attack}
    benign_groups = {row.group for row in corpus if not row.attack}
    for lang in LANGUAGES:
        assert f"attack/multilingual/{lang}" in attack_groups
        assert f"benign/language/foreign_{lang}" in benign_groups
    multilingual = [row for row in corpus if row.attack and _family(row) == "multilingual"]
    assert len(multilingual) >= 150


def test_texts_are_bounded_and_not_blank(corpus: list[Row]) -> None:
    for row in corpus:
        assert row.text.strip() == row.text
        assert 0 < len(row.text) <= MAX_CHARS


@pytest.mark.parametrize("attack", [True, False])
def test_both_labels_have_long_and_short_texts(corpus: list[Row], attack: bool) -> None:
    texts = [row.text for row in corpus if row.attack is attack]
    assert sum(len(text) > 400 for text in texts) >= 50
    assert sum(len(text) < 40 for text in texts) >= 20


def test_long_invented_jailbreaks(corpus: list[Row]) -> None:
    long_persona = [row for row in corpus if row.attack and _family(row) == "persona" and len(row.text) > 400]
    assert len(long_persona) >= 150


def test_groups_never_mix_labels(corpus: list[Row]) -> None:
    labels: dict[str, set[bool]] = {}
    for row in corpus:
        labels.setdefault(row.group, set()).add(row.attack)
    assert all(len(seen) == 1 for seen in labels.values())


def test_surface_features_appear_on_both_sides(corpus: list[Row]) -> None:
    """Code blocks, JSON, URLs, trigger words and non-Latin scripts are no cue to the label on their own."""
    cues = {
        "code block": lambda text: "```" in text,
        "json": lambda text: '{"' in text or '": ' in text,
        "url": lambda text: "https://" in text or "http://" in text,
        "ignore": lambda text: "ignore" in text.lower(),
        "forget": lambda text: "forget" in text.lower(),
        "remember": lambda text: "remember" in text.lower(),
        "pretend": lambda text: "pretend" in text.lower(),
        "system": lambda text: "system" in text.lower(),
        "admin": lambda text: "admin" in text.lower(),
        "instructions": lambda text: "instructions" in text.lower(),
        "non-latin": lambda text: any(ord(ch) > 0x370 and ch.isalpha() for ch in text),
    }
    for name, has in cues.items():
        for attack in (True, False):
            assert any(has(row.text) for row in corpus if row.attack is attack), (name, attack)
