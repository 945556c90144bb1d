"""Clock times as German and French tickets write them ("10 Uhr", "10.30 Uhr", "10h30"), as the
English time-window rules read them ("10:00", "10:30").

The words of when a problem began ("seit gestern Abend", "il y a 2 heures", "desde el lunes") are
each language's data (``differential/languages/``), read in English with the rest of the ticket's
phrases (``phrasebook.reading``); what is left here is notation, not words.
"""

from __future__ import annotations

import re

__all__ = ["in_english"]

_CLOCKS = (
    re.compile(r"\b([01]?\d|2[0-3])(?:[:.]([0-5]\d))? ?uhr\b", re.IGNORECASE),  # "10 Uhr", "10.30 Uhr"
    re.compile(r"\b([01]?\d|2[0-3])h([0-5]\d)?\b", re.IGNORECASE),  # "10h30", "10h"
)


def _clock(m: re.Match[str]) -> str:
    return f"{m.group(1)}:{m.group(2) or '00'}"


def in_english(text: str) -> str:
    """``text`` with German and French clock times written as the English ones."""
    for pattern in _CLOCKS:
        text = pattern.sub(_clock, text)
    return text
