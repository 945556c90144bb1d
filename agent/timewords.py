"""When a problem began, in the words German, French and Spanish tickets use, said in English.

The time-window rules (``agent/signals.py``) read English ("since yesterday evening", "2 hours
ago", "since Monday"). Customers write "seit gestern Abend", "il y a 2 heures", "desde el lunes":
:func:`in_english` rewrites those phrases, and only those, so the same rules date every ticket.
Bare words that mean something else in another language are left alone (German "hier" is
"here", not French "yesterday"; "morgen" alone is "tomorrow").
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["in_english"]

_NUMBERS = {
    "ein": "an", "eine": "an", "einer": "an", "einem": "an", "einen": "an", "un": "an", "une": "an",
    "una": "an", "uno": "an", "zwei": "two", "deux": "two", "dos": "two", "drei": "three", "trois": "three",
    "tres": "three", "vier": "four", "quatre": "four", "cuatro": "four", "fünf": "five", "cinq": "five",
    "cinco": "five", "ein paar": "a few", "paar": "a few", "quelques": "a few", "unos": "a few", "unas": "a few",
    "algunos": "a few", "algunas": "a few", "mehreren": "several", "mehrere": "several", "einigen": "several",
    "plusieurs": "several", "varios": "several", "varias": "several",
}  # fmt: skip
_NUM = r"(?P<n>\d{1,3}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + ")"
_UNIT = r"(?P<u>minuten?|minutes?|minutos?|stunden?|heures?|horas?|tagen?|jours?|d[ií]as?|wochen?|semaines?|semanas?)"
# Unit word prefix → the English unit.
_UNITS: tuple[tuple[str, str], ...] = (
    ("min", "minutes"), ("stund", "hours"), ("heure", "hours"), ("hora", "hours"), ("tag", "days"),
    ("jour", "days"), ("día", "days"), ("dia", "days"), ("woche", "weeks"), ("semain", "weeks"),
    ("seman", "weeks"),
)  # fmt: skip
_WEEKDAYS = {
    "montag": "monday", "dienstag": "tuesday", "mittwoch": "wednesday", "donnerstag": "thursday",
    "freitag": "friday", "samstag": "saturday", "sonntag": "sunday", "lundi": "monday", "mardi": "tuesday",
    "mercredi": "wednesday", "jeudi": "thursday", "vendredi": "friday", "samedi": "saturday",
    "dimanche": "sunday", "lunes": "monday", "martes": "tuesday", "miércoles": "wednesday",
    "miercoles": "wednesday", "jueves": "thursday", "viernes": "friday", "sábado": "saturday",
    "sabado": "saturday", "domingo": "sunday",
}  # fmt: skip


def _amount(m: re.Match[str]) -> str:
    n = m.group("n").lower()
    unit = m.group("u").lower()
    english = next(e for prefix, e in _UNITS if unit.startswith(prefix))
    return f"{_NUMBERS.get(n, n)} {english}"


_Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]


def _rules() -> list[_Rule]:
    def r(pattern: str) -> re.Pattern[str]:
        return re.compile(pattern, re.IGNORECASE)

    part = {"abend": "evening", "nachmittag": "afternoon", "morgen": "morning", "früh": "morning"}
    part |= {"vormittag": "morning", "soir": "evening", "matin": "morning", "après-midi": "afternoon"}
    part |= {"mañana": "morning", "tarde": "afternoon"}
    return [
        # durations: "desde hace 3 días" (for), "vor 2 Stunden" / "il y a 2 heures" / "hace 2 horas" (ago)
        (r(rf"\b(?:desde hace|seit|depuis) {_NUM} {_UNIT}\b"), lambda m: f"for {_amount(m)}"),
        (r(rf"\b(?:vor|il y a|hace) {_NUM} {_UNIT}\b"), lambda m: f"{_amount(m)} ago"),
        (r(r"\b(?:seit tagen|depuis des jours|desde hace d[ií]as)\b"), "for days"),
        # nights before the day parts ("ayer por la noche" is last night, not an evening)
        (
            r(
                r"\b(?:letzte nacht|heute nacht|in der nacht|cette nuit|la nuit derni[èe]re|anoche"
                r"|ayer (?:por|en) la noche)\b"
            ),
            "last night",
        ),
        (
            r(
                r"\b(?:gestern|ayer(?: (?:por|en) la)?|hier) (abend|nachmittag|morgen|früh|vormittag|soir|matin"
                r"|après-midi|mañana|tarde)\b"
            ),
            lambda m: f"yesterday {part[m.group(1).lower()]}",
        ),
        (
            r(
                r"\b(?:heute (?:morgen|früh|vormittag)|heute in der früh|ce matin|esta mañana"
                r"|hoy (?:en|por) la mañana)\b"
            ),
            "this morning",
        ),
        (r(r"\b(?:heute nachmittag|cet après-midi|esta tarde|hoy (?:en|por) la tarde)\b"), "this afternoon"),
        (r(r"\b(?:heute abend|ce soir)\b"), "this evening"),
        (r(r"\besta noche\b"), "tonight"),
        (r(r"\bdepuis hier\b"), "since yesterday"),
        (r(r"\b(?:gestern|ayer)\b"), "yesterday"),
        (r(r"\b(?:heute|aujourd'hui|hoy)\b"), "today"),
        (r(r"\b(?:letzte|vergangene) woche\b|\bla semaine derni[èe]re\b|\bla semana pasada\b"), "last week"),
        (r(r"\b(?:diese woche|cette semaine|esta semana)\b"), "this week"),
        (
            r(r"\b(?:am|übers|über das) wochenende\b|\b(?:ce|le) week-?end\b|\b(?:el|este) fin de semana\b"),
            "the weekend",
        ),
        (r(r"\b(" + "|".join(_WEEKDAYS) + r")\b"), lambda m: _WEEKDAYS[m.group(1).lower()]),
        # clocks: "10 Uhr", "10.30 Uhr", "10h30"
        (r(r"\b([01]?\d|2[0-3])(?:[:.]([0-5]\d))? ?uhr\b"), lambda m: f"{m.group(1)}:{m.group(2) or '00'}"),
        (r(r"\b([01]?\d|2[0-3])h([0-5]\d)?\b"), lambda m: f"{m.group(1)}:{m.group(2) or '00'}"),
        (r(r"\b(?:seit|depuis|desde)(?: (?:el|la|las|los))?\b"), "since"),
    ]


_RULES = _rules()


def in_english(text: str) -> str:
    """``text`` with German, French and Spanish time phrases rewritten as the English ones."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
