"""The offline investigator: a deterministic model driven by the runbooks.

It needs no API key. The runbooks' plans have already run as preflight; this
model evaluates every matched runbook's findings over those results, takes the
strongest finding that holds, and writes the Diagnosis with evidence that cites
the calls the finding's conditions rest on. It is the default model and the
fallback when a provider fails.
"""

from __future__ import annotations

import re
from typing import Any

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.models.base import LoopState, Model, ModelReply
from casefile.agent.runbooks import Holding, evaluate, runbook_context

__all__ = ["OfflineModel", "offline_diagnosis"]

_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_BUG_ID = re.compile(r"^[A-Z][A-Z0-9]+-\d+$")


def _best_holding(state: LoopState) -> Holding | None:
    best: tuple[tuple[int, float, int], Holding] | None = None
    for match in state.matches:
        results = state.context.get("steps", {}).get(match.runbook.id, {})
        context = runbook_context(match.runbook, state.context, results)
        for holding in evaluate(match.runbook, context)[:1]:
            key = (holding.finding.priority, holding.finding.confidence, match.score)
            if best is None or key > best[0]:
                best = (key, holding)
    return best[1] if best else None


def _related(evidence: list[dict[str, Any]], state: LoopState) -> list[dict[str, Any]]:
    related: list[dict[str, Any]] = []
    for item in evidence:
        value, tool = item["value"], item["tool"]
        if tool.startswith("bugs_") and _BUG_ID.match(value):
            outcome = state.outcome(item["call_id"])
            issues = (
                (outcome.data or {}).get("issues", []) if outcome and isinstance(outcome.data, dict) else []
            )
            issue = next((i for i in issues if i.get("identifier") == value), None)
            if (
                issue is None
                and outcome
                and isinstance(outcome.data, dict)
                and outcome.data.get("identifier")
            ):
                issue = outcome.data
            related.append(
                {
                    "kind": "bug",
                    "id": value,
                    "title": (issue or {}).get("title", ""),
                    "url": (issue or {}).get("url"),
                }
            )
        elif tool.startswith("deploys_") and (_SHA.match(value) or value.startswith("v")):
            related.append({"kind": "deploy", "id": value, "title": item["claim"]})
    return related


def offline_diagnosis(state: LoopState, *, fallback_reason: str | None = None) -> dict[str, Any]:
    """The runbook-driven diagnosis for the current state, as a raw Diagnosis dict."""
    unavailable = [{"source": s, "reason": r} for s, r in state.unavailable_sources().items()]
    team = state.matches[0].runbook.team if state.matches else "support-l2"
    runbook_ids = [m.runbook.id for m in state.matches]
    account_id = (state.account or {}).get("id")

    if account_id is None:
        who = state.ticket.requester.email or state.ticket.requester.name or "the requester"
        statement = (
            f"The account could not be resolved: {who} matches no account in the directory, "
            "so no system could be checked."
        )
        return _assemble(
            state,
            category="insufficient_evidence",
            statement=statement,
            summary="Account could not be resolved; nothing was checked.",
            confidence=0.1,
            reasons=["account unresolved", "no tool could be run for this account"],
            action="escalate",
            team=team,
            evidence=[],
            reply=(
                "Thanks for reaching out. So we can look into this, could you tell us your "
                "account or workspace name and the email address you use to sign in?"
            ),
            note=statement + " Ask the customer for their account before investigating further.",
            unavailable=unavailable,
            runbook_ids=runbook_ids,
            fallback_reason=fallback_reason,
        )

    holding = _best_holding(state)
    if holding is None:
        statement = "The checks the matching runbooks prescribe found no cause: " + (
            "no runbook matched this ticket." if not state.matches else "none of their findings held."
        )
        return _assemble(
            state,
            category="insufficient_evidence",
            statement=statement,
            summary="No cause found by the runbook checks; escalating with what was collected.",
            confidence=0.25,
            reasons=["no runbook finding held over the collected results"],
            action="escalate",
            team=team,
            evidence=[],
            reply=(
                "Thanks for the report. We've started looking into this and have passed it to our "
                "engineering team with the details we collected; we'll update you as soon as we know more."
            ),
            note=statement,
            unavailable=unavailable,
            runbook_ids=runbook_ids,
            fallback_reason=fallback_reason,
        )

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
    confidence = holding.finding.confidence
    reasons = list(holding.finding.confidence_reasons) or [
        f"runbook {holding.runbook.id}: {holding.finding.id}"
    ]
    for gone in unavailable:
        confidence -= 0.1
        reasons.append(f"{gone['source']} was unavailable")
    return _assemble(
        state,
        category=holding.finding.category,
        statement=holding.statement,
        component=holding.component,
        summary=holding.summary,
        confidence=max(0.05, round(confidence, 2)),
        reasons=reasons,
        action=holding.finding.action,
        team=holding.finding.team or holding.runbook.team,
        evidence=evidence,
        reply=holding.reply,
        note=holding.note,
        unavailable=unavailable,
        runbook_ids=runbook_ids,
        fallback_reason=fallback_reason,
    )


def _assemble(
    state: LoopState,
    *,
    category: str,
    statement: str,
    summary: str,
    confidence: float,
    reasons: list[str],
    action: str,
    team: str,
    evidence: list[dict[str, Any]],
    reply: str,
    note: str,
    unavailable: list[dict[str, str]],
    runbook_ids: list[str],
    fallback_reason: str | None,
    component: str | None = None,
) -> dict[str, Any]:
    diagnosis: dict[str, Any] = {
        "ticket_id": state.ticket.id,
        "summary": summary,
        "root_cause": {"category": category, "statement": statement, "component": component},
        "evidence": evidence,
        "confidence": {"score": confidence, "reasons": reasons},
        "customer_reply": reply,
        "internal_note": note,
        "action": action,
        "escalation": {"team": team, "reason": statement} if action == "escalate" else None,
        "related": _related(evidence, state),
        "unavailable_sources": unavailable,
        "account_id": (state.account or {}).get("id"),
        "runbooks": runbook_ids,
        "model": "offline",
        "fallback_reason": fallback_reason,
    }
    Diagnosis.model_validate(diagnosis)  # our own output must always be valid
    return diagnosis


class OfflineModel(Model):
    """Concludes on its first turn from the preflight results."""

    name = "offline"

    async def turn(self, state: LoopState) -> ModelReply:
        return ModelReply(diagnosis=offline_diagnosis(state), text="runbook findings evaluated")
