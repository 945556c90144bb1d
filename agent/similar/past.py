"""casefile's own past diagnoses as similar cases: what a stored investigation looks like to ranking.

A past case is its ticket's subject, the diagnosed cause (category words and the summary, in the
investigator's plain English whatever language the customer wrote in) and the identifiers its
evidence cited (bug ids, deploys, error codes). :func:`similar_diagnoses` ranks stored
investigations against the current ticket and diagnosis with the same mechanism as resolved
tickets (``rank.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from casefile.agent.similar.embed import Embedder
from casefile.agent.similar.evidence import category_key, evidence_keys, mentioned, value_keys
from casefile.agent.similar.query import category_trust, query_keys
from casefile.agent.similar.rank import LOAD, Doc, LoadDefault, Match, Ranking, rank

if TYPE_CHECKING:
    from casefile.agent.diagnosis import Diagnosis
    from casefile.agent.store import InvestigationRecord

__all__ = [
    "PastCase",
    "SimilarDiagnoses",
    "case_doc",
    "case_text",
    "cited_values",
    "past_case",
    "similar_diagnoses",
]


class PastCase(BaseModel):
    """One finished investigation, reduced to what makes two cases the same."""

    investigation_id: str
    ticket_id: str
    account_id: str | None = None
    subject: str = ""
    category: str
    confidence: float | None = Field(default=None, ge=0.0, le=1.0, description="how sure it was of it")
    summary: str = ""
    cited: list[str] = Field(default_factory=list, description="the values its evidence cited")
    action: str | None = None
    team: str | None = None
    finished_at: datetime | None = None
    tenant: str | None = None


class SimilarDiagnosis(Match):
    case: PastCase


class SimilarDiagnoses(BaseModel):
    ranking: str
    model: str | None = None
    note: str | None = None
    searched: int = 0
    cases: list[SimilarDiagnosis] = Field(default_factory=list)


def past_case(record: InvestigationRecord, subject: str = "") -> PastCase | None:
    """A stored investigation as a past case; None while it has no diagnosis."""
    diagnosis = record.diagnosis
    if diagnosis is None:
        return None
    return PastCase(
        investigation_id=record.id,
        ticket_id=record.ticket_id,
        account_id=diagnosis.account_id,
        subject=subject,
        category=diagnosis.root_cause.category,
        confidence=diagnosis.confidence.score,
        summary=diagnosis.summary,
        cited=cited_values(diagnosis),
        action=diagnosis.action,
        team=diagnosis.escalation.team if diagnosis.escalation else None,
        finished_at=record.finished_at,
        tenant=record.tenant,
    )


def cited_values(diagnosis: Diagnosis) -> list[str]:
    """The values a diagnosis cited: its evidence values and its related items' ids."""
    return [e.value for e in diagnosis.evidence] + [r.id for r in diagnosis.related]


def case_text(subject: str, category: str, summary: str) -> str:
    """The text a case is ranked by: subject, then the cause in words."""
    cause = " ".join(p for p in (category.replace("_", " "), summary) if p)
    return "\n".join(p for p in (subject, cause) if p)


def case_doc(case: PastCase) -> Doc:
    """A past case as a candidate: its category and the identifiers its conclusion names are its
    evidence; what else its investigation cited (the codes an account's logs always show, a field of
    every request) is incidental, and the same investigator cites the same background again. Its
    category is casefile's own conclusion, not a person's (``concluded``), as sure as it was."""
    text = case_text(case.subject, case.category, case.summary)
    cited = {k for value in case.cited for k in value_keys(value)}
    named = evidence_keys(text) | mentioned(text, cited)
    category = category_key(case.category)
    return Doc(
        id=case.investigation_id,
        text=text,
        evidence={category} | (cited & named),
        incidental=cited - named,
        concluded={category},
        trust=category_trust(case.confidence),
    )


def similar_diagnoses(
    subject: str,
    category: str,
    summary: str,
    cited: Iterable[str],
    past: Sequence[PastCase],
    *,
    exclude: Iterable[str] = (),
    limit: int = 3,
    embedder: Embedder | LoadDefault | None = LOAD,
) -> SimilarDiagnoses:
    """The past cases most like this one (by meaning and shared cited identifiers), best first."""
    skip = set(exclude)
    candidates = [c for c in past if c.investigation_id not in skip]
    wanted = query_keys(cited, category or None)
    ranking: Ranking = rank(
        case_text(subject, category, summary),
        [case_doc(c) for c in candidates],
        query_evidence=wanted,
        embedder=embedder,
        limit=limit,
    )
    by_id = {c.investigation_id: c for c in candidates}
    return SimilarDiagnoses(
        ranking=ranking.method,
        model=ranking.model,
        note=ranking.note,
        searched=len(candidates),
        cases=[
            SimilarDiagnosis(case=by_id[s.id], score=s.score, meaning=s.meaning, shared=s.shared)
            for s in ranking.results
        ],
    )
