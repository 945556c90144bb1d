"""The service's request and response bodies (Pydantic models: they are its OpenAPI description)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.handoff.bounce import Verdict
from casefile.agent.handoff.deliver import DeliveryStatus
from casefile.agent.store.records import InvestigationHead

__all__ = [
    "ConfirmAccountIn",
    "FeedbackIn",
    "InvestigationCreated",
    "InvestigationView",
    "Skipped",
    "investigation_links",
]


class InvestigationCreated(BaseModel):
    id: str
    status: str
    ticket_id: str
    existing: bool = False
    links: dict[str, str]


class InvestigationView(InvestigationHead):
    diagnosis: Diagnosis | None = None
    sources: dict[str, dict[str, Any]] = Field(default={})
    links: dict[str, str]
    handoff: DeliveryStatus | None = Field(default=None, description="the hand-off's writes and their state")


class FeedbackIn(Verdict):
    via: Literal["api", "sidebar"] = "api"


class ConfirmAccountIn(BaseModel):
    account_id: str | None = None
    """The account the agent confirmed; default: the investigation's candidate."""


class Skipped(BaseModel):
    skipped: str


def investigation_links(inv: str) -> dict[str, str]:
    """Where a client finds an investigation, its events and its audit log."""
    base = f"/v1/investigations/{inv}"
    return {"self": base, "events": f"{base}/events", "audit": f"{base}/audit"}
