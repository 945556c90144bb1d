"""The conversation, provider-neutral: what the model is told each turn and how its calls are read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from casefile.agent.models._prompt import outcome_block, render_opening, render_system
from casefile.agent.models._schema import SUBMIT_TOOL, parse_arguments, tool_specs
from casefile.agent.models.base import LoopState
from casefile.tools.base import ToolCall

# ---------------------------------------------------------------- the conversation, provider-neutral


@dataclass
class RawCall:
    """A tool call as a provider returned it: its own id, the name, parsed arguments or why they failed."""

    provider_id: str
    name: str
    arguments: dict[str, Any] | None
    error: str | None = None

    @classmethod
    def read(cls, provider_id: Any, name: Any, raw_arguments: Any) -> RawCall:
        """A call as it arrived on the wire: its arguments a JSON string or an already-parsed value."""
        arguments, error = parse_arguments(raw_arguments)
        return cls(str(provider_id), str(name), arguments, error)


@dataclass
class ResultBlock:
    """The answer to one of the model's tool calls, addressed by the provider's call id."""

    provider_id: str
    content: str
    is_error: bool = False


@dataclass
class UserTurn:
    """What the model is told this turn: tool results first (providers require that), then text."""

    results: list[ResultBlock] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    provider_id: str
    name: str
    runs: bool = False  # the loop was asked to run it (its outcome is in LoopState.answers)
    note: str | None = None  # the answer to send instead of an outcome


class Dialogue:
    """The provider-neutral state of one conversation with a model.

    Call ids: the model's calls get our own ids from the investigation's call ledger
    (``c<n>``, continuing after the preflight's), so evidence cites the same kind of id
    whatever the provider, and a local server that reuses ids across turns cannot confuse
    grounding.
    Each result is returned under the provider's id *and* labelled with ours;
    evidence citing the provider's id is read as ours (``LoopState.call_aliases``).
    """

    def __init__(self, state: LoopState) -> None:
        self.tools = tool_specs(state)
        self.system = render_system(state, self.tools)
        self._pending: list[_Pending] = []
        self._opened = False

    def user_turn(self, state: LoopState) -> UserTurn:
        turn = UserTurn()
        feedback = list(state.feedback)
        if not self._opened:
            self._opened = True
            turn.texts.append(render_opening(state))
        answers = iter(state.answers)
        for pending in self._pending:
            if pending.name == SUBMIT_TOOL and not pending.runs and pending.note != _SKIPPED_SUBMIT:
                problems = ([pending.note] if pending.note else []) + feedback
                feedback = []
                turn.results.append(ResultBlock(pending.provider_id, _rejection(problems), is_error=True))
            elif pending.note:
                turn.results.append(ResultBlock(pending.provider_id, pending.note, is_error=True))
            elif pending.runs and (outcome := next(answers, None)) is not None:
                turn.results.append(
                    ResultBlock(
                        pending.provider_id, outcome_block(outcome, None, state.withhold), not outcome.ok
                    )
                )
            else:
                turn.results.append(
                    ResultBlock(pending.provider_id, "not run: the tool-call budget is spent", is_error=True)
                )
        self._pending = []
        if feedback:
            turn.texts.append(
                _rejection(feedback) if _looks_like_rejection(feedback) else "\n".join(feedback)
            )
        if state.must_conclude:
            turn.texts.append(
                f"Budget reached: no more tool calls. Conclude now: call {SUBMIT_TOOL} with the best diagnosis "
                "the results above support (use insufficient_evidence and escalate if they do not)."
            )
        else:
            turn.texts.append(
                f"[turn {state.turn} of {state.budgets.max_turns}; {state.tool_calls_left} tool calls left]"
            )
        return turn

    def accept(self, calls: list[RawCall], state: LoopState) -> tuple[list[ToolCall], dict[str, Any] | None]:
        """The model's calls → calls for the loop to run, and the raw diagnosis if one was submitted."""
        submit = next((c for c in calls if c.name == SUBMIT_TOOL), None)
        diagnosis: dict[str, Any] | None = None
        if submit is not None:
            diagnosis = submit.arguments if submit.arguments is not None else {}
        runnable: list[ToolCall] = []
        for call in calls:
            pending = _Pending(call.provider_id, call.name)
            if call is submit:
                pending.note = call.error
            elif call.name == SUBMIT_TOOL:
                pending.note = _SKIPPED_SUBMIT
            elif submit is not None:
                pending.note = f"not run: {SUBMIT_TOOL} was called in the same turn"
            elif state.must_conclude:
                pending.note = f"not run: the budget is spent; call {SUBMIT_TOOL} now"
            elif call.error is not None:
                pending.note = f"not run: {call.error}"
            else:
                # The ledger gives it our id; the provider's id goes along so citations of it resolve.
                pending.runs = True
                runnable.append(ToolCall(id=call.provider_id, tool=call.name, arguments=call.arguments or {}))
            self._pending.append(pending)
        return runnable, diagnosis


_SKIPPED_SUBMIT = f"not run: only one {SUBMIT_TOOL} per turn is read"


def _looks_like_rejection(feedback: list[str]) -> bool:
    return not (len(feedback) == 1 and feedback[0].startswith("No tool calls"))


def _rejection(problems: list[str]) -> str:
    if not problems:
        return "The diagnosis was not accepted."
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        f"The diagnosis was rejected:\n{listed}\n"
        f"Fix these and call {SUBMIT_TOOL} again. Evidence must cite a call_id shown in a tool_result and a "
        "value that the tool returned (not one from your own call's arguments); a small number or a common "
        "word also needs the field holding it. Drop an item you cannot support."
    )
