"""Grounding: every evidence item must be backed by what a tool actually returned.

An item passes when it names a call of this investigation that succeeded and its
``value`` is *returned data* of that call:

* **Whole values or whole tokens.** The value equals a field value of the result, or
  occurs inside one as whole tokens (never inside a word: ``"e"`` does not occur in
  ``"canceled for fraud"``). Only values count, not keys, and not the text rendered
  for the model. Matching ignores case and runs of whitespace; a number may be written
  with fewer decimals than the result holds (``0.37`` for ``0.3695``), and a rate as
  the percentage the model was shown (``37.0%``).
* **Not an echo.** A value that occurs in the call's own arguments (in any spelling of the same
  words: width, case, accents, invisible characters and punctuation aside) is not evidence:
  a search query the model chose comes back in the result, and so do a logs_sql
  query's literals. Tools whose results carry values their caller wrote declare an
  evidence view (``@operation(evidence=...)``, e.g. only the logs_sql columns read
  from tables; see ``casefile.tools.sqlprovenance``).
* **Specific.** A single character, a small integer (below 100: ``0``, ``1``,
  ``19``), a fraction with one significant digit (``0.4``), a round percentage
  below 100 (``37%``) or a value made only of common words (``the``, ``error``, ``true``) occurs
  in nearly any result, so it grounds only when the item names the ``field`` holding
  it, and then only as that field's whole value.

Each ranked hypothesis' supporting and refuting items are checked like ``evidence``
(an ungrounded one is dropped and reported, so a model gets it back to fix).
``related`` items are checked the same way against every successful call: their id
(and url, if given) must occur in returned data. The check runs on every diagnosis,
whatever model produced it; the loop, not the model, sets ``Evidence.tool``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from casefile.agent.diagnosis import CandidateCause, Diagnosis, Evidence, GroundingVerdict, RelatedItem
from casefile.tools.base import ToolOutcome
from casefile.tools.catalogue import evidence_views

__all__ = ["COMMON_WORDS", "check_evidence", "ground", "weakness", "with_call_ids"]

_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?$")
_PERCENT = re.compile(r"^([-+]?\d+(?:\.\d+)?) ?%$")
_NUMBER_TOKEN = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w.])")
_WORD = re.compile(r"[^\W\d_]+")
_FOLDED_WORD = re.compile(r"[^\W_]+")
_UNSEEN = ("Cf", "Mn", "Me")  # zero-width characters, joiners, soft hyphens, combining accents

# Words that say nothing on their own: English function words and the vocabulary every result shares.
_COMMON_WORDS = """
    a an the and or nor not no yes of to in on at by for from with without as is are was were be been
    being am do does did done has have had having it its it's this that these those there here then
    than so if but up down out over under into onto off about after before again once all any some
    each every both few more most other such only own same very can could will would shall should may
    might must just also too i me my we our you your he him his she her they them their what which
    who whom whose when where why how per via vs etc ok okay true false null none nil nan n/a na
    undefined unknown error errors fail failed failure failures success successful succeeded ok
    status state value values result results data count total number id name type item items
"""
COMMON_WORDS = frozenset(_COMMON_WORDS.split())


def _norm(value: Any) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return " ".join(str(value).split()).casefold()


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _occurs_as_tokens(needle: str, haystack: str) -> bool:
    """``needle`` occurs in ``haystack`` without starting or ending inside a word."""
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        left_ok = start == 0 or not (_word_char(haystack[start - 1]) and _word_char(needle[0]))
        right_ok = end == len(haystack) or not (_word_char(haystack[end]) and _word_char(needle[-1]))
        if left_ok and right_ok:
            return True
        start = haystack.find(needle, start + 1)
    return False


def _scalars(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every scalar of a JSON-like value with the dict keys leading to it (list indices skipped)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _scalars(item, (*path, str(key).casefold()))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _scalars(item, path)
    elif value is not None:
        yield path, value


def weakness(value: str) -> str | None:
    """Why ``value`` is too unspecific to ground evidence on its own, or None."""
    text = _norm(value)
    if not any(ch.isalnum() for ch in text):
        return "has no letters or digits"
    if len(text) == 1:
        return "is a single character"
    percent = _PERCENT.match(text)
    if percent and "." not in percent.group(1) and abs(float(percent.group(1))) < 100:
        return "is a round percentage"
    if _NUMBER.match(text):
        if float(text).is_integer() and abs(float(text)) < 100:
            return "is a small number"
        if "." in text and len(text.lstrip("+-").replace(".", "").strip("0")) < 2:
            return "is a number with one significant digit"
    if not any(ch.isdigit() for ch in text) and all(w in COMMON_WORDS for w in _WORD.findall(text)):
        return "is only common words"
    return None


def _same_number(needle: str, scalar: Any) -> bool:
    """``needle`` is ``scalar`` written with as many or fewer decimals (a rate also as a percentage)."""
    if isinstance(scalar, bool):
        return False
    text = _norm(scalar)
    if not _NUMBER.match(text):
        return False
    percent = _PERCENT.match(needle)
    written, factor = (percent.group(1), 100.0) if percent else (needle, 1.0)
    if not _NUMBER.match(written):
        return False
    decimals = len(written.split(".")[1]) if "." in written else 0
    return round(float(text) * factor, decimals) == float(written)


def _matches(needle: str, scalar: Any, *, whole: bool) -> bool:
    text = _norm(scalar)
    if needle == text or _same_number(needle, scalar):
        return True
    return not whole and _occurs_as_tokens(needle, text)


def _folded_words(text: str) -> str:
    """``text``'s words as a tool may give them back: width folded (NFKC), invisible characters and
    accents dropped, any punctuation a single space (``ｒｅｆｕｎｄ-approved`` → ``refund approved``)."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) not in _UNSEEN)
    return " ".join(_FOLDED_WORD.findall(unicodedata.normalize("NFKC", bare).casefold()))


def _echoed(needle: str, arguments: Mapping[str, Any]) -> bool:
    """``needle`` occurs in the call's own arguments (as a value, tokens of one, or a number in one),
    also in another spelling of the same words (a tool hands its arguments back normalised)."""
    number = float(needle) if _NUMBER.match(needle) else None
    words = _folded_words(needle)
    for _, scalar in _scalars(arguments):
        text = _norm(scalar)
        if needle == text or _occurs_as_tokens(needle, text):
            return True
        if number is not None and any(float(t) == number for t in _NUMBER_TOKEN.findall(text)):
            return True
        if words and _occurs_as_tokens(words, _folded_words(text)):
            return True
    return False


def returned_data(outcome: ToolOutcome) -> Any:
    """The part of a result that may ground evidence (the tool's evidence view, else all of it)."""
    view = evidence_views().get(outcome.tool)
    return view(outcome.data) if view is not None else outcome.data


def _field_path(field: str) -> tuple[str, ...]:
    return tuple(p for p in re.split(r"[.\[\]]+", field.strip().casefold()) if p and not p.isdigit())


def _problem(value: str, field: str | None, outcome: ToolOutcome) -> str | None:
    """Why ``value`` (in ``field``) is not returned data of ``outcome``, or None."""
    needle = _norm(value)
    where = f"call {outcome.call_id} ({outcome.tool})"
    if _echoed(needle, outcome.arguments):
        return f"value {value!r} occurs in the arguments of {where}: an echo of the call is not evidence"
    data = returned_data(outcome)
    if field:
        path = _field_path(field)
        if not path:
            return f"field {field!r} names no field"
        for keys, scalar in _scalars(data):
            if keys[-len(path) :] == path and _matches(needle, scalar, whole=True):
                return None
        return f"value {value!r} is not the value of field {field!r} in the result of {where}"
    weak = weakness(value)
    if weak:
        return (
            f"value {value!r} {weak}, too unspecific to ground a claim on its own: "
            f"name the result field holding it (field) or cite a more specific value"
        )
    if any(_matches(needle, scalar, whole=False) for _, scalar in _scalars(data)):
        return None
    return f"value {value!r} does not occur in the returned data of {where}"


def check_evidence(item: Evidence, outcomes: Mapping[str, ToolOutcome]) -> str | None:
    """Why ``item`` is not grounded, or None when it is."""
    outcome = outcomes.get(item.call_id)
    if outcome is None:
        return f"evidence cites call {item.call_id!r}, which was never made in this investigation"
    if not outcome.ok:
        return f"evidence cites call {item.call_id} ({outcome.tool}), which failed: {outcome.error}"
    return _problem(item.value, item.field, outcome)


def _check_related(item: RelatedItem, outcomes: Iterable[ToolOutcome]) -> str | None:
    succeeded = [o for o in outcomes if o.ok]
    for label, value in (("id", item.id), ("url", item.url)):
        if value is None:
            continue
        if weakness(value) or not any(_problem(value, None, o) is None for o in succeeded):
            return f"related {item.kind} {label} {value!r} does not occur in any tool result"
    return None


def _grounded(
    items: Iterable[Evidence], by_id: Mapping[str, ToolOutcome], rejected: list[str], where: str = ""
) -> list[Evidence]:
    kept: list[Evidence] = []
    for item in items:
        problem = check_evidence(item, by_id)
        if problem:
            rejected.append(f"{where}{problem}")
            continue
        # The cited call names its tool; a model's label for it is not provenance.
        kept.append(item.model_copy(update={"tool": by_id[item.call_id].tool}))
    return kept


def ground(diagnosis: Diagnosis, outcomes: Iterable[ToolOutcome]) -> tuple[Diagnosis, list[str]]:
    """Return the diagnosis keeping only grounded evidence and related items, and why the others were rejected."""
    outcomes = list(outcomes)
    by_id = {o.call_id: o for o in outcomes}
    rejected: list[str] = []
    kept = _grounded(diagnosis.evidence, by_id, rejected)
    hypotheses: list[CandidateCause] = []
    for rank, cause in enumerate(diagnosis.hypotheses, 1):
        where = f"hypothesis {rank} ({cause.category}): "
        supporting = _grounded(cause.supporting, by_id, rejected, where + "supporting ")
        refuting = _grounded(cause.refuting, by_id, rejected, where + "refuting ")
        hypotheses.append(cause.model_copy(update={"supporting": supporting, "refuting": refuting}))
    related: list[RelatedItem] = []
    for rel in diagnosis.related:
        problem = _check_related(rel, outcomes)
        if problem:
            rejected.append(problem)
        else:
            related.append(rel)
    verdict = GroundingVerdict(verified=len(kept), rejected=rejected)
    update = {"evidence": kept, "hypotheses": hypotheses, "related": related, "grounding": verdict}
    return diagnosis.model_copy(update=update), rejected


def with_call_ids(diagnosis: Diagnosis, aliases: Mapping[str, str | None]) -> Diagnosis:
    """Evidence citing the provider's tool-call id (``call_…``, ``toolu_…``) cites our id for that call."""

    def ours(items: list[Evidence]) -> list[Evidence]:
        return [
            e.model_copy(update={"call_id": aliases[e.call_id]}) if aliases.get(e.call_id) else e
            for e in items
        ]

    hypotheses = [
        h.model_copy(update={"supporting": ours(h.supporting), "refuting": ours(h.refuting)})
        for h in diagnosis.hypotheses
    ]
    return diagnosis.model_copy(update={"evidence": ours(diagnosis.evidence), "hypotheses": hypotheses})
