"""The English words of a ticket's support vocabulary in German, French, Spanish, Italian,
Portuguese, Dutch or Japanese.

Bugs are filed in English, customers write in their own language: "Sammelauszahlungen"
is a batch of payouts, "remboursement partiel" a partial refund. :func:`english` gives
the English equivalents of the general B2B/API nouns and verbs a ticket uses (no
company's product names), so bug searches and their ranking can match the issue's
title. German compounds are read by their parts ("Sammel|auszahlungen"). The words are data,
in ``glossary.yaml`` beside this module: a language or a word is added there, without Python.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from casefile.agent.phrasebook import meanings

__all__ = ["Glossary", "english"]


class Glossary(BaseModel):
    """``glossary.yaml``: each section maps a word to its English equivalent."""

    compounding: dict[str, str] = Field(description="whole words, and parts of a compound (German)")
    words: dict[str, str] = Field(description="whole words only")
    anywhere: dict[str, str] = Field(description="found anywhere in the text (languages without spaces)")


_GLOSSARY = Glossary.model_validate(
    yaml.safe_load((Path(__file__).parent / "glossary.yaml").read_text("utf-8"))
)
_WORDS = _GLOSSARY.compounding | _GLOSSARY.words
# Only the compounding section's words are looked for inside a word: English words would contain
# Romance ones ("informed" ⊃ "informe").
_COMPOUND_PARTS = sorted((k for k in _GLOSSARY.compounding if len(k) >= 5), key=len, reverse=True)
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)


def _lookup(token: str) -> list[str]:
    for form in (
        token,
        token.rstrip("s"),
        token.removesuffix("en"),
        token.removesuffix("n"),
        token.removesuffix("es"),
    ):
        if form in _WORDS:
            return [_WORDS[form]]
    # A German compound: its known parts, longest first, without overlaps.
    found, rest = [], token
    for part in _COMPOUND_PARTS:
        if part in rest:
            found.append(_WORDS[part])
            rest = rest.replace(part, " ")
    return found


def english(text: str) -> list[str]:
    """English equivalents of the ticket's support words in other languages, once each: the
    glossary's nouns, then the phrasebook's readings of its phrases (every listed language)."""
    out = [english for word, english in _GLOSSARY.anywhere.items() if word in text]
    for m in _TOKEN.finditer(text.lower()):
        if len(m.group(0)) >= 3:
            out += _lookup(m.group(0))
    return list(dict.fromkeys([*out, *meanings(text)]))
