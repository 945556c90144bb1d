"""The call ledger: one owner of call ids, de-duplication, the budget and each call's origin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from llm_fixtures import diagnosis_args, run

from casefile.agent.config import Budgets
from casefile.agent.ledger import CallLedger
from casefile.agent.models.base import LoopState, ModelReply
from casefile.agent.models.scripted import ScriptedModel
from casefile.tools.base import CallContext, Connector, ToolArgs, Toolbox, ToolCall, operation

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


class EchoArgs(ToolArgs):
    n: int = 0


class Echo(Connector):
    """Counts how often it really ran."""

    source = "echo"

    def __init__(self) -> None:
        self.ran: list[int] = []

    @operation("echo_value", EchoArgs)
    async def value(self, args: EchoArgs, ctx: CallContext) -> dict[str, Any]:
        """Returns n."""
        self.ran.append(args.n)
        return {"n": args.n}


def _ledger(budget: int) -> tuple[CallLedger, Echo]:
    echo = Echo()
    return CallLedger(Toolbox([echo]), CallContext(now=NOW), budget=budget), echo


async def test_ids_are_unique_across_origins_and_each_call_is_labelled() -> None:
    ledger, _ = _ledger(10)
    await ledger.run([("echo_value", {"n": 1}), ("echo_value", {"n": 2})], "preflight")
    await ledger.run([("echo_value", {"n": 3})], "model")
    await ledger.run([("echo_value", {"n": 4}), ("echo_value", {"n": 5})], "routing")
    ids = [o.call_id for o in ledger.outcomes]
    assert ids == ["c1", "c2", "c3", "c4", "c5"]
    assert [o.origin for o in ledger.outcomes] == ["preflight", "preflight", "model", "routing", "routing"]


async def test_an_identical_call_runs_once_whoever_asks() -> None:
    ledger, echo = _ledger(10)
    first = await ledger.run([("echo_value", {"n": 1}), ("echo_value", {"n": 1})], "preflight")
    again = await ledger.run([("echo_value", {"n": 1}), ("echo_value", {"n": 2})], "routing")
    assert echo.ran == [1, 2]
    assert first[0] is first[1] is again[0] and first[0] is not None and first[0].origin == "preflight"
    assert ledger.left == 8  # answers from earlier calls cost nothing


async def test_routing_cannot_exceed_the_budget() -> None:
    ledger, echo = _ledger(3)
    await ledger.run([("echo_value", {"n": 1}), ("echo_value", {"n": 2})], "preflight")
    answers = await ledger.run([("echo_value", {"n": n}) for n in (3, 4, 5)], "routing")
    assert [a.call_id if a else None for a in answers] == ["c3", None, None]
    assert echo.ran == [1, 2, 3] and ledger.left == 0 and len(ledger.outcomes) == 3


async def test_a_call_the_deadline_refused_may_be_made_again() -> None:
    ledger, echo = _ledger(5)
    refused = await Toolbox([Echo()]).execute(
        ToolCall(id="c1", tool="echo_value", arguments={"n": 1}, origin="preflight"),
        CallContext(now=NOW),
    )
    ledger.outcomes.append(refused.model_copy(update={"ok": False, "error_kind": "deadline", "data": None}))
    (again,) = await ledger.run([("echo_value", {"n": 1})], "routing")
    assert again is not None and again.ok and again.call_id == "c2" and echo.ran == [1]


async def test_model_turns_share_the_ledger_with_preflight(toolbox: Toolbox) -> None:
    """The model repeats a preflight call and asks for more than the budget: one id space, one budget."""
    repeat = ToolCall(id="call_a", tool="logs_recent_requests", arguments={"account_id": "acme", "limit": 5})
    fresh = [
        ToolCall(id=f"call_{n}", tool="logs_recent_requests", arguments={"account_id": "acme", "limit": n})
        for n in (1, 2, 3)
    ]

    def conclude(state: LoopState) -> ModelReply:
        answers = state.answers
        assert answers[0] is not None and answers[0].origin == "preflight"  # preflight's outcome, reused
        assert answers[1] is not None and answers[1].origin == "model"
        assert answers[2:] == [None, None]  # the budget was spent
        assert state.call_aliases["call_a"] == answers[0].call_id
        return ModelReply(diagnosis=diagnosis_args(call_id="call_a", value="acme"))

    model = ScriptedModel([ModelReply(tool_calls=[repeat, *fresh]), conclude], name="openai:gpt-x")
    result = await run(model, toolbox, budgets=Budgets(max_tool_calls=3))
    model.assert_complete()
    ids = [o.call_id for o in result.outcomes]
    assert len(ids) == len(set(ids)) == 3
    assert [o.origin for o in result.outcomes] == ["preflight", "preflight", "model"]
    assert result.diagnosis.usage.tool_calls == 3
