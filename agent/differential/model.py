"""The differential diagnosis as data: what was observed, what was ruled out, the ranked causes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["Cite", "Differential", "Hypothesis", "cite"]


class Cite(BaseModel):
    """One observed fact, with the call whose result shows ``value`` (grounding checks it)."""

    call_id: str
    tool: str
    value: str
    claim: str
    field: str | None = None


def cite(call_id: str, tool: str, value: object, claim: str) -> list[Cite]:
    """``value`` of that call's result, cited; nothing when it is empty or one character (too weak to ground)."""
    text = "" if value is None else str(value)
    return [Cite(call_id=call_id, tool=tool, value=text, claim=claim)] if len(text) > 1 else []


class Hypothesis(BaseModel):
    """One candidate root cause, with how sure the evidence makes it and what it rests on."""

    category: str
    confidence: float = Field(ge=0, le=1)
    statement: str
    summary: str
    component: str | None = None
    reasons: list[str] = Field(default_factory=list)
    evidence: list[Cite] = Field(default_factory=list)
    action: Literal["resolve", "escalate"] = "escalate"
    team: str | None = Field(default=None, description="the owner by the catalogue, when it says")
    reply: str
    note: str = ""
    deploy_sha: str | None = None
    failing_share: float | None = Field(
        default=None, description="the share of its source's traffic that fails (requests, deliveries)"
    )


class Differential(BaseModel):
    """Scope, onset and shape, error semantics, change correlation and source health, then the causes."""

    scope: str = "unknown"
    onset: str | None = None
    ended_at: str | None = None
    shape: str = "none"
    error_class: str | None = None
    observations: list[str] = Field(default_factory=list)
    ruled_out: list[str] = Field(default_factory=list)
    ruled_out_deploys: list[str] = Field(default_factory=list, description="SHAs of deploys ruled out")
    unresolved: list[str] = Field(default_factory=list, description="roles the catalogue could not resolve")
    own_errors: list[Cite] = Field(
        default_factory=list,
        description="the account's own dominant errors (status, code, message, key), cited",
    )
    hypotheses: list[Hypothesis] = Field(default_factory=list)
    against: dict[str, list[Cite]] = Field(
        default_factory=dict, description="category → cited facts that argue against that cause"
    )

    @property
    def best(self) -> Hypothesis | None:
        return max(self.hypotheses, key=lambda h: h.confidence, default=None)

    def render(self) -> str:
        """The analysis as Markdown, for an LLM's first message and the internal note."""
        lines = [
            f"- scope: {self.scope}; onset: {self.onset or 'none found'}"
            + (f"; ended at {self.ended_at}" if self.ended_at else "")
            + f"; shape: {self.shape}"
            + (f"; dominant error class: {self.error_class}" if self.error_class else "")
        ]
        lines += [f"- {o}" for o in self.observations]
        lines += [f"- ruled out: {r}" for r in self.ruled_out]
        lines += [f"- unresolved role: {u}" for u in self.unresolved]
        for h in sorted(self.hypotheses, key=lambda h: -h.confidence)[:4]:
            cites = ", ".join(f"{c.call_id}={c.value}" for c in h.evidence[:4])
            lines.append(f"- candidate {h.category} ({h.confidence:.2f}): {h.statement} [{cites}]")
        return "\n".join(lines)
