"""The interface every model provider implements, and what the loop shows it.

A model is asked for one turn at a time. It sees a :class:`LoopState` (the
ticket, signals, matched runbooks, every tool outcome so far, feedback on a
rejected diagnosis, whether it must conclude now) and answers with a
:class:`ModelReply`: tool calls to run, or a diagnosis to validate.

Two lifetimes, two classes: a :class:`Provider` lives as long as the environment
that holds it (its SDK client and connection pool are reused by every
investigation the service runs), and hands out a :class:`Model` per
investigation, which keeps that one conversation's history between turns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from casefile.agent.catalog import Catalog
from casefile.agent.differential.model import Differential
from casefile.agent.errors import ConfigError
from casefile.agent.ledger import CallLedger
from casefile.tools.base import Toolbox, ToolCall, ToolOutcome
from casefile.tools.errors import ReadOnlyViolation, ScopeViolation, SourceNotFound, ToolArgumentError

if TYPE_CHECKING:
    from casefile.agent.config import Budgets
    from casefile.agent.runbooks import Match
    from casefile.agent.ticket import Signals, Ticket

__all__ = [
    "LoopState",
    "Model",
    "ModelMisconfigured",
    "ModelReply",
    "ModelUnavailable",
    "Provider",
    "TurnUsage",
]

# Failed calls that say nothing about a source's health (our own mistakes or refusals, or the
# source answering that the thing asked for does not exist: an account without an IdP).
_NOT_AN_OUTAGE = frozenset(
    {ToolArgumentError.kind, ReadOnlyViolation.kind, ScopeViolation.kind, SourceNotFound.kind}
)


class ModelUnavailable(Exception):
    """The provider could not answer (after retries); the loop falls back to the offline investigator."""


class ModelMisconfigured(ConfigError):
    """The provider refused who or what we asked for (unknown model, bad key, no access: 401/403/404).

    Not an outage: retrying or standing in would hide a setup mistake behind
    plausible answers, so the loop lets it through and the run stops.
    """


class TurnUsage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0


class ModelReply(BaseModel):
    tool_calls: list[ToolCall] = Field(default_factory=list)
    diagnosis: dict[str, Any] | None = Field(default=None, description="raw diagnosis, validated by the loop")
    text: str = ""
    refusal: str | None = None
    usage: TurnUsage = Field(default_factory=TurnUsage)


@dataclass
class LoopState:
    ticket: Ticket
    signals: Signals
    account: dict[str, Any] | None
    matches: list[Match]
    toolbox: Toolbox
    budgets: Budgets
    context: dict[str, Any]
    """The runbook template context: ticket, signals, account, window and each plan step's result."""
    step_calls: dict[str, dict[str, str]] = field(default_factory=dict)
    """runbook id → plan step id → call id, so findings can cite the call behind a step."""
    outcomes: list[ToolOutcome] = field(default_factory=list)
    """Every call's outcome, in order (the ledger records into this list)."""
    calls: CallLedger | None = None
    """The investigation's one call ledger (ids, de-duplication, budget, origin): see agent/ledger.py."""
    new_outcomes: list[ToolOutcome] = field(default_factory=list)
    answers: list[ToolOutcome | None] = field(default_factory=list)
    """The outcome of each tool call of the model's last reply, in its order (None: not run, the
    budget was spent); an identical earlier call's outcome answers a repeated one."""
    feedback: list[str] = field(default_factory=list)
    call_aliases: dict[str, str | None] = field(default_factory=dict)
    """The provider's id of a model's tool call → our call id (None: the provider reused the id)."""
    must_conclude: bool = False
    turn: int = 0
    tool_calls_left: int = 0
    sent_tokens: int = 0
    """Input tokens sent so far by casefile's own count (providers' reported usage is not trusted)."""
    catalog: Catalog = field(default_factory=Catalog)
    """The company catalogue (roles); empty when the company has none and nothing could be inferred."""
    differential: Differential = field(default_factory=Differential)
    """The general differential diagnosis over the preflight evidence (agent/differential/)."""
    withhold: Callable[[str], str] = str
    """Text → the same text naming no other account of the directory (``agent/foreign.py``): what the
    model reads of anything drawn from results (the ledger applies it to each result itself)."""

    def outcome(self, call_id: str) -> ToolOutcome | None:
        return next((o for o in self.outcomes if o.call_id == call_id), None)

    def unavailable_sources(self) -> dict[str, str]:
        """Source → reason, for each source a call failed on (its first failure).

        A refused write or a malformed request says nothing about the source's
        health, so those do not count.
        """
        found: dict[str, str] = {}
        for outcome in self.outcomes:
            if not outcome.ok and outcome.error_kind not in _NOT_AN_OUTAGE:
                found.setdefault(outcome.source, outcome.error or "unavailable")
        return found


class Model(ABC):
    """One investigation's conversation with a provider: takes a turn at a time."""

    name: str = "model"
    owner: Provider | None = None
    """The provider this conversation alone uses (built by ``get_model``), closed with it; None: shared."""

    @abstractmethod
    async def turn(self, state: LoopState) -> ModelReply: ...

    async def aclose(self) -> None:
        """Release the provider when this conversation owns it; a shared provider stays open."""
        if self.owner is not None:
            await self.owner.aclose()


class Provider(ABC):
    """A model provider held for an environment's life: the SDK client and its connection pool."""

    name: str = "provider"

    @abstractmethod
    def conversation(self, transcript: str | Path | None = None) -> Model:
        """A fresh conversation for one investigation over this provider's client.

        ``transcript``: where this conversation's requests and responses are appended (None: nowhere)."""

    async def aclose(self) -> None:  # noqa: B027 - providers without a client have nothing to release
        """Close the SDK client."""

    def owned_conversation(self, transcript: str | Path | None = None) -> Model:
        """A conversation that closes this provider when it is closed (one-off use: a CLI call, a check)."""
        model = self.conversation(transcript)
        model.owner = self
        return model
