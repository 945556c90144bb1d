"""The figures a support lead reads, as data: one :class:`MetricsReport` per window.

The CLI (``casefile report metrics``), the service (``GET /v1/reports/metrics``), the dashboard
and the weekly review all read this one model, computed by
:func:`casefile.agent.metrics.compute.collect_metrics`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from casefile.agent.similar.clusters import Cluster

__all__ = ["Durations", "MetricsReport", "OutcomeSummary", "Slice", "TicketOutcome", "TriggerLine"]


class Durations(BaseModel):
    """Percentiles of a set of durations in seconds (nearest rank); None when there are none."""

    n: int = 0
    p50: float | None = None
    p95: float | None = None


class Slice(BaseModel):
    """The figures of one group of investigations: all of them, one team, one category, one week."""

    key: str = Field(description="'all', a team, a category, or a week's Monday (YYYY-MM-DD)")
    investigations: int = Field(description="investigations with a diagnosis in this group")
    escalations: int
    escalation_rate: float | None = Field(
        description="escalations / investigations; for a team, its escalations / all investigations"
    )
    investigation_time_s: Durations = Field(description="from the ticket's arrival to the diagnosis")
    time_to_escalation_s: Durations = Field(
        description="escalations only: from the start of the investigation to the escalation"
    )
    bounced: int = Field(description="escalations engineering sent back to support")
    bounce_rate: float | None = Field(description="bounced / escalations")
    outcome_known: int = Field(description="tickets whose helpdesk outcome is known (escalations always are)")
    outcome_unknown: int = Field(description="tickets whose helpdesk outcome could not be read")
    first_contact_resolved: int = Field(description="solved without escalation and without a reopen")
    fcr_rate: float | None = Field(description="first_contact_resolved / outcome_known")
    resolved_without_engineering: int = Field(description="solved in the helpdesk without an escalation")
    resolved_without_engineering_share: float | None = Field(
        description="resolved_without_engineering / outcome_known"
    )


class TriggerLine(BaseModel):
    """Escalations by the rule that made them: a trigger rule's id, or ``(decision)``."""

    rule: str
    escalations: int
    bounced: int
    bounce_rate: float | None


class TicketOutcome(BaseModel):
    """What the helpdesk says became of a ticket: its status and how often it was reopened."""

    ticket_id: int
    status: str = Field(description="Zendesk: new, open, pending, hold, solved, closed")
    reopens: int | None = Field(default=None, description="ticket_metrics.reopens; None when not read")

    @property
    def solved(self) -> bool:
        return self.status in ("solved", "closed")


class OutcomeSummary(BaseModel):
    """Where the helpdesk outcomes came from, and why some are unknown."""

    source: Literal["zendesk", "none"] = Field(description="the helpdesk read, or none configured")
    asked: int = Field(default=0, description="resolved tickets whose outcome was asked for")
    read: int = Field(default=0, description="of which the helpdesk answered")
    unknown: int = Field(default=0, description="tickets whose outcome is unknown (FCR not counted)")
    error: str | None = Field(default=None, description="why outcomes could not be read, when they could not")


class MetricsReport(BaseModel):
    """The numbers over one window: overall, per team, per category, per week and per trigger rule."""

    since: datetime = Field(description="the window's start: investigations created from then on")
    until: datetime = Field(description="the window's end (exclusive)")
    total: Slice = Field(description="every investigation of the window that reached a diagnosis")
    by_team: list[Slice] = Field(default_factory=list, description="per team escalated to")
    by_category: list[Slice] = Field(default_factory=list, description="per diagnosed category")
    by_week: list[Slice] = Field(default_factory=list, description="oldest first; weeks start on Monday")
    by_trigger: list[TriggerLine] = Field(default_factory=list)
    outcomes: OutcomeSummary
    top_clusters: list[Cluster] = Field(
        default_factory=list,
        description="the largest shared causes among investigations finished in the window (at most 5);"
        " all of them, with links, at /v1/reports/clusters",
    )
    notes: list[str] = Field(default_factory=list, description="what the figures cannot say, and why")
