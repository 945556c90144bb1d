"""What one investigation produced: :class:`Investigation`.

The stored, ``--json`` and API shape stays the :class:`~casefile.agent.diagnosis.Diagnosis` (older
clients and stored investigations read it); the typed parts a caller wants are read from it here
instead of by key: routing's decision, the escalation :class:`~casefile.agent.packet.Packet`,
grounding, usage and the sources that could not be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from casefile.agent.diagnosis import Diagnosis, GroundingVerdict, UnavailableSource, Usage
from casefile.agent.events import Event
from casefile.agent.packet import Packet
from casefile.agent.runbooks import Match
from casefile.agent.ticket import Signals
from casefile.tools.base import ToolOutcome

__all__ = ["Investigation", "RoutingDecision"]


class RoutingDecision(BaseModel):
    """Routing's verdict: resolve, or escalate to a team (and which rule chose it)."""

    action: Literal["resolve", "escalate"]
    team: str | None = None
    reason: str | None = None
    trigger: str | None = None
    symptom: str | None = None
    channel: str | None = None


@dataclass
class Investigation:
    """The diagnosis, the evidence behind it and the typed views of what the run recorded."""

    diagnosis: Diagnosis
    signals: Signals
    matches: list[Match]
    outcomes: list[ToolOutcome]
    events: list[Event] = field(default_factory=list)
    skipped_steps: list[str] = field(default_factory=list)

    @property
    def decision(self) -> RoutingDecision:
        e = self.diagnosis.escalation
        if e is None:
            return RoutingDecision(action=self.diagnosis.action)
        return RoutingDecision(
            action=self.diagnosis.action,
            team=e.team,
            reason=e.reason,
            trigger=e.trigger,
            symptom=e.symptom,
            channel=e.channel,
        )

    @property
    def packet(self) -> Packet | None:
        """The escalation packet, typed (None when resolved, or for a packet stored before packets)."""
        e = self.diagnosis.escalation
        return Packet.model_validate(e.packet) if e is not None and e.packet else None

    @property
    def grounding(self) -> GroundingVerdict:
        return self.diagnosis.grounding

    @property
    def usage(self) -> Usage:
        return self.diagnosis.usage

    @property
    def unavailable_sources(self) -> list[UnavailableSource]:
        return self.diagnosis.unavailable_sources

    @property
    def sources(self) -> list[str]:
        """The sources this investigation called, in the order first called."""
        return list(dict.fromkeys(o.source for o in self.outcomes))
