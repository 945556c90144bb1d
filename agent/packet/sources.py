"""What a packet field's collector reads (:class:`Sources`, tool results as typed views) and answers
(:class:`Collected` or :class:`Missing`), what its filler reads (:class:`FillContext`), and a field's
spec."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.ticket import Signals, Ticket
from casefile.tools.base import GarbledResult, ToolOutcome

__all__ = [
    "MAX_FAILING",
    "MAX_ROWS",
    "Collected",
    "Collector",
    "FieldSpec",
    "FillContext",
    "Filler",
    "Missing",
    "Read",
    "Results",
    "Sources",
    "why_none",
]

# How many failing requests, retry-log rows, similar tickets a packet carries.
MAX_ROWS = 5
# Failing requests carry full headers: fewer of them keep a Slack message readable.
MAX_FAILING = 3

V = TypeVar("V", bound=BaseModel)


@dataclass(frozen=True)
class Read(Generic[V]):
    """One successful call's result read through its connector's typed view, with the call."""

    call_id: str
    view: V
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class Results(Generic[V]):
    """The results of one tool that read as its view (newest call last), and why there are none."""

    reads: list[Read[V]]
    why_not: str
    garbled: bool = False

    def __bool__(self) -> bool:
        return bool(self.reads)

    @property
    def last(self) -> Read[V]:
        return self.reads[-1]

    @property
    def call_ids(self) -> list[str]:
        return [r.call_id for r in self.reads]


def why_none(*found: Results[Any]) -> str:
    """Why none of several tools' results is there: a garbled one first (that is news), else the
    first tool's reason."""
    return next((r.why_not for r in found if r.garbled), found[0].why_not)


@dataclass
class Sources:
    """Everything a collector may read: tool outcomes first, then the ticket and the account."""

    outcomes: Sequence[ToolOutcome]
    ticket: Ticket | None = None
    signals: Signals | None = None
    account: Mapping[str, Any] | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)

    def read(self, tool: str, view: type[V], where: Callable[[V], bool] | None = None) -> Results[V]:
        """The successful results of ``tool`` as ``view`` (and satisfying ``where``), newest last.

        A result that does not read as the view (wrong types, missing fields) is left out and,
        when nothing else is left, named in ``why_not``: the packet says the source is garbled.
        """
        reads: list[Read[V]] = []
        problems: list[str] = []
        for outcome in self.outcomes:
            if outcome.tool != tool or not outcome.ok:
                continue
            try:
                typed = outcome.view(view)
            except GarbledResult as exc:
                problems.append(str(exc))
                continue
            if where is None or where(typed):
                reads.append(Read(outcome.call_id, typed, outcome.arguments))
        if problems:
            return Results(reads, problems[-1], garbled=True)
        return Results(reads, self.why_not(tool))

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
