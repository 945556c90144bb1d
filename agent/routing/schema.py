"""The routing file's model: teams, the decision rule, evidence thresholds, symptoms and trigger rules
as ``prompts/routing.yaml`` writes them (its comments document the format)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from casefile.agent.handoff.config import TeamHandoff
from casefile.agent.runbooks import ProblemsError, Triggers
from casefile.agent.strict import StrictModel
from casefile.agent.templating import PROMPTS_DIR

__all__ = [
    "ROUTING_FILE",
    "UNINFORMATIVE",
    "CategoryRule",
    "DecisionRules",
    "EvidenceThresholds",
    "RoutingConfig",
    "RoutingError",
    "Symptom",
    "Team",
    "Trigger",
]

ROUTING_FILE = PROMPTS_DIR / "routing.yaml"


class Team(StrictModel):
    name: str
    channel: str
    queue: str | None = None
    requires: list[str] = Field(default_factory=list)
    handoff: TeamHandoff | None = None  # agent/handoff/config.py: each action off unless configured


class CategoryRule(StrictModel):
    threshold: float | None = Field(default=None, ge=0, le=1)
    fix: Literal["customer", "documented", "workaround", "ours"] = "ours"
    resolve_when: list[str] = Field(
        default_factory=list, description="facts that make a fix of ours resolvable (e.g. the errors stopped)"
    )


class DecisionRules(StrictModel):
    default_threshold: float = Field(default=0.75, ge=0, le=1)
    fallback_team: str = "support-l2"
    model_may_escalate: bool = True
    categories: dict[str, CategoryRule] = Field(default_factory=dict)

    def rule(self, category: str) -> tuple[float, str]:
        rule = self.categories.get(category) or CategoryRule()
        threshold = rule.threshold if rule.threshold is not None else self.default_threshold
        return threshold, rule.fix


class EvidenceThresholds(StrictModel):
    api_error_rate: float = Field(default=0.05, ge=0, le=1)
    storm_5xx_count: int = Field(default=200, ge=1)
    storm_5xx_rate: float = Field(default=0.2, ge=0, le=1)
    webhook_failure_rate: float = Field(default=0.2, ge=0, le=1)
    platform_webhook_failure_rate: float = Field(default=0.05, ge=0, le=1)
    latency_ratio: float = Field(default=1.5, gt=1)
    widespread_min_accounts: int = Field(default=3, ge=2)


class Matchers(Triggers):
    """A runbook's triggers, plus evidence facts from the tool results."""

    evidence: list[str] = Field(default_factory=list)


class Symptom(Matchers):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    team: str
    description: str = ""
    categories: list[str] = Field(default_factory=list)
    collect: list[str] = Field(default_factory=list)


class Trigger(Matchers):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    team: str
    description: str = ""
    priority: int = 0
    unless: list[str] = Field(default_factory=list)
    binding: bool = Field(
        default=False,
        description="always escalate to this team, whatever the diagnosis (security, data loss, privacy); "
        "otherwise the rule adds urgency and a candidate team, and the diagnosis decides",
    )
    scope: Literal["ask", "thread"] = Field(
        default="ask",
        description="where a binding rule's words bind: `ask`, the open request (the requester's comments "
        "after the last reply by someone else: a question already answered earlier in the thread only adds "
        "urgency); `thread`, anywhere in it (a reported breach stays open whatever was answered after it)",
    )


# Categories that name no cause: a trigger's team is as good a guess as any for them.
UNINFORMATIVE = frozenset({"insufficient_evidence"})


class RoutingConfig(StrictModel):
    """The parsed ``routing.yaml``."""

    version: Literal[1] = 1
    teams: dict[str, Team]
    decision: DecisionRules = Field(default_factory=DecisionRules)
    evidence: EvidenceThresholds = Field(default_factory=EvidenceThresholds)
    symptoms: list[Symptom] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    path: str = ""


class RoutingError(ProblemsError):
    """A routing file that cannot be used."""
