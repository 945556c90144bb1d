"""Numbers as every script writes them, read as ASCII digits.

A customer writing Arabic writes "خطأ ٥٠٣" and "١٠:٣٠", a Persian one "۴۰۳", a Hindi one "५००", a
Thai one "๕๐๓", a Japanese one "５０３" in full width: the same statuses, times and counts as "503"
and "10:30". Every extractor, bug search and comparison reads ASCII digits, so :func:`ascii_digits`
rewrites any decimal digit of Unicode (category ``Nd``) as its ASCII value, and the Arabic decimal and
thousands separators as "." and ",". Nothing else changes: the text keeps its length and its words.

A clock time (``10:30``, and ``30:10``, the same digits laid out right to left) is written the same in
every language: :func:`clock_times` finds them, the names a ticket shares with a bug's title whatever
the words around them (``agent/signals/names.py``).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

__all__ = ["ascii_digits", "clock_times"]

# The Arabic decimal separator and thousands separator.
_SEPARATORS = {"\u066b": ".", "\u066c": ","}


@cache
def _table() -> dict[int, str]:
    """Every non-ASCII decimal digit of Unicode → its ASCII digit (about 700 characters)."""
    table = {ord(k): v for k, v in _SEPARATORS.items()}
    for point in range(128, sys.maxunicode + 1):
        char = chr(point)
        if unicodedata.category(char) == "Nd":
            table[point] = str(unicodedata.decimal(char))
    return table


def ascii_digits(text: str) -> str:
    """``text`` with every script's decimal digits written as ASCII ones ("٥٠٣" → "503")."""
    return text if text.isascii() else text.translate(_table())


# A clock time: one or two digits, a colon, two digits, not inside a longer number or a timestamp's
# seconds ("10:30", "9:05"; not "2027-02-03T10:30:00" nor "1:2:3").
_CLOCK = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?![\d:])")


def clock_times(text: str) -> list[str]:
    """The clock times ``text`` writes, in any script's digits, once each, in order."""
    return list(dict.fromkeys(_CLOCK.findall(ascii_digits(text))))
