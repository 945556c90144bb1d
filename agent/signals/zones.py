"""Clock times a ticket writes, read in the account's own time zone.

A customer counting their day in their own zone sees our UTC day turn at a clock time of theirs:
at 05:30 in Kolkata, at 02:00 in Jerusalem in winter, at 18:00 in Chicago. A ticket that names that
very time ("from 22:00 the sessions fall on the next day", "the day seems to change at 5:30") beside a
report or an export speaks of where a day is cut, whatever language it is written in: the digits
are its one word we read for certain (``agent/digits.py``), and the account directory's ``timezone``
says which clock times are that turn. A customer reckons the shift either way (their records on
UTC, our report on theirs, or the reverse), so the turn is taken both ways round: UTC+2 cuts at
02:00 or 22:00.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casefile.agent.digits import ascii_digits, clock_times

__all__ = ["day_turns", "in_utc", "names_day_turn", "names_turn_hour"]

_DAY = timedelta(hours=24)


def day_turns(zone: str | None, at: datetime) -> set[str]:
    """The clock times (``H:MM``, zero-padded or not) at which the UTC day turns, seen from ``zone``
    at ``at``, both ways round; none for UTC itself, an unknown zone or none."""
    try:
        offset = ZoneInfo(zone).utcoffset(at) if zone else None
    except (ZoneInfoNotFoundError, ValueError):
        return set()
    if not offset:
        return set()
    turns: set[str] = set()
    for shift in (offset, -offset):
        minutes = int((shift % _DAY).total_seconds()) // 60
        hour, minute = divmod(minutes, 60)
        turns |= {f"{hour}:{minute:02d}", f"{hour:02d}:{minute:02d}"}
    return turns


def names_day_turn(text: str, zone: str | None, at: datetime) -> bool:
    """Whether ``text`` writes a clock time at which the UTC day turns in ``zone`` (:func:`day_turns`)."""
    turns = day_turns(zone, at)
    return bool(turns) and any(t in turns for t in clock_times(text))


# An hour written bare, in any script's digits: not part of a longer number, a clock time, a date, a
# decimal or a share ("9시", "8点", "الساعة ٤", "at 4"; not "10:30", "3.5", "2027-04-06", "40%").
_BARE_HOUR = re.compile(r"(?<![\d:.,/-])(?:[01]?\d|2[0-3])(?![\d:.,/%-])")


def names_turn_hour(text: str, zone: str | None, at: datetime) -> bool:
    """Whether ``text`` writes, bare, the hour at which the UTC day turns in ``zone`` when it turns on the
    hour (Seoul's 9, Dubai's 4 or 20): how a customer whose words we cannot read says "before 9 a.m." in
    any language ("오전 9시 이전", "早上8点以前", "قبل الساعة ٤")."""
    turns = {t for t in day_turns(zone, at) if t.endswith(":00")}
    hours = {int(m.group()) for m in _BARE_HOUR.finditer(ascii_digits(text))}
    return any(f"{hour}:00" in turns for hour in hours)


def in_utc(text: str, zone: str | None, at: datetime) -> list[str]:
    """The clock times ``text`` writes, read as the account's own (``zone``) on the day of ``at`` (the
    day before when that is still to come), in UTC (``HH:MM``), once each, in order; as written (zero-
    padded) without a zone."""
    try:
        tz = ZoneInfo(zone) if zone else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    out: list[str] = []
    for clock in clock_times(text):
        hour, minute = (int(part) for part in clock.split(":"))
        if hour > 23 or minute > 59:
            continue
        if tz is None:
            out.append(f"{hour:02d}:{minute:02d}")
            continue
        local = at.astimezone(tz).replace(hour=hour, minute=minute, second=0, microsecond=0)
        if local > at:
            local -= _DAY
        out.append(local.astimezone(UTC).strftime("%H:%M"))
    return list(dict.fromkeys(out))
