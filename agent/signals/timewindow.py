"""The time window a ticket's problem lives in, from its words ("since this morning", "2 hours
ago", "last Tuesday", a pasted log timestamp), relative to the ticket's ``created_at`` in UTC."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from casefile.agent.timewords import in_english

__all__ = ["DEFAULT_WINDOW", "MAX_WINDOW", "MIN_WINDOW", "extract_time_window"]

DEFAULT_WINDOW = timedelta(hours=24)
MIN_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=30)


_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "few": 3, "a few": 3,
    "couple": 2, "a couple": 2, "a couple of": 2, "couple of": 2, "several": 3,
}  # fmt: skip
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

_ONSET = (
    r"(?P<onset>\b(?:since|from|starting|started|start|began|begun|beginning|as of|after|ever since)[ \t]+)?"
)
_N = (
    r"(?P<n>\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|(?:a[ \t]+)?few|(?:a[ \t]+)?couple(?:[ \t]+of)?|several)"
)
_UNIT = r"(?P<unit>min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|weeks?)"
_CLOCK = (
    r"(?P<h>[01]?\d|2[0-3])(?::(?P<m>[0-5]\d))?[ \t]*(?P<ampm>[ap]\.?m\.?)?(?=[\s,.;)]|$)"
    r"(?:[ \t]*(?:utc|gmt|z)\b)?"
)
_MONTH = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"


@dataclass(frozen=True)
class _Candidate:
    rank: int  # 1: says when it started ("since …", "for the past …"); 2: a bare mention; 3: a log timestamp
    pos: int
    start: datetime
    phrase: str


def _day(created: datetime, days_back: int = 0, hour: int = 0, minute: int = 0) -> datetime:
    d = created.date() - timedelta(days=days_back)
    return datetime.combine(d, time(hour, minute), tzinfo=UTC)


def _clock(m: re.Match[str]) -> tuple[int, int] | None:
    if m.group("h") is None:
        return None
    hour, minute, ampm = int(m.group("h")), int(m.group("m") or 0), m.group("ampm")
    if ampm is None and m.group("m") is None:
        return None  # "at 3" could be anything
    if ampm:
        if hour > 12:
            return None
        hour = hour % 12 + (12 if ampm.lower().startswith("p") else 0)
    return hour, minute


def _n(value: str | None) -> int:
    if value is None:
        return 1
    key = " ".join(value.lower().split())
    return int(key) if key.isdigit() else _NUMBER_WORDS.get(key, 1)


def _h_today(m: re.Match[str], created: datetime) -> datetime | None:
    part = (m.group("part") or m.group("part2") or "").lower()
    clock = _clock(m)
    if clock:
        return _day(created, 0, *clock)
    return _day(created, 0, {"afternoon": 12, "evening": 17, "tonight": 17}.get(part, 0))


def _h_yesterday(m: re.Match[str], created: datetime) -> datetime | None:
    clock = _clock(m)
    return _day(created, 1, *clock) if clock else _day(created, 1)


def _h_last_night(m: re.Match[str], created: datetime) -> datetime | None:
    return _day(created, 1, 18)


def _h_duration(m: re.Match[str], created: datetime) -> datetime | None:
    n, unit = _n(m.group("n")), m.group("unit").lower()
    if unit.startswith("m"):
        return created - timedelta(minutes=n)
    if unit.startswith("h"):
        return created - timedelta(hours=n)
    days = n * 7 if unit.startswith("w") else n
    return _day(created, days)


def _h_vague_days(m: re.Match[str], created: datetime) -> datetime | None:
    return _day(created, 14 if "week" in m.group(0).lower() else 3)


def _h_weekday(m: re.Match[str], created: datetime) -> datetime | None:
    target = _WEEKDAYS.index(m.group("wd").lower())
    back = (created.weekday() - target) % 7
    # "since Monday" written on a Monday means the previous one: they would say "this morning".
    return _day(created, back or 7)


def _h_weekend(m: re.Match[str], created: datetime) -> datetime | None:
    back = (created.weekday() - 5) % 7
    return _day(created, back or 7)


def _h_week(m: re.Match[str], created: datetime) -> datetime | None:
    back = created.weekday() + (7 if "last" in m.group(0).lower() else 0)
    return _day(created, back)


def _h_clock_today(m: re.Match[str], created: datetime) -> datetime | None:
    word = (m.group("word") or "").lower()
    clock = (12, 0) if word == "noon" else (0, 0) if word == "midnight" else _clock(m)
    if clock is None:
        return None
    at = _day(created, 0, *clock)
    return at if at <= created else at - timedelta(days=1)


def _date_in_past(created: datetime, year: int | None, month: int, day: int) -> date | None:
    try:
        d = date(year or created.year, month, day)
    except ValueError:
        return None
    if year is None and d > created.date():
        try:
            d = date(created.year - 1, month, day)
        except ValueError:
            return None
    return d


def _h_iso(m: re.Match[str], created: datetime) -> datetime | None:
    d = _date_in_past(created, int(m.group("y")), int(m.group("mo")), int(m.group("d")))
    if d is None:
        return None
    clock = _clock(m) if m.group("h") else None
    seconds = int(m.group("s") or 0) if clock else 0
    return datetime.combine(d, time(*clock, seconds) if clock else time(0), tzinfo=UTC)


def _h_month_day(m: re.Match[str], created: datetime) -> datetime | None:
    # Two spellings share the rule: "18 November" (mon, d) and "Nov 18th" (mon2, d2).
    month = (m.group("mon") or m.group("mon2")).lower()[:3]
    day = int(m.group("d") or m.group("d2"))
    year = int(m.group("y")) if m.group("y") else None
    d = _date_in_past(created, year, _MONTHS[month], day)
    return datetime.combine(d, time(0), tzinfo=UTC) if d else None


_Handler = Callable[[re.Match[str], datetime], datetime | None]
_TIME_RULES: list[tuple[re.Pattern[str], _Handler, bool]] = [
    # (pattern, handler, inherently an onset: durations and "… ago" say when it began)
    (
        re.compile(
            _ONSET + r"\b(?:(?:early[ \t]+)?this[ \t]+(?P<part>morning|afternoon|evening)|earlier[ \t]+today"
            r"|(?P<part2>today|tonight))(?:[ \t]+(?:at|around|about|from|since)[ \t]+(?:~[ \t]*)?"
            + _CLOCK
            + ")?",
            re.IGNORECASE,
        ),
        _h_today,
        False,
    ),
    (
        re.compile(
            _ONSET + r"\byesterday(?:[ \t]+(?:morning|afternoon|evening|night))?"
            r"(?:[ \t]+(?:at|around|about|from)[ \t]+(?:~[ \t]*)?" + _CLOCK + ")?",
            re.IGNORECASE,
        ),
        _h_yesterday,
        False,
    ),
    (re.compile(_ONSET + r"\b(?:last[ \t]+night|overnight)\b", re.IGNORECASE), _h_last_night, False),
    (
        re.compile(
            r"\b(?:(?:for|in|over|during|within)[ \t]+)?(?:the[ \t]+)?(?:past|last)[ \t]+(?:"
            + _N
            + r"[ \t]+)?"
            + _UNIT
            + r"\b",
            re.IGNORECASE,
        ),
        _h_duration,
        True,
    ),
    (re.compile(r"\b" + _N + r"[ \t]+" + _UNIT + r"[ \t]+ago\b", re.IGNORECASE), _h_duration, True),
    (
        re.compile(r"\bfor[ \t]+(?:about[ \t]+|over[ \t]+)?" + _N + r"[ \t]+" + _UNIT + r"\b", re.IGNORECASE),
        _h_duration,
        True,
    ),
    (re.compile(r"\b(?:for|since)[ \t]+(?:days|weeks|a[ \t]+while)\b", re.IGNORECASE), _h_vague_days, True),
    (
        re.compile(
            r"(?P<onset>\b(?:since|from|starting|started|began|as of|after|on|last|this past)[ \t]+)?"
            r"\b(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b",
            re.IGNORECASE,
        ),
        _h_weekday,
        False,
    ),
    (re.compile(_ONSET + r"\b(?:over[ \t]+)?the[ \t]+weekend\b", re.IGNORECASE), _h_weekend, False),
    (re.compile(_ONSET + r"\b(?:this|last)[ \t]+week\b", re.IGNORECASE), _h_week, False),
    (
        re.compile(
            r"(?P<onset>\b(?:since|from|starting(?:[ \t]+at)?|started[ \t]+at|began[ \t]+at|after|as of)"
            r"[ \t]+)"
            r"(?:about[ \t]+|around[ \t]+|~[ \t]*)?(?:(?P<word>noon|midnight)|" + _CLOCK + ")",
            re.IGNORECASE,
        ),
        _h_clock_today,
        True,
    ),
    (
        re.compile(
            r"(?P<onset>\b(?:since|from|starting|started|began|as of|after|on)[ \t]+)?"
            r"(?<![\w.:/-])(?P<y>20\d\d)-(?P<mo>[01]\d)-(?P<d>[0-3]\d)"
            r"(?:[T \t](?:" + _CLOCK.replace("(?=[\\s,.;)]|$)", "(?::(?P<s>\\d\\d)(?:\\.\\d+)?)?") + r"))?",
            re.IGNORECASE,
        ),
        _h_iso,
        False,
    ),
    (
        re.compile(
            r"(?P<onset>\b(?:since|from|starting|started|began|as of|after|on)[ \t]+)"
            r"(?:(?:the[ \t]+)?(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?:[ \t]+of)?[ \t]+"
            + _MONTH.replace("(?P<mon>", "(?P<mon>")
            + r"|"
            + _MONTH.replace("(?P<mon>", "(?P<mon2>")
            + r"[ \t]+(?P<d2>[0-3]?\d)(?:st|nd|rd|th)?)"
            r"(?:,?[ \t]+(?P<y>20\d\d))?\b",
            re.IGNORECASE,
        ),
        _h_month_day,
        False,
    ),
]


def extract_time_window(text: str, created_at: datetime) -> tuple[str | None, datetime, datetime]:
    """``(phrase, window_start, window_end)``: when the problem started, relative to ``created_at``.

    Phrases that say when it began ("since this morning", "for the past 3 hours",
    "2 hours ago") beat bare mentions ("yesterday"), which beat timestamps pasted
    from logs; among equals the first in the text wins (the subject comes first).
    Without any, the window is the 24 hours before the ticket.
    """
    created = created_at.astimezone(UTC)
    text = in_english(text)  # "10 Uhr", "10h30" as "10:00", "10:30" (words: read by phrasebook.reading)
    candidates: list[_Candidate] = []
    for pattern, handler, inherent_onset in _TIME_RULES:
        for m in pattern.finditer(text):
            start = handler(m, created)
            if start is None or start >= created:
                continue
            onset = inherent_onset or bool(m.groupdict().get("onset"))
            is_log_stamp = handler is _h_iso and not onset
            rank = 3 if is_log_stamp else 1 if onset else 2
            candidates.append(_Candidate(rank, m.start(), start, " ".join(m.group(0).split())))
    if not candidates:
        return None, created - DEFAULT_WINDOW, created
    if all(c.rank == 3 for c in candidates):
        best = min(candidates, key=lambda c: (c.start, c.pos))  # the earliest logged moment
    else:
        best = min(candidates, key=lambda c: (c.rank, c.pos))
    start = min(best.start, created - MIN_WINDOW)
    start = max(start, created - MAX_WINDOW)
    return best.phrase, start, created
