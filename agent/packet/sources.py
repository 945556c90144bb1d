"""What a packet field's collector reads (:class:`Sources`) and answers (:class:`Collected` or
:class:`Missing`), what its filler reads (:class:`FillContext`), and a field's spec."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.ticket import Signals, Ticket
from casefile.tools.base import ToolOutcome

__all__ = [
    "MAX_FAILING",
    "MAX_ROWS",
    "Collected",
    "Collector",
    "FieldSpec",
    "FillContext",
    "Filler",
    "Missing",
    "Sources",
]

# How many failing requests, retry-log rows, similar tickets a packet carries.
MAX_ROWS = 5
# Failing requests carry full headers: fewer of them keep a Slack message readable.
MAX_FAILING = 3


@dataclass
class Sources:
    """Everything a collector may read: tool outcomes first, then the ticket and the account."""

    outcomes: Sequence[ToolOutcome]
    ticket: Ticket | None = None
    signals: Signals | None = None
    account: Mapping[str, Any] | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)

    def ok(self, tool: str, where: Callable[[ToolOutcome], bool] | None = None) -> list[ToolOutcome]:
        """Successful outcomes of ``tool`` with dict data, newest call last."""
        return [
            o
            for o in self.outcomes
            if o.tool == tool and o.ok and isinstance(o.data, dict) and (where is None or where(o))
        ]

    def why_not(self, tool: str) -> str:
        """Why no result of ``tool`` is available: it failed, or nobody called it."""
        failed = [o for o in self.outcomes if o.tool == tool and not o.ok]
        if failed:
            return f"{failed[-1].source} unavailable: {failed[-1].error}"
        return f"{tool} was not called"


@dataclass
class Collected:
    value: Any
    sources: list[str]


@dataclass
class Missing:
    reason: str


Collector = Callable[[Sources], Collected | Missing]


@dataclass
class FillContext:
    """What a filler needs to build its tool call."""

    account_id: str | None
    start: datetime
    end: datetime
    sources: Sources
    diagnosis: Diagnosis | None = None  # what the investigation concluded, for searches of history


Filler = Callable[[FillContext], tuple[str, dict[str, Any]] | None]


@dataclass(frozen=True)
class FieldSpec:
    label: str
    description: str
    collect: Collector
    fill: Filler | None = None
