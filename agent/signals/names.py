"""Names a ticket writes in any language: what we can read of a text whose words we cannot.

A customer writing in a language nobody lists still names things the way every language writes
names: an acronym (``SMS``), a domain or a dotted product name (``FINN.no``, ``freemail.hu``), a
word capitalised inside a sentence (``Telkomsel``), a word with capitals inside it (``LinkedIn``).
Those are the tokens a bug filed in English shares with the ticket (``differential/known_bug.py``).
A word capitalised at the start of a sentence or a line is not a name: every language does that.
In a text written in another script (Greek, Japanese, Cyrillic …) a word in Latin letters is marked
by its script as an acronym is by its capitals (``Epson``, ``.vtt``, ``Subtitle Edit``), and a
model or version that mixes letters and digits (``TM-m30III``) is written the same in every language,
and so is a clock time in any script's digits (``١٠:٣٠`` is ``10:30``, ``agent/digits.py``): a bug that
quotes the time a customer writes ("shows 30:10 for 10:30") is found from a ticket in any language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from casefile.agent.digits import ascii_digits, clock_times

__all__ = ["Name", "name_words", "names", "other_script", "quoted", "split_scripts"]

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


def _latin(char: str) -> bool:
    return char.isascii() or unicodedata.name(char, "").startswith("LATIN")


def other_script(text: str) -> bool:
    """Whether most of ``text``'s letters are not Latin ones (Greek, Cyrillic, Japanese, Thai …)."""
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if not _latin(c)) > len(letters) / 2


def split_scripts(text: str) -> str:
    """``text`` with a space wherever Latin letters or digits meet another script's letters: a
    language written without spaces glues names to its words (``プリンターはEpsonのTM-m30IIIです``)."""
    out: list[str] = []
    for i, char in enumerate(text):
        if i and char.isalnum() and text[i - 1].isalnum() and _latin(char) != _latin(text[i - 1]):
            out.append(" ")
        out.append(char)
    return "".join(out)


# A model, part or version: letters and digits in one token ("TM-m30III", "X200", "S9-Pro").
_MODEL = re.compile(r"^(?=.*\d)(?=(?:.*[^\W\d_]){2})[^\W_][\w-]*[^\W_]$")


def names(text: str) -> list[Name]:
    """The names ``text`` writes, once each, in order. A dotted name also gives its first part
    (``FINN.no`` → ``finn.no`` and ``finn``), since text elsewhere may write it alone."""
    found: dict[str, Name] = {time: Name(time, True) for time in clock_times(text)}
    foreign = other_script(text)
    text = split_scripts(ascii_digits(text))
    for m in _TOKEN.finditer(text):
        whole = m.group(0).strip(".-")
        # "freemail.hu-s", "SMS-nya": an ending hyphenated to a name is not part of it
        token = whole.split("-")[0]
        letters = [c for c in token if c.isalpha()]
        if _MODEL.match(whole) and not whole.isdigit() and "." not in whole:
            words, marked = [whole.lower()], True
        elif len(letters) < 2 or any(c.isdigit() for c in token.split(".")[0]):
            continue
        elif _dotted(token):
            words, marked = [token.lower(), token.split(".")[0].lower()], True
        elif token.isupper() or (foreign and all(_latin(c) for c in token)):
            words, marked = [token.lower()], True
        elif any(c.isupper() for c in token[1:]) and any(c.islower() for c in token):
            words, marked = [token.lower()], True  # LinkedIn, iPhone
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
    looked up in (``FINN.no ads lose …`` holds ``finn``), and its clock times (``10:30``)."""
    out: set[str] = set(clock_times(text))
    for m in _TOKEN.finditer(split_scripts(ascii_digits(text))):
        token = m.group(0).strip(".-").lower()
        out.add(token)
        if _dotted(token):
            out.add(token.split(".")[0])
    return out


# A short run of text between quotation marks of any language (« », “ ”, „ “, " ", 「 」, ‹ ›): the
# words of a screen the customer copies (a badge, a button, a message), not a sentence of their own.
_QUOTED = re.compile(
    r"«([^»\n]{1,40})»|“([^”\n]{1,40})”|„([^“”\n]{1,40})[“”]|\"([^\"\n]{1,40})\"|「([^」\n]{1,40})」|‹([^›\n]{1,40})›"
)


def quoted(text: str) -> list[str]:
    """What ``text`` quotes in a few words (at most four), once each, in order: a UI's own label."""
    found = (next(g for g in m.groups() if g is not None).strip() for m in _QUOTED.finditer(text))
    return list(dict.fromkeys(q for q in found if q and len(q.split()) <= 4))
