"""The structured result of an investigation. Its JSON Schema is published by ``casefile schema``.

Two shapes: :class:`ModelDiagnosis` is exactly what a model writes (the submit tool's schema is
its JSON Schema, nothing removed by name); :class:`Diagnosis` adds what the run records about it
(ticket, account, runbooks, the model that ran, fallback, grounding, usage, unavailable sources,
routing's escalation and packet). The loop builds the second from the first, so a model has no
field in which to claim provenance. ``Diagnosis`` is the stored, ``--json`` and API shape.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from casefile.agent.ticket import AccountSource

__all__ = [
    "CATEGORIES",
    "MAX_HYPOTHESES",
    "CandidateCause",
    "Category",
    "Conclusion",
    "Confidence",
    "Diagnosis",
    "Escalation",
    "Evidence",
    "GroundingVerdict",
    "ModelCandidateCause",
    "ModelDiagnosis",
    "ModelEscalation",
    "ModelEvidence",
    "RelatedItem",
    "RootCause",
    "Spend",
    "UnavailableSource",
    "Usage",
    "recorded",
]

Category = Literal[
    "rate_limit",
    "known_bug",
    "deploy_regression",
    "platform_incident",
    "billing_past_due",
    "billing_canceled",
    "billing_plan_limit",
    "billing_card_declined",
    "sso_certificate_expired",
    "sso_certificate_mismatch",
    "sso_config",
    "sso_clock_skew",
    "webhook_customer_endpoint",
    "webhook_platform",
    "data_timezone",
    "ui_browser",
    "performance_account",
    "performance_platform",
    "customer_error",
    "no_issue_found",
    "insufficient_evidence",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]


class RootCause(BaseModel):
    category: Category
    statement: str = Field(min_length=1, description="one or two sentences: what broke and why")
    component: str | None = Field(
        default=None, description="the component at fault, e.g. api-gateway rate limiter"
    )


class ModelEvidence(BaseModel):
    """One fact the diagnosis rests on, citing the tool call it came from."""

    call_id: str = Field(description="id of the tool call whose result shows this")
    value: str = Field(
        min_length=1, description="the exact value from that result, e.g. '2026-11-20T08:12:00Z'"
    )
    field: str | None = Field(
        default=None,
        description="the result field holding the value, e.g. 'failures' or 'platform.failure_rate'; "
        "required when the value is a small number or a common word",
    )
    claim: str = Field(min_length=1, description="what this value shows")


class Evidence(ModelEvidence):
    """A cited fact as recorded: with the tool of the cited call (grounding fills it in)."""

    tool: str = Field(default="", description="name of that tool (filled in from the call)")


MAX_HYPOTHESES = 3


class _Cause(BaseModel):
    category: Category
    statement: str = Field(min_length=1, description="the cause in one sentence")
    confidence: float = Field(ge=0.0, le=1.0, description="how likely this cause is, 0..1")


class ModelCandidateCause(_Cause):
    """One candidate root cause that was weighed, with what speaks for and against it."""

    supporting: list[ModelEvidence] = Field(
        default_factory=list, description="values from tool results that speak for this cause"
    )
    refuting: list[ModelEvidence] = Field(
        default_factory=list, description="values from tool results that speak against it"
    )


class CandidateCause(_Cause):
    """A candidate cause as recorded: its evidence with the cited calls' tools."""

    supporting: list[Evidence] = Field(default_factory=list)
    refuting: list[Evidence] = Field(default_factory=list)


_HYPOTHESES = (
    "the most likely root causes weighed (at most three, distinct categories), ranked: the chosen root "
    "cause first, then the alternatives with what supports and refutes each"
)


class Confidence(BaseModel):
    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list)


class ModelEscalation(BaseModel):
    team: str
    reason: str


class Escalation(ModelEscalation):
    """An escalation as routing decided it: the team, why, and the packet it collected."""

    packet: dict[str, Any] = Field(
        default_factory=dict, description="context the team requires, from tool results"
    )
    missing: list[str] = Field(default_factory=list, description="context that could not be collected")
    trigger: str | None = Field(default=None, description="id of the trigger rule that forced the escalation")
    symptom: str | None = Field(default=None, description="id of the routing symptom that chose the team")
    channel: str | None = Field(
        default=None, description="where the team takes escalations, e.g. #eng-backend"
    )
    packet_markdown: str = Field(default="", description="the packet rendered for Slack/Linear")


class RelatedItem(BaseModel):
    kind: Literal["bug", "deploy", "ticket", "invoice", "certificate", "other"]
    id: str
    title: str = ""
    url: str | None = None


class UnavailableSource(BaseModel):
    source: str
    reason: str


class Spend(BaseModel):
    """What one investigation spent: a diagnosis' usage, and an eval case's score of it."""

    turns: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class Usage(Spend):
    cached_tokens: int = 0
    duration_ms: float = 0.0
    phases_ms: dict[str, float] = Field(default_factory=dict)


class GroundingVerdict(BaseModel):
    verified: int = 0
    rejected: list[str] = Field(default_factory=list, description="why each rejected evidence item failed")


class Conclusion(BaseModel):
    """What the model concludes and the frontline agent reads, in both shapes below."""

    summary: str = Field(min_length=1)
    root_cause: RootCause
    confidence: Confidence
    customer_reply: str = Field(min_length=1, description="draft reply to the customer")
    internal_note: str = Field(default="", description="note for the support team")
    action: Literal["resolve", "escalate"]
    related: list[RelatedItem] = Field(default_factory=list)


class ModelDiagnosis(Conclusion):
    """What a model submits, exactly: the submit tool's schema. Keys outside it are ignored (a model
    claiming ``"model": "offline"`` or a grounding verdict has nowhere to put it)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})

    evidence: list[ModelEvidence]
    escalation: ModelEscalation | None = None
    hypotheses: list[ModelCandidateCause] = Field(
        default_factory=list, max_length=MAX_HYPOTHESES, description=_HYPOTHESES
    )


class Diagnosis(Conclusion):
    """What the frontline agent receives: a model's (or the offline investigator's) conclusion with
    what the run recorded about it."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: str
    evidence: list[Evidence] = Field(default_factory=list)
    escalation: Escalation | None = None
    hypotheses: list[CandidateCause] = Field(
        default_factory=list, max_length=MAX_HYPOTHESES, description=_HYPOTHESES
    )
    unavailable_sources: list[UnavailableSource] = Field(default_factory=list)
    account_id: str | None = None
    account_source: AccountSource | None = Field(
        default=None, description="how the account was resolved (filled in by the loop)"
    )
    account_candidate: bool = Field(
        default=False,
        description="the account is only a candidate (named in the ticket's text, not the requester's "
        "verified domain): the customer reply says nothing about it until an agent confirms it",
    )
    runbooks: list[str] = Field(default_factory=list)
    model: str = "offline"
    fallback_reason: str | None = Field(
        default=None, description="set when the offline investigator stood in"
    )
    grounding: GroundingVerdict = Field(default_factory=GroundingVerdict)
    usage: Usage = Field(default_factory=Usage)

    @model_validator(mode="after")
    def _chosen_cause_first(self) -> Diagnosis:
        if not self.hypotheses:
            return self
        if self.hypotheses[0].category != self.root_cause.category:
            raise ValueError(
                f"hypotheses[0] is {self.hypotheses[0].category}, but the root cause is "
                f"{self.root_cause.category}: list the chosen cause first"
            )
        categories = [h.category for h in self.hypotheses]
        if len(set(categories)) != len(categories):
            raise ValueError(f"hypotheses repeat a category ({', '.join(categories)}): one entry per cause")
        return self


def recorded(submitted: ModelDiagnosis, **run: Any) -> Diagnosis:
    """The :class:`Diagnosis` of a submission, with what the run records about it (``ticket_id``,
    ``account_id``, ``model``, …); raises ``ValidationError`` when those are not valid."""
    return Diagnosis.model_validate({**submitted.model_dump(), **run})
