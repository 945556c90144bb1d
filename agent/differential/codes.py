"""Error codes that say nothing by their words, read through the company's own help center.

``E2412`` or ``40317`` on a 403 could be a permission, a plan limit or a blocked account: the
code is opaque and its status is ambiguous. Companies that use such codes explain them in their
help center ("adding employees past your plan is refused with E2412 until you upgrade"). The
differential searches the help center for each opaque code the account is getting
(``evidence.collect``) and reads the article that names the code: its label when it is labelled
with a diagnosis category (the company's own statement of the cause, as ``agent/articles.py``
reads it), else the words of its sentence about the code, classified like an error message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from casefile.agent.differential.model import Cite
from casefile.agent.differential.semantics import ErrorClass, classify, worded
from casefile.agent.signals.text import code_name, extract_error_codes
from casefile.tools.docs import Article, DocsSearchResult

if TYPE_CHECKING:
    from casefile.agent.differential.evidence import Evidence

__all__ = ["CodeMeaning", "explained", "meaning", "naming", "opaque"]

# Diagnosis categories an article may be labelled with, as the class of error they explain.
_LABELS: dict[str, ErrorClass] = {
    "billing_plan_limit": "plan_limit",
    "billing_past_due": "billing",
    "billing_canceled": "billing",
    "billing_card_declined": "billing",
    "rate_limit": "rate_limit",
}
_SENTENCE = re.compile(r"[^.!?\n]*[.!?\n]?")


def opaque(code: str | None) -> bool:
    """A code that names no meaning by its words (``E2412``, ``ERR-1042``, ``40317``)."""
    return bool(code) and not worded(code or "")


@dataclass(frozen=True)
class CodeMeaning:
    """What the help center says a code means, and the article that says it."""

    code: str
    cls: ErrorClass
    article: Article
    said: str
    """The article's words about the code (its title, or its sentence naming the code)."""

    def cite(self, call_id: str) -> list[Cite]:
        return [
            Cite(
                call_id=call_id,
                tool="docs_search",
                value=self.article.title,
                claim=f"the help center explains {self.code}: {self.said}",
            )
        ]


def _named(code: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(code)}(?![\w-])", re.IGNORECASE)


def naming(code: str, status: int | None, article: Article) -> list[str]:
    """The sentences of ``article`` (its title first) that name ``code`` as a code: a whole word, not a
    number written there as an HTTP status."""
    named = _named(code)
    return [
        s
        for s in _SENTENCE.findall(f"{article.title}.\n{article.snippet}")
        if any(not _as_status(s, m, code, status) for m in named.finditer(s))
    ]


def meaning(code: str, status: int | None, found: DocsSearchResult) -> CodeMeaning | None:
    """The meaning the help center gives ``code`` (on a ``status``), from the first article naming it."""
    named = _named(code)
    for article in found.articles:
        sentences = [_about(s.strip(), named, code) for s in naming(code, status, article)]
        if not sentences:
            continue
        said = " ".join(sentences)
        label = next((_LABELS[x] for x in article.labels if x in _LABELS), None)
        # The code's own words say nothing: the sentence about it is read as its message.
        text = named.sub(" ", said)
        if label is not None or worded(text):
            return CodeMeaning(
                code=code, cls=label or classify(status, None, text), article=article, said=said
            )
    return None


# Words after which a number is an HTTP status: "answers 402", "HTTP 402", "returns status 402".
_STATUS_BEFORE = re.compile(
    r"(?:\bhttps?|\bstatus(?:\s+code)?|\banswer(?:s|ed)?|\breturn(?:s|ed)?|\brespond(?:s|ed)?|\bwith)\W{0,2}$",
    re.IGNORECASE,
)


def _as_status(sentence: str, at: re.Match[str], code: str, status: int | None) -> bool:
    """Whether the code ``at`` marks in ``sentence`` is written there as an HTTP status ("the API answers 402
    with code 9402"), when the code is a number and not its row's own status: a protocol's ``402`` inside a
    200 is not the status a neighbouring interface answers."""
    if not code.isdigit() or str(status) == code:
        return False
    return bool(_STATUS_BEFORE.search(sentence[: at.start()]))


def _about(sentence: str, named: re.Pattern[str], code: str) -> str:
    """What ``sentence`` says of the code ``named`` matches: in a list of codes (a reference article's "402
    INVOICE_OVERDUE (40230), 409 OFFSET_MISMATCH (40901), …", or "9402 account on hold, 9409 property limit")
    only its own clause, not its neighbours'. Its neighbours are the codes the text says are codes, and the
    tokens of ``code``'s own shape (another number)."""
    siblings = [*extract_error_codes(sentence), *_same_shape(sentence, code)]
    if not any(not named.fullmatch(c) for c in siblings):
        return sentence
    return " ".join(c.strip() for c in re.split(r"[,;]", sentence) if named.search(c))


def _shape(token: str) -> str:
    """A token's shape: its runs of letters as ``a``, its runs of digits as ``9`` (``9409`` and ``95`` →
    ``9``, ``AK5-R-5`` → ``a9-a-9``): a list of codes numbers them alike, whatever their length."""
    return re.sub(r"\d+", "9", re.sub(r"[^\W\d_]+", "a", token))


def _same_shape(sentence: str, code: str) -> list[str]:
    """The tokens of ``sentence`` shaped like ``code`` when it holds a digit (a bare word is no list's
    neighbour: "limit" beside "limit"): "9402 account on hold, 95 booking already cancelled"."""
    if not any(ch.isdigit() for ch in code):
        return []
    shape = _shape(code)
    return [t for t in re.findall(r"[\w-]+", sentence) if _shape(t) == shape]


def explained(evidence: Evidence, code: str | None, status: int | None) -> tuple[CodeMeaning, str] | None:
    """What the help center search of this investigation says ``code`` means, and that call's id."""
    if code is None:
        return None
    found = evidence.code_docs.get(code_name(code))
    if found is None:
        return None
    result = found.data
    said = meaning(code_name(code), status, result)
    return (said, found.call_id) if said is not None else None
