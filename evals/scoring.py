"""Score one diagnosis against a golden case's expectations, and a run as a whole.

A case passes when the diagnosis was produced by the model under test (not the
offline investigator standing in for it), the category, the action and the team
are right, every required fact is cited, no forbidden claim appears and no
write was attempted. Grounding, calibration (Brier score), turns, tool calls,
tokens, cost and latency are measured but do not decide the pass.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from casefile.agent.calibration import limits_in
from casefile.agent.diagnosis import Spend
from casefile.agent.similar.observed import ObservedCode, observed_codes
from casefile.agent.similar.past import cited_values
from casefile.evals.cases import Expected
from casefile.tools.base import ToolOutcome

__all__ = ["CaseScore", "RunSummary", "brier", "diagnosis_text", "score_diagnosis", "summarise"]


class RankedCause(BaseModel):
    """One of a diagnosis' ranked candidate causes, as a run records it."""

    category: str
    confidence: float = Field(ge=0.0, le=1.0)


class CaseScore(Spend):
    """One case × one repeat, with what its investigation spent."""

    case_id: str
    repeat: int = 0
    tags: list[str] = Field(default_factory=list)
    passed: bool = False
    error: str | None = Field(default=None, description="the run itself failed (exception)")
    expected: dict[str, Any] = Field(default_factory=dict)
    category: str | None = None
    action: str | None = None
    team: str | None = None
    confidence: float | None = None
    confidence_reasons: list[str] = Field(default_factory=list, description="why the diagnosis was this sure")
    limits: list[str] = Field(
        default_factory=list,
        description="the calibration limits that capped the confidence (agent/calibration.py)",
    )
    category_ok: bool = False
    top3_ok: bool = Field(
        default=False, description="the expected category is among the diagnosis' top three hypotheses"
    )
    action_ok: bool = False
    team_ok: bool = False
    facts_cited: list[str] = Field(default_factory=list)
    cited: list[str] = Field(
        default_factory=list, description="the values the diagnosis' evidence and related items cited"
    )
    observed: list[ObservedCode] = Field(
        default_factory=list,
        description="the error codes the account's logs returned in the run, whatever the diagnosis says",
    )
    hypotheses: list[RankedCause] = Field(
        default_factory=list, description="the diagnosis' ranked candidate causes, the chosen one first"
    )
    facts_missing: list[str] = Field(default_factory=list)
    forbidden_found: list[str] = Field(default_factory=list)
    writes_attempted: int = 0
    grounding: float | None = Field(default=None, description="share of evidence items that verified")
    latency_ms: float = 0.0
    world: str | None = Field(default=None, description="the case's base world (its root layer)")
    requested_model: str = Field(default="offline", description="the model under test")
    diagnosed_by: str | None = Field(
        default=None, description="who produced the diagnosis: the requested model or the offline stand-in"
    )
    fallback_reason: str | None = None
    repairs: int = Field(default=0, description="rejected diagnoses sent back to the model to fix")
    rejections: int = Field(default=0, description="diagnoses the loop rejected (invalid or ungrounded)")
    transcript: str | None = None
    summary: str = ""
    reply: str = Field(default="", description="the draft customer reply")

    @property
    def stood_in(self) -> bool:
        """The offline investigator answered instead of the requested model: a failure of that model."""
        return self.diagnosed_by is not None and self.diagnosed_by != self.requested_model

    def failures(self) -> list[str]:
        """Why the case failed, in words."""
        if self.error:
            return [f"error: {self.error}"]
        reasons = []
        if self.stood_in:
            reasons.append(
                f"diagnosed by the {self.diagnosed_by} stand-in, not {self.requested_model}: "
                f"{self.fallback_reason or 'no reason recorded'}"
            )
        exp = self.expected
        if not self.category_ok:
            reasons.append(f"category {self.category} ≠ {exp.get('category')}")
        if not self.action_ok:
            reasons.append(f"action {self.action} ≠ {exp.get('action')}")
        if not self.team_ok:
            reasons.append(f"team {self.team} ≠ {exp.get('team')}")
        if self.facts_missing:
            reasons.append("not cited: " + ", ".join(self.facts_missing))
        if self.forbidden_found:
            reasons.append("forbidden claim: " + ", ".join(self.forbidden_found))
        if self.writes_attempted:
            reasons.append(f"{self.writes_attempted} write(s) attempted")
        return reasons


def diagnosis_text(diagnosis: Any) -> str:
    """Everything a diagnosis says, as one lower-cased text for fact and claim checks."""
    parts = [
        diagnosis.summary,
        diagnosis.root_cause.statement,
        diagnosis.root_cause.component or "",
        diagnosis.customer_reply,
        diagnosis.internal_note,
        *(f"{e.value} {e.claim}" for e in diagnosis.evidence),
        *(f"{r.id} {r.title}" for r in diagnosis.related),
        *diagnosis.confidence.reasons,
    ]
    if diagnosis.escalation is not None:
        parts.append(diagnosis.escalation.reason)
    return "\n".join(p for p in parts if p).lower()


def _said(diagnosis: Any) -> str:
    """What the diagnosis claims in its own words (not the evidence values it quotes)."""
    parts = [
        diagnosis.summary,
        diagnosis.root_cause.statement,
        diagnosis.customer_reply,
        diagnosis.internal_note,
        *(e.claim for e in diagnosis.evidence),
    ]
    return "\n".join(p for p in parts if p).lower()


def _top3(diagnosis: Any) -> list[str]:
    """The three likeliest causes: the ranked hypotheses, else (a diagnosis without them) the root cause alone."""
    ranked = [h.category for h in diagnosis.hypotheses[:3]]
    return ranked or [diagnosis.root_cause.category]


def score_diagnosis(
    case_id: str,
    expected: Expected,
    diagnosis: Any,
    outcomes: Sequence[Any] = (),
    *,
    repeat: int = 0,
    latency_ms: float | None = None,
    requested_model: str | None = None,
    events: Sequence[Any] = (),
) -> CaseScore:
    """Score a :class:`casefile.agent.diagnosis.Diagnosis` (and the tool outcomes and events behind it).

    ``requested_model`` is the model under test (default: whoever wrote the
    diagnosis); a diagnosis by anyone else fails.
    """
    rejected = [e for e in events if getattr(e, "kind", None) == "diagnosis_rejected"]
    text = diagnosis_text(diagnosis)
    said = _said(diagnosis)
    team = diagnosis.escalation.team if diagnosis.escalation is not None else None
    cited = [f for f in expected.must_cite if f.lower() in text]
    missing = [f for f in expected.must_cite if f.lower() not in text]
    forbidden = [c for c in expected.must_not_claim if c.lower() in said]
    verified = diagnosis.grounding.verified
    total = verified + len(diagnosis.grounding.rejected)
    action_ok = diagnosis.action == expected.action
    team_ok = (
        True
        if expected.action != "escalate" or expected.team is None
        else (team or "").lower() == expected.team.lower()
    )
    score = CaseScore(
        case_id=case_id,
        repeat=repeat,
        tags=list(expected.tags),
        expected=expected.model_dump(include={"category", "action", "team"}),
        category=diagnosis.root_cause.category,
        action=diagnosis.action,
        team=team,
        confidence=diagnosis.confidence.score,
        confidence_reasons=list(diagnosis.confidence.reasons),
        limits=limits_in(diagnosis.confidence.reasons),
        category_ok=diagnosis.root_cause.category == expected.category,
        top3_ok=expected.category in _top3(diagnosis),
        action_ok=action_ok,
        team_ok=team_ok,
        facts_cited=cited,
        cited=cited_values(diagnosis),
        observed=observed_codes([o for o in outcomes if isinstance(o, ToolOutcome)]),
        hypotheses=[RankedCause(category=h.category, confidence=h.confidence) for h in diagnosis.hypotheses],
        facts_missing=missing,
        forbidden_found=forbidden,
        writes_attempted=sum(1 for o in outcomes if getattr(o, "error_kind", None) == "read_only_violation"),
        grounding=round(verified / total, 3) if total else None,
        **diagnosis.usage.model_dump(include=set(Spend.model_fields)),
        latency_ms=latency_ms if latency_ms is not None else diagnosis.usage.duration_ms,
        requested_model=requested_model or diagnosis.model,
        diagnosed_by=diagnosis.model,
        fallback_reason=diagnosis.fallback_reason,
        repairs=sum(1 for e in rejected if e.data.get("sent_back")),
        rejections=len(rejected),
        summary=diagnosis.summary,
        reply=diagnosis.customer_reply,
    )
    score.passed = not score.failures()
    return score


class RunSummary(BaseModel):
    """Aggregates over every scored case × repeat of a run."""

    cases: int = 0
    runs: int = 0
    passed: int = 0
    pass_rate: float = 0.0
    pass_hat_k: float = Field(default=0.0, description="share of cases that passed on every repeat")
    category_accuracy: float = Field(default=0.0, description="top-1: the expected cause is the root cause")
    top3_accuracy: float = Field(
        default=0.0, description="the expected cause is among the top three hypotheses"
    )
    action_accuracy: float = 0.0
    team_accuracy: float = 0.0
    facts_recall: float = 0.0
    forbidden_claims: int = 0
    grounding: float | None = None
    brier: float | None = Field(default=None, description="mean (confidence − passed)²; lower is better")
    errors: int = 0
    fallbacks: int = Field(default=0, description="runs the offline stand-in diagnosed instead of the model")
    repairs: int = 0
    rejections: int = 0
    diagnosed_by: dict[str, int] = Field(
        default_factory=dict, description="runs by who produced the diagnosis (the model or the stand-in)"
    )
    turns: float = 0.0
    tool_calls: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else 0.0


def brier(scores: Iterable[CaseScore]) -> float | None:
    """Mean (confidence − passed)² over the runs the model diagnosed itself; None without any."""
    rated = [s for s in scores if s.confidence is not None and s.error is None and not s.stood_in]
    if not rated:
        return None
    return round(statistics.fmean(((s.confidence or 0.0) - float(s.passed)) ** 2 for s in rated), 4)


def summarise(scores: Sequence[CaseScore]) -> RunSummary:
    if not scores:
        return RunSummary()
    by_case: dict[str, list[CaseScore]] = {}
    for s in scores:
        by_case.setdefault(s.case_id, []).append(s)
    facts_total = sum(len(s.facts_cited) + len(s.facts_missing) for s in scores)
    groundings = [s.grounding for s in scores if s.grounding is not None]
    producers: dict[str, int] = {}
    for s in scores:
        if s.diagnosed_by:
            producers[s.diagnosed_by] = producers.get(s.diagnosed_by, 0) + 1
    latencies = sorted(s.latency_ms for s in scores)
    return RunSummary(
        cases=len(by_case),
        runs=len(scores),
        passed=sum(s.passed for s in scores),
        pass_rate=_share(s.passed for s in scores),
        pass_hat_k=_share(all(r.passed for r in runs) for runs in by_case.values()),
        category_accuracy=_share(s.category_ok for s in scores),
        top3_accuracy=_share(s.top3_ok for s in scores),
        action_accuracy=_share(s.action_ok for s in scores),
        team_accuracy=_share(s.team_ok for s in scores),
        facts_recall=round(sum(len(s.facts_cited) for s in scores) / facts_total, 4) if facts_total else 1.0,
        forbidden_claims=sum(len(s.forbidden_found) for s in scores),
        grounding=round(statistics.fmean(groundings), 4) if groundings else None,
        # Calibration is the model's own: a stand-in's confidence says nothing about the model under test.
        brier=brier(scores),
        errors=sum(1 for s in scores if s.error),
        fallbacks=sum(1 for s in scores if s.stood_in),
        repairs=sum(s.repairs for s in scores),
        rejections=sum(s.rejections for s in scores),
        diagnosed_by=producers,
        turns=round(statistics.fmean(s.turns for s in scores), 2),
        tool_calls=round(statistics.fmean(s.tool_calls for s in scores), 2),
        input_tokens=sum(s.input_tokens for s in scores),
        output_tokens=sum(s.output_tokens for s in scores),
        cost_usd=round(sum(s.cost_usd for s in scores), 6),
        latency_p50_ms=round(latencies[len(latencies) // 2], 1),
        latency_p95_ms=round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))], 1),
    )
