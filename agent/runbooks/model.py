"""A runbook's front matter as a model: triggers, plan steps, findings; and the problems a
runbook file can have."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from casefile.agent.diagnosis import CATEGORIES
from casefile.agent.errors import ConfigError
from casefile.agent.templating import PROMPTS_DIR
from casefile.agent.ticket import Signals

__all__ = [
    "RUNBOOKS_DIR",
    "EvidenceTemplate",
    "Finding",
    "PlanStep",
    "Problem",
    "ProblemsError",
    "Runbook",
    "RunbookError",
    "Triggers",
]


RUNBOOKS_DIR = PROMPTS_DIR / "runbooks"


class ProblemsError(ConfigError):
    """A file support engineers maintain that cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


class RunbookError(ProblemsError):
    """A runbook file that cannot be used."""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class Triggers(BaseModel):
    """What a ticket's own words and signals must show; runbooks and routing rules both match with it."""

    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)
    statuses: list[int] = Field(default_factory=list)
    error_codes: list[str] = Field(default_factory=list)
    exceptions: list[str] = Field(default_factory=list)
    areas: list[str] = Field(default_factory=list)
    # Runs on every ticket (e.g. a help-center search); ranked after every runbook a trigger chose.
    always: bool = False

    def hits(self, text: str, signals: Signals | None) -> list[str]:
        """Each trigger the ticket's text and signals hit, as a reason a person can read."""
        low = text.lower()
        hits = ["every ticket"] if self.always else []
        hits += [f"keyword {k!r}" for k in self.keywords if k.lower() in low]
        # A pattern hit shows the words it matched: people read these, not regexes.
        found = (re.search(p, text, re.IGNORECASE) for p in self.regex)
        hits += [f"words {m.group(0)!r}" for m in found if m]
        if signals is None:
            return hits
        hits += [f"status {s}" for s in self.statuses if s in signals.statuses]
        codes = {c.lower() for c in signals.error_codes}
        hits += [f"error code {c}" for c in self.error_codes if c.lower() in codes]
        # An exception matches by its full name or its class name (the part after the last dot).
        exceptions = [e.lower() for e in signals.exceptions]
        hits += [
            f"exception {e}"
            for e in self.exceptions
            if any(x == e.lower() or x.endswith("." + e.lower()) for x in exceptions)
        ]
        hits += [f"area {a}" for a in self.areas if a in signals.areas]
        return hits


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    needs: list[str] = Field(default_factory=list)
    when: str | None = None


class EvidenceTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: str
    value: str
    claim: str
    # The result field holding the value; needed when the value alone is unspecific (a small count).
    field: str | None = None


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    when: str
    priority: int = 0
    category: str
    statement: str
    component: str | None = None
    confidence: float = Field(ge=0, le=1)
    confidence_reasons: list[str] = Field(default_factory=list)
    action: Literal["resolve", "escalate"]
    team: str | None = None
    summary: str | None = None
    evidence: list[EvidenceTemplate] = Field(default_factory=list)
    reply: str
    note: str = ""

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}; one of: {', '.join(CATEGORIES)}")
        return value


class Runbook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    team: str
    triggers: Triggers = Field(default_factory=Triggers)
    let: dict[str, str] = Field(
        default_factory=dict, description="named expressions over results, usable by later steps and findings"
    )
    plan: list[PlanStep] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    body: str = ""
    path: str = ""
