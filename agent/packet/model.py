"""The packet itself: what an escalated ticket carries to its team (JSON for tools, Markdown for people)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["Packet", "PacketCall", "PacketField"]


class PacketField(BaseModel):
    """One piece of context, with the calls (or ``ticket`` / ``accounts``) it was read from."""

    name: str
    label: str
    value: Any
    sources: list[str] = Field(
        description="call ids of the tool results this came from, or 'ticket'/'accounts'"
    )


class PacketCall(BaseModel):
    call_id: str
    tool: str
    arguments: dict[str, Any]
    ok: bool
    origin: str
    error: str | None = None


class Packet(BaseModel):
    """What an escalated ticket carries to its team: JSON for tools, Markdown for people."""

    ticket_id: str
    account_id: str | None = None
    account_name: str | None = None
    team: str = Field(description="the team's key in routing.yaml")
    team_name: str
    channel: str = Field(description="where the team takes escalations, e.g. a Slack channel")
    queue: str | None = Field(default=None, description="the team's Linear team key or helpdesk group")
    reason: str = Field(description="why this ticket is escalated (trigger rule, decision rule)")
    trigger: str | None = None
    symptom: str | None = None
    routed_by: str = Field(description="trigger | evidence | model | category | words | fallback")
    why: list[str] = Field(
        default_factory=list, description="how the team was chosen, evidence against words"
    )
    summary: str
    root_cause: dict[str, Any]
    confidence: float
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, description="the diagnosis' grounded evidence"
    )
    fields: list[PacketField] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    calls: list[PacketCall] = Field(default_factory=list)

    def field(self, name: str) -> PacketField | None:
        return next((f for f in self.fields if f.name == name), None)
