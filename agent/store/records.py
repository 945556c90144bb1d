"""What the store returns: an investigation, an audit row, a feedback record, a claim on work."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from casefile.agent.diagnosis import Diagnosis

__all__ = [
    "ACTIVE",
    "PRIORITIES",
    "STATUSES",
    "AuditRow",
    "Claim",
    "DuplicateInvestigation",
    "FeedbackRecord",
    "FeedbackVia",
    "InvestigationHead",
    "InvestigationRecord",
    "Priority",
    "Status",
    "first_bounces",
]

Status = Literal["queued", "running", "done", "failed", "interrupted"]
Priority = Literal["background", "on_demand"]
ACTIVE: tuple[str, ...] = ("queued", "running")
STATUSES: tuple[str, ...] = get_args(Status)
PRIORITIES: tuple[str, ...] = get_args(Priority)


class InvestigationHead(BaseModel):
    """Which ticket an investigation is of, who asked, and where it stands: the store's record and the
    API's view share these (the API shows no ``revision``)."""

    id: str
    ticket_id: str
    tenant: str | None = Field(
        default=None, description="whose investigation it is; only that tenant sees it"
    )
    status: Status
    created_at: datetime
    started_at: datetime | None = Field(default=None, description="when a worker took it up")
    finished_at: datetime | None = None
    source: str = Field(description="how the ticket reached casefile (its Ticket.source)")
    requested_by: str = Field(description="the caller that asked for it")
    priority: Priority = Field(description="on_demand (someone waits) runs before background")
    error: str | None = Field(default=None, description="why it failed, when it did")
    rerun_of: str | None = Field(default=None, description="the investigation this one runs again")


class InvestigationRecord(InvestigationHead):
    """One investigation as stored: who asked, where it stands, and its diagnosis once done."""

    revision: str | None = None
    diagnosis: Diagnosis | None = None


class AuditRow(BaseModel):
    """One tool call of one investigation: what ran, with which arguments, how it went, for whom."""

    investigation_id: str
    seq: int = Field(description="the row's place in the investigation's audit log, from 1")
    call_id: str
    tool: str
    source: str = Field(description="the connector the tool belongs to")
    origin: str = Field(description="who asked for the call: preflight, model or routing")
    arguments: dict[str, Any]
    ok: bool
    error_kind: str | None = Field(default=None, description="the failure's kind, e.g. timeout or not_found")
    error: str | None = None
    started_at: datetime
    duration_ms: float
    requested_by: str
    link: dict[str, Any] | None = Field(
        default=None, description="where a person can see the source: {label, url?, query?}"
    )


FeedbackVia = Literal["api", "cli", "sidebar", "slack"]


class FeedbackRecord(BaseModel):
    """One entry of an investigation's feedback history (e.g. the escalation bounced back to L1).

    The history is append-only: a later entry never replaces an earlier one, so an escalation
    counts as bounced when *any* entry of its history is a bounce (:func:`first_bounces`).
    """

    id: str
    investigation_id: str
    ticket_id: str
    bounced: bool
    article: str | None = Field(default=None, description="the help-center article that solves the ticket")
    snippet: str | None = Field(default=None, description="or the snippet (macro, reply text) that solves it")
    note: str | None = Field(default=None, description="the reason, in the receiving team's words")
    team: str | None = Field(default=None, description="the team the escalation went to, when recorded")
    via: FeedbackVia = "api"
    by: str
    created_at: datetime


def first_bounces(history: Iterable[FeedbackRecord]) -> dict[str, FeedbackRecord]:
    """Investigation id → its first bounce, over a feedback history: what counts an escalation as
    bounced (a later "not bounced" entry does not erase it)."""
    out: dict[str, FeedbackRecord] = {}
    for entry in sorted(history, key=lambda f: (f.created_at, f.id)):
        if entry.bounced and entry.investigation_id not in out:
            out[entry.investigation_id] = entry
    return out


class Claim(BaseModel):
    """Work a worker now holds the lease on: an investigation to run, or its internal note to deliver."""

    id: str
    phase: Literal["investigate", "deliver"]
    priority: Priority
    requested_by: str
    source: str
    deliver_to: str | None = Field(default=None, description="the Zendesk ticket to post the note on")
    attempt: int = Field(description="1 on the first claim of this phase, more after a crash or a retry")


class DuplicateInvestigation(Exception):
    """An active investigation already holds this idempotency key; ``existing_id`` names it."""

    def __init__(self, existing_id: str) -> None:
        super().__init__(f"investigation {existing_id} is already active for this ticket revision")
        self.existing_id = existing_id
