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

from pydantic import BaseModel, Field

from casefile.agent.similar.embed import Embedder
from casefile.agent.similar.evidence import evidence_keys
from casefile.agent.similar.rank import LOAD, Doc, LoadDefault, Ranking, rank

__all__ = ["PastCase", "SimilarDiagnoses", "case_doc", "case_text", "similar_diagnoses"]


class PastCase(BaseModel):
    """One finished investigation, reduced to what makes two cases the same."""

    investigation_id: str
    ticket_id: str
    subject: str = ""
    category: str
    summary: str = ""
    cited: list[str] = Field(default_factory=list, description="the values its evidence cited")
    action: str | None = None
    team: str | None = None
    finished_at: datetime | None = None


class SimilarDiagnosis(BaseModel):
    case: PastCase
    score: float
    meaning: float | None = None
    shared: list[str] = Field(default_factory=list)


class SimilarDiagnoses(BaseModel):
    ranking: str
    model: str | None = None
    note: str | None = None
    searched: int = 0
    cases: list[SimilarDiagnosis] = Field(default_factory=list)


def case_text(subject: str, category: str, summary: str) -> str:
    """The text a case is ranked by: subject, then the cause in words."""
    return f"{subject}\n{category.replace('_', ' ')}. {summary}".strip()


def case_doc(case: PastCase) -> Doc:
    keys: set[str] = set()
    for value in case.cited:
        keys |= evidence_keys(value)
    return Doc(
        id=case.investigation_id, text=case_text(case.subject, case.category, case.summary), evidence=keys
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
    wanted: set[str] = set()
    for value in cited:
        wanted |= evidence_keys(value)
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
