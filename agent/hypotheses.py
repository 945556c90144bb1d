"""The offline investigator's ranked hypotheses: the chosen cause first, then the two likeliest others.

Nothing is decided here: the runbooks' findings and the differential's hypotheses
have already been weighed (``agent/models/offline.py``, ``agent/differential/``).
This module lays out what was weighed. Each candidate carries what supports it
(the evidence its finding or hypothesis cites) and what refutes it: the
differential's cited facts against that category (``Differential.against``), else,
for an alternative, the chosen cause's own evidence ("points to X instead"). Every
item is checked with the grounding rules first, so the list never adds a rejection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from casefile.agent.diagnosis import MAX_HYPOTHESES, CandidateCause, Evidence
from casefile.agent.grounding import check_evidence
from casefile.agent.models.base import LoopState
from casefile.agent.runbooks import Holding
from casefile.tools.base import ToolOutcome

__all__ = ["holding_evidence", "ranked_causes"]


def holding_evidence(state: LoopState, holding: Holding) -> list[dict[str, Any]]:
    """A runbook finding's evidence, each item citing the call behind its plan step (failed steps dropped)."""
    steps = state.step_calls.get(holding.runbook.id, {})
    evidence = []
    for item in holding.evidence:
        call_id = steps.get(str(item["step"]))
        outcome = state.outcome(call_id) if call_id else None
        if outcome is None or not outcome.ok:
            continue
        evidence.append(
            {
                "call_id": outcome.call_id,
                "tool": outcome.tool,
                "value": item["value"],
                "field": item.get("field"),
                "claim": item["claim"],
            }
        )
    return evidence


def _grounded(items: Iterable[Mapping[str, Any]], outcomes: Mapping[str, ToolOutcome]) -> list[Evidence]:
    kept: list[Evidence] = []
    seen: set[tuple[str, str]] = set()
    for raw in items:
        try:
            item = Evidence.model_validate(dict(raw))
        except ValueError:
            continue
        if (item.call_id, item.value) in seen or check_evidence(item, outcomes) is not None:
            continue
        seen.add((item.call_id, item.value))
        kept.append(item)
    return kept[:4]


def _refuting(against: list[dict[str, Any]], supporting: list[Evidence]) -> list[dict[str, Any]]:
    # Other deploys being ruled out says nothing against a cause that names its own deploy.
    if any(e.tool.startswith("deploys_") for e in supporting):
        return [a for a in against if not str(a.get("tool", "")).startswith("deploys_")]
    return against


def ranked_causes(
    state: LoopState,
    *,
    category: str,
    statement: str,
    confidence: float,
    evidence: Sequence[Mapping[str, Any]],
    holdings: Sequence[Holding] = (),
) -> list[dict[str, Any]]:
    """The chosen cause and up to two alternatives (distinct categories), as raw ``CandidateCause`` dicts."""
    outcomes = {o.call_id: o for o in state.outcomes}
    against = {c: [cite.model_dump() for cite in cites] for c, cites in state.differential.against.items()}
    supporting = _grounded(evidence, outcomes)
    chosen = CandidateCause(
        category=category,  # type: ignore[arg-type]  # validated by Diagnosis
        statement=statement,
        confidence=confidence,
        supporting=supporting,
        refuting=_grounded(_refuting(against.get(category, []), supporting), outcomes),
    )
    # Every other cause that was weighed: the differential's, and the runbook findings that held.
    others: dict[str, tuple[float, str, list[dict[str, Any]]]] = {}
    weighed = [
        (h.category, h.confidence, h.statement, [c.model_dump() for c in h.evidence])
        for h in state.differential.hypotheses
    ]
    weighed += [
        (h.finding.category, h.finding.confidence, h.statement, holding_evidence(state, h)) for h in holdings
    ]
    for cat, conf, text, cites in weighed:
        if cat != category and (cat not in others or conf > others[cat][0]):
            others[cat] = (conf, text, cites)
    causes = [chosen]
    for cat, (conf, text, cites) in sorted(others.items(), key=lambda kv: (-kv[1][0], kv[0])):
        if len(causes) == MAX_HYPOTHESES:
            break
        backing = _grounded(cites, outcomes)
        shared = {e.value for e in backing}
        instead = [
            {**e.model_dump(), "claim": f"points to {category} instead: {e.claim}"}
            for e in supporting
            if e.value not in shared
        ][:2]
        causes.append(
            CandidateCause(
                category=cat,  # type: ignore[arg-type]
                statement=text,
                # Ranked below the chosen cause, whatever its own finding claimed.
                confidence=round(min(conf, confidence), 2),
                supporting=backing,
                refuting=_grounded(_refuting(against.get(cat, []), backing) or instead, outcomes),
            )
        )
    return [c.model_dump() for c in causes]
