"""The time a recall query names ("last week", "in May", "on 13 October 2023", "two days ago"), resolved
against ``now`` into a span of days, and how well a memory's date fits it.

English only, and only expressions that name a span: "recently" or "a while ago" name none. A month without a
year is the last such month that began before ``now`` ("in May", asked in March, is last year's May), and
counts only after a preposition ("in May", "since June", "last April"), so "I may go" and "What did June
say?" name no time.
Seasons are the northern hemisphere's meteorological ones (summer: June to August).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # first month; three months each
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a few": 3, "couple of": 2, "few": 3,
}  # fmt: skip
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}

# How a memory's date fits a span: what is said about a span is often said a little after it ("we went
# camping last week"), and plans a little before it.
REPORTED_AFTER = timedelta(days=7)  # said up to a week after the span: a full fit
FADES_AFTER = timedelta(days=28)  # then fading to no fit four weeks after
PLANNED_BEFORE = timedelta(days=7)  # fading in over the week before the span

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_AMBIGUOUS_MONTHS = {"may", "mar", "march", "aug", "august", "jan", "sep", "sept", "dec", "oct", "nov"}
_YEAR = r"(?:19|20)\d\d"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_NUMBER = "|".join(sorted((re.escape(n) for n in NUMBERS), key=len, reverse=True))
_PREPOSITION = r"(?:in|during|since|until|till|by|of|on|early|late|mid|last|this|next|before|after)"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("iso", rf"\b(?P<year>{_YEAR})-(?P<month>0?[1-9]|1[0-2])-(?P<day>0?[1-9]|[12]\d|3[01])\b"),
        ("day_month_year", rf"\b(?P<day>{_DAY})(?:\s+of)?\s+(?P<month>{_MONTH})\.?,?\s+(?P<year>{_YEAR})\b"),
        ("month_day_year", rf"\b(?P<month>{_MONTH})\.?\s+(?P<day>{_DAY}),?\s+(?P<year>{_YEAR})\b"),
        ("month_year", rf"\b(?P<month>{_MONTH})\.?,?\s+(?:of\s+)?(?P<year>{_YEAR})\b"),
        ("season_year", rf"\b(?P<season>spring|summer|autumn|fall|winter)\s+(?:of\s+)?(?P<year>{_YEAR})\b"),
        ("day_month", rf"\b(?P<day>{_DAY})(?:\s+of)?\s+(?P<month>{_MONTH})\b"),
        ("month_day", rf"\b(?P<month>{_MONTH})\.?\s+(?P<day>{_DAY})\b(?!\s*(?::|[ap]\.?m\b))"),
        (
            "relative_day",
            r"\b(?P<word>the day before yesterday|yesterday|today|tonight|last night|this morning)\b",
        ),
        ("ago", rf"\b(?P<count>\d{{1,3}}|{_NUMBER})\s+(?P<unit>day|week|month|year)s?\s+ago\b"),
        (
            "which_unit",
            r"\b(?P<which>last|this|next|past|earlier this)\s+(?P<unit>week|weekend|month|year)\b",
        ),
        ("which_season", r"\b(?P<which>last|this|next)\s+(?P<season>spring|summer|autumn|fall|winter)\b"),
        ("weekday", rf"\b(?:(?P<which>last|this|on)\s+)(?P<weekday>{'|'.join(WEEKDAYS)})\b"),
        ("month", rf"\b(?:(?P<prep>{_PREPOSITION})\s+)?(?P<month>{_MONTH})\b(?!\s*\d)"),
        ("year", rf"\b(?:in|during|since|of|from)\s+(?P<year>{_YEAR})\b"),
    )
)


@dataclass(frozen=True)
class Span:
    """[start, end): the days a query names, and the words that named them."""

    start: datetime
    end: datetime
    text: str


def _day(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:  # 31 February
        return None


def _month_span(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _last_month_named(month: int, now: datetime) -> tuple[datetime, datetime]:
    """The last ``month`` that began on or before ``now``."""
    year = now.year if month <= now.month else now.year - 1
    return _month_span(year, month)


def _season(season: str, year: int) -> tuple[datetime, datetime]:
    first = SEASONS[season]
    start = datetime(year, first, 1, tzinfo=UTC)
    end_year, end_month = (year + 1, 3) if first == 12 else (year, first + 3)
    return start, datetime(end_year, end_month, 1, tzinfo=UTC)


def _number(text: str) -> int:
    text = " ".join(text.lower().split())
    return int(text) if text.isdigit() else NUMBERS[text]


def _resolve(name: str, match: re.Match[str], today: datetime) -> tuple[datetime, datetime] | None:
    groups = {key: value for key, value in match.groupdict().items() if value is not None}
    day = int(re.sub(r"\D", "", groups["day"])) if "day" in groups else None
    month = groups.get("month", "")
    month_number = (int(month) if month.isdigit() else MONTHS[month.lower()]) if month else None
    year = int(groups["year"]) if "year" in groups else None
    if name in ("iso", "day_month_year", "month_day_year"):
        assert year is not None and month_number is not None and day is not None
        start = _day(year, month_number, day)
        return None if start is None else (start, start + timedelta(days=1))
    if name == "month_year":
        assert year is not None and month_number is not None
        return _month_span(year, month_number)
    if name == "season_year":
        assert year is not None
        return _season(groups["season"].lower(), year)
    if name in ("day_month", "month_day"):
        assert month_number is not None and day is not None
        if month.islower() and month in _AMBIGUOUS_MONTHS:  # "may 5 of us come?"
            return None
        start = _day(today.year, month_number, day)
        if start is not None and start > today:
            start = _day(today.year - 1, month_number, day)
        return None if start is None else (start, start + timedelta(days=1))
    if name == "relative_day":
        back = {"the day before yesterday": 2, "yesterday": 1, "last night": 1}.get(groups["word"].lower(), 0)
        start = today - timedelta(days=back)
        return start, start + timedelta(days=1)
    if name == "ago":
        days = _number(groups["count"]) * UNIT_DAYS[groups["unit"].lower()]
        slack = max(1, days // 7)  # "three weeks ago" is about a week wide, "two days ago" a day
        middle = today - timedelta(days=days)
        return middle - timedelta(days=slack // 2), middle + timedelta(days=slack - slack // 2 + 1)
    if name == "which_unit":
        return _which_unit(groups["which"].lower(), groups["unit"].lower(), today)
    if name == "which_season":
        which, season = groups["which"].lower(), groups["season"].lower()
        seasons = [_season(season, y) for y in range(today.year - 2, today.year + 2)]
        if which == "last":
            return max(span for span in seasons if span[1] <= today)
        if which == "next":
            return min(span for span in seasons if span[0] > today)
        current = [span for span in seasons if span[0] <= today < span[1]]
        this_year = today.year - (season == "winter" and today.month < 3)
        return current[0] if current else _season(season, this_year)
    if name == "weekday":
        target = WEEKDAYS.index(groups["weekday"].lower())
        back = (today.weekday() - target) % 7 or (7 if groups.get("which", "").lower() == "last" else 0)
        start = today - timedelta(days=back)
        return start, start + timedelta(days=1)
    if name == "month":
        assert month_number is not None
        if "prep" not in groups:
            return None  # "I may go", "May I ask", "What did June say?": a month alone needs "in", "last"...
        return _last_month_named(month_number, today)
    if name == "year":
        assert year is not None
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    return None


STEP = {"last": -1, "past": 0, "this": 0, "earlier this": 0, "next": 1}  # units from the current one


def _which_unit(which: str, unit: str, today: datetime) -> tuple[datetime, datetime]:
    if which == "past" and unit != "weekend":  # "the past week": the last seven days, today included
        return today - timedelta(days=UNIT_DAYS[unit]), today + timedelta(days=1)
    step = STEP[which]
    if unit in ("week", "weekend"):
        start = today - timedelta(days=today.weekday() - 7 * step)  # that week's Monday
        if unit == "weekend":
            start += timedelta(days=5)
            return start, start + timedelta(days=2)
        return start, start + timedelta(days=7)
    if unit == "month":
        index = today.year * 12 + today.month - 1 + step
        return _month_span(index // 12, index % 12 + 1)
    year = today.year + step
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def spans(query: str, now: datetime) -> list[Span]:
    """Every span of days ``query`` names, resolved against ``now`` (most specific first where two overlap
    in the text: "13 October 2023" is one day, not October nor 2023)."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    taken: list[tuple[int, int]] = []
    found: list[Span] = []
    for name, pattern in _PATTERNS:
        for match in pattern.finditer(query):
            where = match.span()
            if any(where[0] < end and start < where[1] for start, end in taken):
                continue
            resolved = _resolve(name, match, today)
            if resolved is None:
                continue
            taken.append(where)
            found.append(Span(resolved[0], resolved[1], match.group(0)))
    return found


def fit(said_at: datetime, named: Span) -> float:
    """How well a memory said at ``said_at`` fits a span the query names, from 0 to 1: fully when said during
    it or within a week after (a report of it); fading to 0 four weeks after, and over the week before (a
    plan for it)."""
    if said_at < named.start:
        ahead = named.start - said_at
        return max(0.0, 1.0 - ahead / PLANNED_BEFORE)
    late = said_at - named.end
    if late <= REPORTED_AFTER:
        return 1.0
    return max(0.0, 1.0 - (late - REPORTED_AFTER) / (FADES_AFTER - REPORTED_AFTER))


def best_fit(said_at: datetime, named: list[Span]) -> float:
    return max((fit(said_at, span) for span in named), default=0.0)
