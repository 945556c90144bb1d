"""Names a ticket writes in any language: what we can read of a text whose words we cannot.

A customer writing in a language nobody lists still names things the way every language writes
names: an acronym (``SMS``), a domain or a dotted product name (``FINN.no``, ``freemail.hu``), a
word capitalised inside a sentence (``Telkomsel``), a word with capitals inside it (``LinkedIn``).
Those are the tokens a bug filed in English shares with the ticket (``differential/known_bug.py``).
A word capitalised at the start of a sentence or a line is not a name: every language does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Name", "name_words", "names"]

# A token: letters and digits, with dots or hyphens inside (``freemail.hu-s``, ``FINN.no``).
_TOKEN = re.compile(r"[^\W_](?:[\w.-]*[^\W_])?")
# What ends a sentence or opens a quote: the next word is capitalised in every language.
_OPENS = ".!?:;\n\"'(«„“"


def _starts_sentence(text: str, at: int) -> bool:
    while at > 0 and text[at - 1] in " \t":
        at -= 1
    return at == 0 or text[at - 1] in _OPENS


@dataclass(frozen=True)
class Name:
    """One name as written, lower-cased (``word``), and whether its spelling alone makes it one
    (``marked``: an acronym, a dotted name, capitals inside): a capitalised word may be a noun of a
    language that capitalises nouns."""

    word: str
    marked: bool


def _dotted(token: str) -> bool:
    parts = token.split(".")
    return len(parts) > 1 and all(p[:1].isalpha() for p in parts if p) and all(parts)


def names(text: str) -> list[Name]:
    """The names ``text`` writes, once each, in order. A dotted name also gives its first part
    (``FINN.no`` → ``finn.no`` and ``finn``), since text elsewhere may write it alone."""
    found: dict[str, Name] = {}
    for m in _TOKEN.finditer(text):
        # "freemail.hu-s", "SMS-nya": an ending hyphenated to a name is not part of it
        token = m.group(0).strip(".-").split("-")[0]
        letters = [c for c in token if c.isalpha()]
        if len(letters) < 2 or any(c.isdigit() for c in token.split(".")[0]):
            continue
        if _dotted(token):
            words, marked = [token.lower(), token.split(".")[0].lower()], True
        elif token.isupper():
            words, marked = [token.lower()], True
        elif token[0].isupper() and any(c.isupper() for c in token[1:]):
            words, marked = [token.lower()], True  # LinkedIn
        elif token[0].isupper() and not _starts_sentence(text, m.start()):
            words, marked = [token.lower()], False
        else:
            continue
        for w in words:
            # two letters ("AS", "HR", "ID") are as often a word or a legal form as a name
            if len(w) >= 3 and (w not in found or (marked and not found[w].marked)):
                found[w] = Name(w, marked)
    return list(found.values())


def name_words(text: str) -> set[str]:
    """Every token of ``text`` lower-cased, a dotted one also by its first part: what a name is
    looked up in (``FINN.no ads lose …`` holds ``finn``)."""
    out: set[str] = set()
    for m in _TOKEN.finditer(text):
        token = m.group(0).strip(".-").lower()
        out.add(token)
        if _dotted(token):
            out.add(token.split(".")[0])
    return out
