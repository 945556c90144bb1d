"""What a finished investigation asks of history, and what a resolved helpdesk ticket offers it.

When casefile looks for similar resolved tickets (the escalation packet's ``similar_tickets``),
the investigation has already found its evidence: the query is the ticket's own words plus the
identifiers the diagnosis cited (error codes, bug ids, deploys) and its category. A resolved
ticket is its subject, description, resolution and tags. ``casefile eval similar`` builds both
with these same functions, so it measures the ranking the product uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from casefile.agent.diagnosis import CATEGORIES
from casefile.agent.similar.evidence import (
    category_key,
    error_code_key,
    evidence_keys,
    family_key,
    mentioned,
    stated_categories,
    tag_categories,
    tag_families,
    value_keys,
)
from casefile.agent.similar.rank import Doc

__all__ = [
    "SimilarQuery",
    "category_trust",
    "investigation_query",
    "query_keys",
    "resolved_doc",
    "resolved_text",
]

_QUERY_CHARS = 2000
_MAX_EVIDENCE = 20
# How much a diagnosed category lifts the cases filed under it grows with the diagnosis' confidence:
# nothing up to UNSURE, fully from SURE (the step at 0.7 it replaces is the middle of the ramp).
UNSURE, SURE = 0.5, 0.9


class SimilarQuery(BaseModel):
    """The arguments of a similar-case search made after a diagnosis (``tickets_similar``'s)."""

    text: str
    evidence: list[str] = Field(default_factory=list, description="identifiers the diagnosis cited")
    codes: list[str] = Field(
        default_factory=list,
        description="error codes the account's logs answered it with, whatever the diagnosis says "
        "(codes by where they come from, whatever their shape: 2001, SailingLocked)",
    )
    category: str | None = Field(default=None, description="the diagnosed category")
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="the diagnosis' confidence in its category"
    )


def category_trust(confidence: float | None) -> float:
    """How much a diagnosed category counts as a key of the search, 0..1: a guess lifts the cases
    filed under its category less than a sure diagnosis (none given: fully, as a caller's own)."""
    if confidence is None:
        return 1.0
    return round(min(1.0, max(0.0, (confidence - UNSURE) / (SURE - UNSURE))), 3)


def investigation_query(
    subject: str,
    body: str,
    category: str | None = None,
    summary: str = "",
    cited: Iterable[str] = (),
    confidence: float | None = None,
    observed: Iterable[str] = (),
) -> SimilarQuery:
    """The ticket's words around the diagnosis' own (its category and summary, in the investigator's
    English whatever language the customer wrote in), the identifiers it cited, and the error codes
    the account's logs ``observed`` failing (facts of the run, kept whatever the diagnosis is worth:
    a resolved ticket naming the code the account fails with is similar whoever is right about why).

    A diagnosis is a key in proportion to its confidence (:func:`category_trust`). One that is a
    guess (no trust at all) or found no cause (``insufficient_evidence``) adds neither its words nor
    the identifiers its tools cited that the ticket does not name: those are the account's
    background as often as its cause, and a wrong guess would otherwise rank the cases it was wrong
    about (the ticket's own words and the identifiers it names decide)."""
    values = [v for v in dict.fromkeys(v.strip() for v in cited) if v and value_keys(v)]
    informative = category if category and category != "insufficient_evidence" else None
    trusted = informative if category_trust(confidence) > 0 else None
    if category is not None and trusted is None:
        values = _named_by(f"{subject}\n{body}", values)
    cause = " ".join(p for p in ((trusted or "").replace("_", " "), summary if trusted else "") if p)
    text = "\n".join(p for p in (subject, cause, body) if p).strip()[:_QUERY_CHARS]
    return SimilarQuery(
        text=text,
        evidence=values[:_MAX_EVIDENCE],
        codes=[c for c in dict.fromkeys(c.strip() for c in observed) if c and len(c.split()) == 1][
            :_MAX_EVIDENCE
        ],
        category=trusted,
        confidence=confidence if trusted else None,
    )


def _named_by(text: str, values: Sequence[str]) -> list[str]:
    """The cited ``values`` at least one of whose identifiers ``text`` names too."""
    own = evidence_keys(text)
    return [v for v in values if (keys := value_keys(v)) & (own | mentioned(text, keys))]


def query_keys(evidence: Iterable[str], category: str | None = None, codes: Iterable[str] = ()) -> set[str]:
    """The keys a query's evidence values, category and error codes stand for (``evidence.py``'s kinds)."""
    keys = {key for value in evidence for key in value_keys(value)} | {error_code_key(c) for c in codes}
    if category:
        keys.add(category_key(category))
        if family := family_key(category):
            keys.add(family)
    return keys


def resolved_text(subject: str, description: str, resolution: str | None, tags: Sequence[str]) -> str:
    """A resolved ticket as ranking reads it: what was asked, how it was solved, how it was tagged."""
    return "\n".join([subject, description, resolution or "", " ".join(tags)])


def resolved_doc(
    doc_id: str, subject: str, description: str, resolution: str | None, tags: Sequence[str]
) -> Doc:
    """A resolved ticket as a candidate; the categories its tags name are its evidence too, or, where
    they name none, those its resolution states in words."""
    named = tag_categories(tags, CATEGORIES) or stated_categories(resolution or "", CATEGORIES)
    keys = {category_key(c) for c in named} | tag_families(tags, CATEGORIES, named)
    return Doc(id=doc_id, text=resolved_text(subject, description, resolution, tags), evidence=keys)
