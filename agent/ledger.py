"""One ledger of an investigation's tool calls: ids, de-duplication, the budget, each call's origin.

Three phases ask for calls: preflight (the runbooks' plans and the differential's evidence), the
model's turns, and routing (facts a rule needs, the escalation packet's fields). All of them run
through the investigation's :class:`CallLedger`, so

- every call gets an id unique across phases (``c1``, ``c2``, …), which evidence cites;
- an identical call (same tool, same arguments) already made is not made again: its outcome is
  answered, whichever phase made it (a call the deadline refused may be tried again later);
- every call counts against one budget (``Budgets.max_tool_calls``), routing's too: a request past
  it is not run and the caller is told (``None``);
- each call is labelled with the phase that asked for it (``preflight``, ``model``, ``routing``),
  as the audit log records it;
- what a model reads of a result (its rendering and error) is ``withhold``'s: the loop's replaces
  every other account of the directory (a resolved ticket, an article, a bug naming a customer).
  The data stays as it came: evidence is checked against it and it never leaves the process.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from casefile.tools.base import CallContext, CallOrigin, Toolbox, ToolCall, ToolOutcome

__all__ = ["CallLedger", "call_key"]

EventSink = Callable[[str, dict[str, Any]], None]


def call_key(tool: str, arguments: Mapping[str, Any]) -> str:
    """What makes two calls the same call: the tool and its arguments (order of keys ignored)."""
    return tool + json.dumps(arguments, sort_keys=True, default=str)


class CallLedger:
    """The calls of one investigation, in the order they were made."""

    def __init__(
        self,
        toolbox: Toolbox | None,
        ctx: CallContext,
        *,
        budget: int,
        on_event: EventSink | None = None,
        record: list[ToolOutcome] | None = None,
        withhold: Callable[[str], str] | None = None,
    ) -> None:
        self.toolbox = toolbox
        self.ctx = ctx
        self.budget = budget
        self.on_event = on_event
        # The list calls are recorded in; the loop's state shares it (models and the offline
        # investigator read the outcomes there).
        self.outcomes: list[ToolOutcome] = record if record is not None else []
        self._issued = len(self.outcomes)
        self._withhold = withhold

    @classmethod
    def of(cls, outcomes: list[ToolOutcome], now: datetime) -> CallLedger:
        """A ledger that makes no calls, over outcomes already recorded (routing them, tests)."""
        return cls(None, CallContext(now=now), budget=0, record=outcomes)

    @property
    def left(self) -> int:
        """Calls that may still be made."""
        return max(0, self.budget - len(self.outcomes))

    def has_tool(self, tool: str) -> bool:
        return self.toolbox is not None and self.toolbox.get(tool) is not None

    def outcome(self, call_id: str) -> ToolOutcome | None:
        return next((o for o in self.outcomes if o.call_id == call_id), None)

    def find(self, tool: str, arguments: Mapping[str, Any]) -> ToolOutcome | None:
        """The outcome of an identical call already made, unless the deadline refused it."""
        key = call_key(tool, arguments)
        return next(
            (o for o in self.outcomes if o.error_kind != "deadline" and call_key(o.tool, o.arguments) == key),
            None,
        )

    def _new_id(self) -> str:
        taken = {o.call_id for o in self.outcomes}
        self._issued += 1
        while f"c{self._issued}" in taken:
            self._issued += 1
        return f"c{self._issued}"

    def _withheld(self, outcome: ToolOutcome) -> ToolOutcome:
        if self._withhold is None:
            return outcome
        scrub = self._withhold
        error = None if outcome.error is None else scrub(outcome.error)
        return outcome.model_copy(update={"rendered": scrub(outcome.rendered), "error": error})

    async def run(
        self, requests: Sequence[tuple[str, Mapping[str, Any]]], origin: CallOrigin
    ) -> list[ToolOutcome | None]:
        """One outcome per request, in order, the new calls run concurrently: an identical earlier
        call's outcome (not run again, not counted), a new call's, or None when the budget is spent
        (or there is no toolbox)."""
        answers: list[ToolOutcome | str | None] = []
        batch: dict[str, ToolCall] = {}
        for tool, arguments in requests:
            key = call_key(tool, arguments)
            earlier = self.find(tool, arguments)
            if earlier is not None:
                answers.append(earlier)
            elif key in batch:
                answers.append(batch[key].id)
            elif self.toolbox is None or len(self.outcomes) + len(batch) >= self.budget:
                answers.append(None)
            else:
                call = ToolCall(id=self._new_id(), tool=tool, arguments=dict(arguments), origin=origin)
                batch[key] = call
                answers.append(call.id)
        if batch:
            assert self.toolbox is not None
            outcomes = await self.toolbox.execute_many(list(batch.values()), self.ctx, self.on_event)
            self.outcomes.extend(self._withheld(o) for o in outcomes)
        by_id = {o.call_id: o for o in self.outcomes}
        return [by_id[a] if isinstance(a, str) else a for a in answers]
