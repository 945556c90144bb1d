"""The offline investigator: a deterministic model driven by the runbooks and the differential.

It needs no API key. The runbooks' plans and the general differential's
evidence have already run as preflight; this model evaluates every matched
runbook's findings over those results, weighs the strongest against the
differential (``agent/differential/arbiter.py``: a finding the general checks
contradict gives way), and otherwise concludes with the differential's most
probable cause, so a ticket no runbook explains still gets a category, an
honest confidence and the facts found. It is the default model and the fallback
when a provider fails.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casefile.agent.calibration import bound
from casefile.agent.diagnosis import Diagnosis
from casefile.agent.differential.arbiter import weigh
from casefile.agent.differential.model import Hypothesis
from casefile.agent.differential.topic import unread
from casefile.agent.hypotheses import holding_evidence, ranked_causes
from casefile.agent.models.base import LoopState, Model, ModelReply, Provider
from casefile.agent.phrasebook import reading
from casefile.agent.runbooks import Holding, evaluate, runbook_context
from casefile.tools.bugs_results import issues_in

if TYPE_CHECKING:
    from casefile.agent.routing import RoutingConfig

__all__ = ["OfflineModel", "OfflineProvider", "missing_source_cost", "offline_diagnosis"]

_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_BUG_ID = re.compile(r"^[A-Z][A-Z0-9]+-\d+$")


def _holdings(state: LoopState) -> list[Holding]:
    """Every finding that holds across the matched runbooks, strongest first."""
    found: list[tuple[tuple[int, float, int], int, Holding]] = []
    for match in state.matches:
        results = state.context.get("steps", {}).get(match.runbook.id, {})
        context = runbook_context(match.runbook, state.context, results)
        for holding in evaluate(match.runbook, context):
            key = (holding.finding.priority, holding.finding.confidence, match.score)
            found.append((key, len(found), holding))
    found.sort(key=lambda f: (tuple(-x for x in f[0]), f[1]))
    return [h for _, _, h in found]


def _best_holding(state: LoopState) -> tuple[Holding | None, float, list[str]]:
    """The strongest finding the differential does not contradict, its confidence change, and notes."""
    notes: list[str] = []
    for holding in _holdings(state):
        cited = {str(e["value"]) for e in holding.evidence if e.get("value")}
        verdict = weigh(
            holding.finding.category, holding.finding.confidence, cited, state.differential, _areas(state)
        )
        if verdict.use_runbook:
            if verdict.why:
                notes.append(verdict.why)
            return holding, verdict.confidence_delta, notes
        notes.append(f"runbook finding {holding.runbook.id}/{holding.finding.id} set aside: {verdict.why}")
    return None, 0.0, notes


def _areas(state: LoopState) -> frozenset[str]:
    """What the ticket is about: the signals' areas, and the API when it names a status, code or endpoint
    or its sign-in tokens or exports (requests to the API too)."""
    s = state.signals
    api = s.statuses or s.error_codes or s.endpoints or {"oauth", "export"} & set(s.areas)
    return frozenset([*s.areas, *(["api"] if api else [])])


def _related(evidence: list[dict[str, Any]], state: LoopState) -> list[dict[str, Any]]:
    related: list[dict[str, Any]] = []
    for item in evidence:
        value, tool = item["value"], item["tool"]
        if tool.startswith("bugs_") and _BUG_ID.match(value):
            outcome = state.outcome(item["call_id"])
            found = issues_in(outcome) if outcome is not None else []
            issue = next((i for i in found if i.identifier == value), None)
            related.append(
                {
                    "kind": "bug",
                    "id": value,
                    "title": issue.title if issue else "",
                    "url": issue.url if issue else None,
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
            # Sure of what it says: nothing could be checked until the customer says who they are.
            confidence=0.8,
            reasons=["account unresolved", "no tool could be run for this account"],
            action="escalate",
            # No system was checked, so no engineering team can act: the front line asks who they are.
            team=_front_line(),
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

    holding, delta, notes = _best_holding(state)
    best = state.differential.best
    if holding is None and best is not None:
        return _from_hypothesis(state, best, notes, unavailable, runbook_ids, fallback_reason)
    if holding is None:
        observed = "; ".join(state.differential.observations[:4])
        statement = (
            "The checks found no cause: "
            + (
                "no runbook matched this ticket"
                if not any(not m.runbook.triggers.always for m in state.matches)
                else "none of the runbooks' findings held"
            )
            + (
                f", and the general checks show only this: {observed}."
                if observed
                else ", and the general checks found nothing either."
            )
        )
        return _assemble(
            state,
            category="insufficient_evidence",
            statement=statement,
            summary="No cause found; escalating with what was collected.",
            confidence=0.25,
            reasons=[
                "no runbook finding held over the collected results",
                "the general differential found no candidate",
            ],
            action="escalate",
            team=team,
            evidence=[],
            reply=(
                "Thanks for the report. We've started looking into this and have passed it to our "
                "engineering team with the details we collected; we'll update you as soon as we know more."
            ),
            note=statement + _unresolved_note(state),
            unavailable=unavailable,
            runbook_ids=runbook_ids,
            fallback_reason=fallback_reason,
        )

    evidence = holding_evidence(state, holding)
    # The account's own errors belong in the evidence whatever the finding cites (what the
    # customer sees, in their words: status, code, message, key).
    have = {e["value"] for e in evidence}
    evidence += [c.model_dump() for c in state.differential.own_errors if c.value not in have][:2]
    # The general analysis of the same cause may have found more specific facts (the decline's reason).
    same = next((h for h in state.differential.hypotheses if h.category == holding.finding.category), None)
    have = {e["value"] for e in evidence}
    evidence += [c.model_dump() for c in (same.evidence if same else []) if c.value not in have][:2]
    confidence = min(0.92, holding.finding.confidence + delta)
    if holding.finding.category == "no_issue_found" and _reports_symptom(state):
        # The customer sees something and we see nothing: our checks may be looking in the wrong place.
        confidence = min(confidence, 0.85)
    reasons = list(holding.finding.confidence_reasons) or [
        f"runbook {holding.runbook.id}: {holding.finding.id}"
    ]
    reasons += notes
    # The runbook's finding and the general differential reached this cause each from results that
    # answered: a source that did not could only have corroborated it.
    best = state.differential.best
    agreed = best is not None and best.category == holding.finding.category
    for gone in unavailable:
        confidence -= missing_source_cost(agreed=agreed)
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
        note=holding.note + _ruled_out_note(state) + _unresolved_note(state),
        unavailable=unavailable,
        runbook_ids=runbook_ids,
        fallback_reason=fallback_reason,
    )


# What a source that did not answer costs the diagnosis' confidence: what it held might have changed
# the cause, unless two lines of evidence (a runbook's finding, the general differential) reached the
# cause each on its own, when it could only have corroborated it (an IdP's admin API down beside a
# certificate the metadata and the failing logins both show rotated).
MISSING_SOURCE = 0.1
MISSING_CORROBORATION = 0.05


def missing_source_cost(*, agreed: bool) -> float:
    """How much confidence one unavailable source costs; ``agreed``: two lines of evidence agree."""
    return MISSING_CORROBORATION if agreed else MISSING_SOURCE


def _reports_symptom(state: LoopState) -> bool:
    s = state.signals
    return bool(s.statuses or s.error_codes or s.exceptions or s.endpoints or s.areas)


def _ruled_out_note(state: LoopState) -> str:
    ruled = state.differential.ruled_out
    return (" Ruled out: " + "; ".join(ruled) + ".") if ruled else ""


def _unresolved_note(state: LoopState) -> str:
    unresolved = state.differential.unresolved
    return (" Catalogue: " + "; ".join(unresolved) + ".") if unresolved else ""


def _from_hypothesis(
    state: LoopState,
    hypothesis: Hypothesis,
    notes: list[str],
    unavailable: list[dict[str, str]],
    runbook_ids: list[str],
    fallback_reason: str | None,
) -> dict[str, Any]:
    """The diagnosis from the differential's most probable cause."""
    confidence = hypothesis.confidence
    reasons = [*hypothesis.reasons, *notes]
    runner_up = next((h for h in state.differential.hypotheses if h is not hypothesis), None)
    if (
        runner_up is not None
        and runner_up.confidence >= confidence - 0.1
        and runner_up.category != hypothesis.category
    ):
        confidence -= 0.05  # two causes fit almost equally well: say so in the number
        reasons.append(f"{runner_up.category} fits almost as well ({runner_up.confidence:.2f})")
    for gone in unavailable:
        confidence -= missing_source_cost(agreed=False)
        reasons.append(f"{gone['source']} was unavailable")
    fallback_team = state.matches[0].runbook.team if state.matches else "support-l2"
    if hypothesis.team is None and hypothesis.category not in _CAUSELESS:
        # A cause no catalogue component owns (an incident across accounts) goes where routing sends
        # its category, not to whichever runbook's keywords happened to match the ticket first.
        fallback_team = _category_team(hypothesis.category) or fallback_team
    return _assemble(
        state,
        category=hypothesis.category,
        statement=hypothesis.statement,
        component=hypothesis.component,
        summary=hypothesis.summary,
        confidence=max(0.05, round(confidence, 2)),
        reasons=reasons or ["general differential diagnosis"],
        action=hypothesis.action,
        team=hypothesis.team or fallback_team,
        evidence=[c.model_dump() for c in hypothesis.evidence],
        reply=hypothesis.reply,
        note=(hypothesis.note or hypothesis.statement) + _ruled_out_note(state) + _unresolved_note(state),
        unavailable=unavailable,
        runbook_ids=runbook_ids,
        fallback_reason=fallback_reason,
    )


_CAUSELESS = frozenset({"insufficient_evidence", "no_issue_found"})


def _routing() -> RoutingConfig | None:
    from casefile.agent.routing import RoutingError, load_routing

    try:
        return load_routing()
    except RoutingError:
        return None


def _category_team(category: str) -> str | None:
    """The team of the routing symptom that lists ``category``, if the routing file loads."""
    config = _routing()
    return next((s.team for s in config.symptoms if category in s.categories), None) if config else None


def _front_line() -> str:
    """Routing's fallback team: who asks the customer when nothing could be checked."""
    config = _routing()
    return config.decision.fallback_team if config else "support-l2"


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
    if (state.account or {}).get("id"):
        # What the investigation could not see bounds how sure it may be (agent/calibration.py).
        examined = {o.tool for o in state.outcomes if o.ok}
        text = state.ticket.full_text()
        limit = bound(
            category,
            confidence,
            state.signals,
            reading(text),
            examined,
            unread=unread(state) is not None,
            text=text,
        )
        confidence, reasons = limit.confidence, [*reasons, *limit.reasons]
        if limit.escalate and action != "escalate":
            action = "escalate"
            note += " Escalated rather than resolved: " + "; ".join(limit.reasons) + "."
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
        "hypotheses": ranked_causes(
            state,
            category=category,
            statement=statement,
            confidence=confidence,
            evidence=evidence,
            holdings=_holdings(state) if (state.account or {}).get("id") else (),
        ),
        "unavailable_sources": unavailable,
        "account_id": (state.account or {}).get("id"),
        "runbooks": runbook_ids,
        "model": "offline",
        "fallback_reason": fallback_reason,
    }
    Diagnosis.model_validate(diagnosis)  # our own output must always be valid
    return diagnosis


class OfflineProvider(Provider):
    """The embedded investigator: no client to hold, a new (stateless) conversation each time."""

    name = "offline"

    def conversation(self, transcript: str | Path | None = None) -> Model:
        return OfflineModel()


class OfflineModel(Model):
    """Concludes on its first turn from the preflight results."""

    name = "offline"

    async def turn(self, state: LoopState) -> ModelReply:
        return ModelReply(diagnosis=offline_diagnosis(state), text="runbook findings evaluated")
