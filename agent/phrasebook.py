"""Support phrases of tickets in other languages, said in English.

The signal rules read English (``signals/text.py``, ``signals/timewindow.py``, the differential's
own text rules). A customer writes "alles is traag", "płatność nie przeszła", "fakturan har inte
kommit", "403エラーになり", "로그인이 안 돼요": without a reading of those, a clear ticket looks
like a vague one. :func:`reading` gives the ticket's text followed, when any phrase of a known
language occurs, by the same text with those phrases rewritten in English, so every English rule
(symptoms, areas, statuses, time words) reads it too and nothing of the original is lost (codes,
ids and paths stay as written).

The phrases are data, one file per language in ``differential/languages/<code>.yaml`` (see
:class:`Language`): a language or a phrase is added there, without Python. Only general support
vocabulary, never a product's or company's words. A phrase is matched as whole words in a language
written with spaces; a word ending in ``*`` is a stem that takes any ending (``płatnoś*`` reads
płatność, płatności, płatnością), a phrase starting with ``*`` the end of a compound (``*fehler*``
reads Verbindungsfehler as "Verbindungs error", leaving its first part to the other phrases; such
phrases are read first), ``(word)`` is an optional word, ``{n}`` a number carried into the
English (digits, or a number word of the language's ``numbers``: "vor zwei Stunden" reads "two hours
ago"), ``...`` one to three words carried into it. In a language written without spaces (Japanese,
Chinese) a phrase matches anywhere, and a number glued to its script ("403エラー") is set apart first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from casefile.agent.digits import ascii_digits

__all__ = [
    "HIDE_LANGUAGES",
    "LANGUAGES_DIR",
    "SHOUTED",
    "Language",
    "LanguageError",
    "english",
    "hidden_languages",
    "known_language",
    "languages",
    "load_language",
    "reading",
    "share",
    "shouts",
    "tells_when",
]

LANGUAGES_DIR = Path(__file__).resolve().parent / "differential" / "languages"


class Language(BaseModel):
    """``languages/<code>.yaml``: how one language's support phrases read in English."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="the language's English name")
    spaced: bool = Field(
        default=True, description="written with spaces between words (phrases match whole words)"
    )
    phrases: dict[str, list[str]] = Field(
        description="an English reading → the phrases of this language that say it (longest matched first)"
    )
    words: list[str] = Field(
        default_factory=list, description="common words that tell a text is in this language (and, not, we …)"
    )
    weekdays: list[str | list[str]] = Field(
        default_factory=list, description="Monday … Sunday: a word or stem each, or a list of them"
    )
    nouns: dict[str, str] = Field(
        default_factory=dict,
        description="a noun or verb a bug's title would carry → its English, for bug searches only "
        "(agent/differential/glossary.py): whole words, a plural ending tolerated",
    )
    numbers: dict[str, str] = Field(
        default_factory=dict,
        description="number words → English (zwei: two, ein paar: a few): what {n} reads besides digits",
    )
    compounds: bool = Field(
        default=False,
        description="its words join into compounds (German): its nouns and one-word phrases are also "
        "found as parts of a word",
    )

    @field_validator("weekdays")
    @classmethod
    def _seven(cls, days: list[str | list[str]]) -> list[str | list[str]]:
        if days and len(days) != 7:
            raise ValueError(f"weekdays lists Monday to Sunday: 7 entries, not {len(days)}")
        return days

    @field_validator("phrases")
    @classmethod
    def _words(cls, phrases: dict[str, list[str]]) -> dict[str, list[str]]:
        for meaning, said in phrases.items():
            for phrase in said:
                if re.fullmatch(_pattern(phrase, spaced=True), "") is not None:
                    raise ValueError(f"the phrase {phrase!r} for {meaning!r} has no word that must occur")
        return phrases

    def said(self) -> dict[str, str]:
        """Every phrase of this language → its English reading (weekdays included)."""
        english = {phrase: meaning for meaning, phrases in self.phrases.items() for phrase in phrases}
        days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        for words, day in zip(self.weekdays, days, strict=False):
            english |= dict.fromkeys([words] if isinstance(words, str) else words, day)
        return english


_WORD = re.compile(r"\(([^)]+)\)|(\S+)")
# What a placeholder of a phrase matches, carried into the English: a number, one to three words
# ("keine Sendungsstatus von X angekommen": what did not arrive, with whom it is from).
_NUMBER = r"(?P<n>\d{1,3})"
_WORDS = r"(?P<w>\S+?(?:\s+\S+){0,2}?)"


def _pattern(phrase: str, spaced: bool, numbers: Iterable[str] = ()) -> str:
    """A phrase's regular expression: words apart by any spaces, stems, optional words, a number
    (digits, or one of the language's ``numbers``)."""
    if not spaced:  # a number glued to the script has been set apart by then
        return re.escape(phrase).replace(r"\{n\}", _NUMBER + r"\s*")
    # "*word": the end of a compound, after a first part that is kept for the other phrases
    compound, phrase = (r"(?P<pre>\w+?)", phrase[1:]) if phrase.startswith("*") else ("", phrase)
    parts: list[str] = []
    for m in _WORD.finditer(phrase):
        sep = r"\s+" if parts else ""
        if m.group(1) is not None:  # (optional word)
            parts.append(r"(?:\s+" + _stem(m.group(1)) + ")?")
        elif m.group(2) == "{n}":
            words = sorted(map(re.escape, numbers), key=len, reverse=True)
            parts.append(sep + (_NUMBER[:-1] + "".join(f"|{w}" for w in words) + ")"))
        elif m.group(2) == "...":
            parts.append(sep + _WORDS)
        else:
            parts.append(sep + _stem(m.group(2)))
    return compound + "".join(parts)


def _stem(word: str) -> str:
    return re.escape(word[:-1]) + r"\w*" if word.endswith("*") else re.escape(word)


class LanguageError(ValueError):
    """A language file that cannot be read: named with its path."""


def load_language(path: Path) -> Language:
    """One language file; :class:`LanguageError` names the file and what is wrong with it."""
    try:
        return Language.model_validate(yaml.safe_load(path.read_text("utf-8")))
    except ValidationError as exc:
        what = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise LanguageError(f"{path}: {what}") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LanguageError(f"{path}: {' '.join(str(exc).split())}") from exc


# Language codes left unloaded, comma-separated: the ablation that measures how a language nobody wrote a
# file for is read (``CASEFILE_HIDE_LANGUAGES=tr,ko casefile eval run --tag lang:tr``; evals/README.md,
# "Reading a language with no file"). English is never hidden: every rule reads it.
HIDE_LANGUAGES = "CASEFILE_HIDE_LANGUAGES"


def hidden_languages() -> frozenset[str]:
    """The language codes :data:`HIDE_LANGUAGES` leaves out (never ``en``)."""
    codes = {c.strip().lower() for c in os.environ.get("CASEFILE_HIDE_LANGUAGES", "").split(",")}
    return frozenset(codes - {"", "en"})


@cache
def languages() -> dict[str, Language]:
    """Every language file, by its code (the file's name), but those :data:`HIDE_LANGUAGES` hides."""
    hidden = hidden_languages()
    return {
        path.stem: load_language(path)
        for path in sorted(LANGUAGES_DIR.glob("*.yaml"))
        if path.stem not in hidden
    }


@cache
def _rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    """(pattern, English) of every language's phrases, longest phrase first whatever its language
    (Swedish "sedan i går" is read before Danish "i går"); the ends of compounds before any, so
    that a compound's first part is still a word; unspaced scripts after spaced ones."""
    phrases = [
        (phrase, lang, meaning) for lang in languages().values() for phrase, meaning in lang.said().items()
    ]
    out = []
    for phrase, lang, meaning in sorted(
        phrases, key=lambda p: (not p[1].spaced, p[0][:1] != "*", -len(p[0]))
    ):
        edges = (r"(?<!\w)", r"(?!\w)") if lang.spaced else ("", "")
        pattern = re.compile(edges[0] + _pattern(phrase, lang.spaced, lang.numbers) + edges[1], re.IGNORECASE)
        out.append((pattern, meaning if lang.spaced else f" {meaning} "))
    return tuple(out)


@cache
def _numbers() -> dict[str, str]:
    """Every language's number words (lowercase) → English."""
    return {w.lower(): e for lang in languages().values() for w, e in lang.numbers.items()}


# A number written against kana, kanji or hangul ("が403エラー", "403에러") is a word of its own.
_SCRIPTS = r"\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
_GLUED_NUMBER = re.compile(rf"(?<=[{_SCRIPTS}])(?=\d)|(?<=\d)(?=[{_SCRIPTS}])")


def _english(m: re.Match[str], meaning: str) -> str:
    """The English of a match, with the number and the words it carries (after a compound's first part)."""
    found = m.groupdict()
    n = found.get("n") or ""
    english = meaning.replace("{n}", _numbers().get(n.lower(), n)).replace("...", found.get("w") or "")
    return f"{found['pre']} {english}" if found.get("pre") else english


_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)


def share(text: str, words: frozenset[str], spaced: bool = True) -> int:
    """How many of ``text``'s words are among ``words`` (in an unspaced script: how many occur)."""
    if not spaced:
        return sum(1 for w in words if w in text)
    return sum(1 for w in _TOKEN.findall(text.lower()) if w in words)


def known_language(text: str) -> bool:
    """Whether ``text`` is written in a language of the phrasebook: it uses its phrases (in its first
    :data:`READ_CHARS` characters), or enough of its common words (two, and a tenth of the text's
    words, in a language with spaces)."""
    head = text[:READ_CHARS]
    if _phrased(head) != ascii_digits(head):  # digits of another script are no phrase
        return True
    total = len(_TOKEN.findall(text))
    for lang in languages().values():
        found = share(text, frozenset(w.lower() for w in lang.words), lang.spaced)
        if found >= (1 if not lang.spaced else max(2, 0.1 * total)):
            return True
    return False


def english(text: str) -> bool:
    """Whether ``text`` is written in English, the language every rule reads in full: a tenth of its
    words at least are English's common words (one at least), more than any other language's, and
    nearly all are written in ASCII letters (Hungarian's "a", "is" and "az" are not English). Another
    language, listed or not, is read only by the phrases its file lists, so a ticket in it that names
    no symptom we read may well name one (``differential/topic.py``)."""
    words = [w.lower() for w in _TOKEN.findall(text)]
    if not words or sum(1 for w in words if not w.isascii()) >= _ACCENTED * len(words):
        return False
    found = {
        code: share(text, frozenset(w.lower() for w in lang.words), lang.spaced)
        for code, lang in languages().items()
    }
    ours = found.pop("en", 0)
    return ours >= max(1, 0.1 * len(words)) and all(ours > n for n in found.values())


# The share of words with a letter outside ASCII beyond which a text is not English (names, a quoted
# word or two stay below it).
_ACCENTED = 0.1


# Readings that say when, not what: not words a bug's title would carry.
_WHEN = re.compile(
    r"\b(?:since|ago|for|today|yesterday|tonight|morning|afternoon|evening|night|week|weekend|days?|hours?"
    r"|minutes?|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|\{n\}|\.\.\."
)


def tells_when(english: str) -> bool:
    """Whether a phrase's English reading says when (since, yesterday, Monday …), not what."""
    return bool(_WHEN.search(english))


# How much of a text the phrase rules read: each of their thousands of patterns passes over it, on
# the investigation's event loop where no deadline can interrupt it (tests/test_attack_inputs.py).
# A ticket's prose comes first; the signal rules still read the whole text as written.
READ_CHARS = 16_000


def meanings(text: str) -> list[str]:
    """The English of the support phrases ``text`` uses (what is wrong and with what, not when), once
    each: of its first :data:`READ_CHARS` characters."""
    return list(_meanings(text[:READ_CHARS]))


@lru_cache(maxsize=64)
def _meanings(head: str) -> tuple[str, ...]:
    spaced = _GLUED_NUMBER.sub(" ", ascii_digits(head))
    found = [meaning.strip() for pattern, meaning in _rules() if pattern.search(spaced)]
    return tuple(dict.fromkeys(m for m in found if not tells_when(m)))


def reading(text: str) -> str:
    """``text``, then (when it uses any known phrase, or digits of another script: "٥٠٣" reads "503") the
    same text (its first :data:`READ_CHARS` characters) with those phrases in English; and, for a text
    not in English that shouts (:func:`shouts`), what shouting says in every language: :data:`SHOUTED`."""
    head = text[:READ_CHARS]
    phrased = _phrased(head)
    read = text if phrased == head else f"{text}\n\n{phrased}"
    return f"{read}\n\n{SHOUTED}" if shouts(head) and not english(head) else read


# What a ticket that shouts says whatever its words: something is urgent and does not work for them.
SHOUTED = "urgent: it is not working"
# A run of exclamation marks (ASCII, full width, Spanish's opening one), as a shouting customer types.
_EXCLAIMED = re.compile(r"[!！¡]{2,}")
# How many runs make a shout (one "!!" is emphasis; "URGENT!!! … call us!!!" is a shout).
_SHOUTS = 2


def shouts(text: str) -> bool:
    """Whether ``text`` shouts: runs of exclamation marks, at least :data:`_SHOUTS` of them. Punctuation is
    the one part of a shouted ticket every script writes alike ("ТЕРМІНОВО!!!", "ด่วนที่สุด!!!"): in a
    language we do not read it still tells the customer finds something urgently broken, which the
    account's failing requests answer, as "nothing works" would (``calibration.claims``)."""
    return len(_EXCLAIMED.findall(text)) >= _SHOUTS


@lru_cache(maxsize=64)  # an investigation reads its ticket's text several times, and known_language too
def _phrased(text: str) -> str:
    """``text`` in ASCII digits (numbers glued to a spaceless script set apart), its phrases in English."""
    english = _GLUED_NUMBER.sub(" ", ascii_digits(text))
    for pattern, meaning in _rules():
        english = pattern.sub(lambda m, meaning=meaning: _english(m, meaning), english)  # type: ignore[misc]
    return english
