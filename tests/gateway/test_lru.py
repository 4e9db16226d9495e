"""The bounded cache the gateway keeps per-user speed-ups in: it never holds more than its capacity, and it
forgets the entry used longest ago."""

from __future__ import annotations

import pytest

from gateway.lru import LRUCache


def test_it_never_holds_more_than_its_capacity() -> None:
    """Ten thousand users through a cache of 100 leave 100 entries: the last ones."""
    cache: LRUCache[str, int] = LRUCache(100)
    for n in range(10_000):
        cache[f"user-{n}"] = n
    assert len(cache) == 100
    assert "user-9999" in cache and "user-9899" not in cache


def test_reading_an_entry_keeps_it_longer() -> None:
    """The entry read most recently survives; the one untouched longest goes first."""
    cache: LRUCache[str, int] = LRUCache(2)
    cache["a"], cache["b"] = 1, 2
    assert cache.get("a") == 1
    cache["c"] = 3
    assert "a" in cache and "b" not in cache and cache.get("c") == 3


def test_pop_and_a_miss_answer_none() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache["a"] = 1
    assert cache.pop("a") == 1 and cache.pop("a") is None and cache.get("a") is None


def test_a_cache_without_room_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LRUCache(0)
