"""Time expressions in recall queries, resolved against "now" (a Friday: 20 October 2023, 3 pm)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.memory.when import Span, best_fit, fit, spans

NOW = datetime(2023, 10, 20, 15, 0, tzinfo=UTC)


def days(query: str) -> list[tuple[date, date]]:
    return [(s.start.date(), s.end.date()) for s in spans(query, NOW)]


@pytest.mark.parametrize(
    ("query", "first", "end"),
    [
        ("What painting did she show me on October 13, 2023?", date(2023, 10, 13), date(2023, 10, 14)),
        ("Who did I have dinner with on 3 May 2023?", date(2023, 5, 3), date(2023, 5, 4)),
        ("what did we do on the 13th of October 2023", date(2023, 10, 13), date(2023, 10, 14)),
        ("anything on 2023-02-28?", date(2023, 2, 28), date(2023, 3, 1)),
        ("What did John attend in March 2023?", date(2023, 3, 1), date(2023, 4, 1)),
        ("Where did I go in summer 2021?", date(2021, 6, 1), date(2021, 9, 1)),
        ("When did I go camping in June?", date(2023, 6, 1), date(2023, 7, 1)),
        ("what did I do in December", date(2022, 12, 1), date(2023, 1, 1)),  # the last December begun
        ("how was the trip in 2022?", date(2022, 1, 1), date(2023, 1, 1)),
        ("What did I do last week?", date(2023, 10, 9), date(2023, 10, 16)),
        ("plans for next week", date(2023, 10, 23), date(2023, 10, 30)),
        ("where were we last weekend", date(2023, 10, 14), date(2023, 10, 16)),
        ("what happened last month", date(2023, 9, 1), date(2023, 10, 1)),
        ("anything fun last year?", date(2022, 1, 1), date(2023, 1, 1)),
        ("what did we talk about yesterday", date(2023, 10, 19), date(2023, 10, 20)),
        ("what happened last summer", date(2023, 6, 1), date(2023, 9, 1)),
        ("what did I say on Saturday?", date(2023, 10, 14), date(2023, 10, 15)),
        ("what about last Friday", date(2023, 10, 13), date(2023, 10, 14)),
    ],
)
def test_a_query_names_the_days_it_means(query: str, first: date, end: date) -> None:
    assert days(query) == [(first, end)]


def test_so_many_days_ago_is_a_span_around_that_day() -> None:
    [(first, end)] = days("How did the interview go two days ago?")
    assert first <= date(2023, 10, 18) < end <= date(2023, 10, 20)
    [(first, end)] = days("a few weeks ago we went to the coast")
    assert first <= date(2023, 9, 29) < end and (end - first).days <= 7


@pytest.mark.parametrize(
    "query",
    [
        "I may go to the gym later",
        "May I ask you something personal?",
        "What did June say about the party?",
        "April and I went to the lake",
        "we will march on, together",
        "What's my dog's name?",
        "When did Caroline go to the LGBTQ support group?",
        "I ate 12 cookies and 2023 crumbs",  # a number is not a year without a preposition
        "This is a recent thing",
    ],
)
def test_words_that_name_no_time_are_not_read_as_one(query: str) -> None:
    assert spans(query, NOW) == []


def test_the_most_specific_reading_wins() -> None:
    """ "13 October 2023" is one day, not all of October nor all of 2023."""
    assert days("since 13 October 2023") == [(date(2023, 10, 13), date(2023, 10, 14))]


def test_a_memory_fits_when_said_during_the_span_or_soon_after() -> None:
    june = Span(datetime(2023, 6, 1, tzinfo=UTC), datetime(2023, 7, 1, tzinfo=UTC), "in June")
    assert fit(datetime(2023, 6, 15, tzinfo=UTC), june) == 1.0
    assert fit(datetime(2023, 7, 5, tzinfo=UTC), june) == 1.0  # "we went camping last week"
    assert 0 < fit(datetime(2023, 7, 20, tzinfo=UTC), june) < 1
    assert fit(datetime(2023, 8, 15, tzinfo=UTC), june) == 0.0
    assert 0 < fit(datetime(2023, 5, 28, tzinfo=UTC), june) < 1  # a plan for it
    assert fit(datetime(2023, 3, 1, tzinfo=UTC), june) == 0.0
    assert best_fit(datetime(2023, 6, 15, tzinfo=UTC), []) == 0.0
    assert best_fit(NOW - timedelta(days=1), spans("yesterday or in June", NOW)) == 1.0
