"""The English words of a ticket's support vocabulary in the languages of ``differential/languages/``.

Bugs are filed in English, customers write in their own language: "Sammelauszahlungen"
is a batch of payouts, "remboursement partiel" a partial refund. :func:`english` gives
the English equivalents of the general B2B/API nouns and verbs a ticket uses (no
company's product names), so bug searches and their ranking can match the issue's
title. The words are data, each language's in its file: its ``nouns`` (whole words, a plural
ending tolerated; in a script without spaces found anywhere) and the English readings of its
phrases (``phrasebook.meanings``). In a language that compounds (German) a word is also read by
its parts ("Sammel|auszahlungen"), its nouns' and its one-word phrases'.
"""

from __future__ import annotations

import re
from functools import cache

from casefile.agent.phrasebook import Language, languages, meanings, tells_when

__all__ = ["english"]

_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
# One word of a phrase, plain or a stem ("zahlung*"): a compound's part when long enough.
_ONE_WORD = re.compile(r"[^\W\d_]{5,}\*?", re.UNICODE)


class _Nouns:
    """Every language's nouns, by how they are found."""

    def __init__(self, langs: list[Language]) -> None:
        self.anywhere = {w: e for lang in langs if not lang.spaced for w, e in lang.nouns.items()}
        self.words = {w: e for lang in langs if lang.spaced for w, e in lang.nouns.items()}
        parts = {
            phrase.rstrip("*").lower(): meaning
            for lang in langs
            if lang.compounds
            for meaning, phrases in lang.phrases.items()
            for phrase in phrases
            if _ONE_WORD.fullmatch(phrase) and not tells_when(meaning)
        }
        parts |= {w: e for lang in langs if lang.compounds for w, e in lang.nouns.items()}
        # Only a compounding language's words are looked for inside a word: English words would
        # contain Romance ones ("informed" ⊃ "informe").
        self.parts = {w: parts[w] for w in sorted((w for w in parts if len(w) >= 5), key=len, reverse=True)}


@cache
def _nouns() -> _Nouns:
    return _Nouns(list(languages().values()))


def _lookup(token: str) -> list[str]:
    nouns = _nouns()
    for form in (
        token,
        token.rstrip("s"),
        token.removesuffix("en"),
        token.removesuffix("n"),
        token.removesuffix("es"),
    ):
        if form in nouns.words:
            return [nouns.words[form]]
    # A compound: its known parts, longest first, without overlaps.
    found, rest = [], token
    for part, meaning in nouns.parts.items():
        if part in rest:
            found.append(meaning)
            rest = rest.replace(part, " ")
    return found


def english(text: str) -> list[str]:
    """English equivalents of the ticket's support words in other languages, once each: the
    languages' nouns, then the readings of their phrases (every listed language)."""
    out = [english for word, english in _nouns().anywhere.items() if word in text]
    for m in _TOKEN.finditer(text.lower()):
        if len(m.group(0)) >= 3:
            out += _lookup(m.group(0))
    return list(dict.fromkeys([*out, *meanings(text)]))
