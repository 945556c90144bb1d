"""Round-4 attacks on "always finishes": models and sources that never let an investigation end.

Every investigation here has a deadline under a second (or a turn budget) and must return a
diagnosis in time, naming what it could not check. No sleeps stand in for clocks: what hangs
waits on an event that never fires, and the deadline is the loop's own.

* models that never submit: the same call every turn, a new call every turn, no call and no
  diagnosis, an invalid diagnosis every turn, a turn that never returns;
* a tool or a model turn that swallows its cancellation and keeps going (a plug-in or SDK
  that catches ``CancelledError``): ``asyncio.wait_for`` waited for it, so the deadline was
  only as good as the slowest clean-up;
* the new sources hanging: the IdP admin API, the help center, the investigation store.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import SecretStr
from service_helpers import light_env
from test_demo import TICKETS

from casefile.agent.config import Budgets, Settings
from casefile.agent.intake import load_ticket
from casefile.agent.models.base import LoopState, Model, ModelReply
from casefile.agent.pipeline import Environment, run_investigation
from casefile.tools.base import CallContext, Connector, ToolArgs, Toolbox, ToolCall, operation
from casefile.tools.cases import CasesConnector
from casefile.tools.deadline import Deadline, bound
from casefile.tools.sso_admin import IdPAdminConnector, IdPAdminSettings

TICKET = TICKETS / "429-spike.json"
# What hangs here would hang for ever (or 30 s); the deadlines are 0.4–0.6 s. The slack is for a
# loaded machine, not for the mechanism.
SLACK_S = 6.0
CALL = ToolCall(id="m1", tool="logs_recent_requests", arguments={"account_id": "acme", "limit": 5})


class Looping(Model):
    """A model that never submits: ``reply(turn)`` every turn."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.turns = 0
        self.name = "loop:model"

    async def turn(self, state: LoopState) -> ModelReply:
        self.turns += 1
        return self.reply(self.turns)  # type: ignore[no-any-return]


class Stuck(Model):
    """A turn that never returns; with ``stubborn``, it swallows its cancellation and keeps waiting."""

    name = "stuck:model"

    def __init__(self, stubborn: bool = False) -> None:
        self.stubborn = stubborn

    async def turn(self, state: LoopState) -> ModelReply:
        await _forever(stubborn=self.stubborn)
        raise AssertionError("unreachable")


def investigate(env: Environment, model: Model, **budgets: Any) -> tuple[float, Any]:
    settings = Settings(budgets=Budgets(**budgets))
    t0 = time.monotonic()
    result = asyncio.run(run_investigation(load_ticket(TICKET), env, settings, model=model))
    return time.monotonic() - t0, result


def test_a_model_repeating_one_call_forever_ends_on_its_turn_budget(env: Environment) -> None:
    model = Looping(lambda n: ModelReply(tool_calls=[CALL.model_copy(update={"id": f"m{n}"})]))
    _, result = investigate(env, model, max_turns=5, max_repairs=1)
    assert model.turns <= 5
    d = result.diagnosis
    assert d.model == "offline" and d.fallback_reason
    runs = [o for o in result.outcomes if o.tool == CALL.tool and o.origin == "model"]
    assert len({o.call_id for o in runs}) <= 1  # the ledger answered the repeats: one real call


def test_a_model_asking_a_new_call_every_turn_ends_on_its_call_budget(env: Environment) -> None:
    def new_call(n: int) -> ModelReply:
        return ModelReply(
            tool_calls=[
                CALL.model_copy(update={"id": f"m{n}", "arguments": {"account_id": "acme", "limit": n}})
            ]
        )

    model = Looping(new_call)
    _, result = investigate(env, model, max_turns=40, max_tool_calls=25, max_repairs=1)
    assert result.diagnosis.model == "offline" and result.diagnosis.fallback_reason
    assert len(result.outcomes) <= 25 + 10  # the budget (routing's packet calls count too)


@pytest.mark.parametrize(
    "reply",
    [
        lambda n: ModelReply(),  # no call, no diagnosis
        lambda n: ModelReply(diagnosis={"summary": "x"}),  # never valid
        lambda n: ModelReply(
            diagnosis={
                "summary": "s",
                "root_cause": {"category": "rate_limit", "statement": "s"},
                "evidence": [{"call_id": "c999", "value": "REL-482", "claim": "never made"}],
                "confidence": {"score": 0.9},
                "customer_reply": "r",
                "action": "resolve",
            }
        ),  # never grounded
    ],
    ids=["silent", "invalid", "ungrounded"],
)
def test_a_model_that_never_submits_a_valid_diagnosis_falls_back(env: Environment, reply: Any) -> None:
    model = Looping(reply)
    _, result = investigate(env, model, max_turns=6, max_repairs=2)
    assert model.turns <= 6
    assert result.diagnosis.model == "offline" and result.diagnosis.fallback_reason


@pytest.mark.parametrize("stubborn", [False, True], ids=["hangs", "hangs-and-swallows-cancel"])
def test_a_model_turn_that_never_returns_ends_at_the_deadline(stubborn: bool) -> None:
    elapsed, result = investigate(light_env(), Stuck(stubborn), deadline_s=0.6)
    assert elapsed < SLACK_S, elapsed
    assert result.diagnosis.model == "offline"
    assert "deadline" in (result.diagnosis.fallback_reason or "")


# --- tools that hang, cleanly or not -------------------------------------------------------------


class HangArgs(ToolArgs):
    pass


class Hanging(Connector):
    """A source whose one call never answers."""

    source: ClassVar[str] = "hanging"

    @operation("hanging_read", HangArgs)
    async def read(self, args: HangArgs, ctx: CallContext) -> dict[str, Any]:
        """Never answers."""
        return await _forever(stubborn=False)


class Stubborn(Connector):
    """A source whose one call never answers and swallows its cancellation."""

    source: ClassVar[str] = "stubborn"

    @operation("stubborn_read", HangArgs)
    async def read(self, args: HangArgs, ctx: CallContext) -> dict[str, Any]:
        """Never answers, and ignores being cancelled."""
        return await _forever(stubborn=True)


async def _forever(*, stubborn: bool) -> dict[str, Any]:
    """Wait for ever; a stubborn wait swallows the first cancellation (the deadline's) and goes on
    waiting, so only a second one (the event loop closing) ends it."""
    swallowed = 0 if stubborn else 1
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed += 1


@pytest.mark.parametrize(("tool", "connector"), [("hanging_read", Hanging), ("stubborn_read", Stubborn)])
def test_a_tool_that_never_answers_ends_at_its_deadline(tool: str, connector: type[Connector]) -> None:
    async def go() -> Any:
        box = Toolbox([connector()])
        with bound(Deadline.after(0.4, call_cap_s=30)):
            return await box.execute(ToolCall(id="c1", tool=tool), CallContext())

    t0 = time.monotonic()
    outcome = asyncio.run(go())
    assert time.monotonic() - t0 < SLACK_S
    assert not outcome.ok and outcome.error_kind == "timeout"


# --- the new surface hanging ----------------------------------------------------------------------


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # release the thread the test left waiting


def test_a_store_that_never_answers_is_a_timeout_not_a_hang(gate: threading.Event) -> None:
    def locked_store(tenant: str | None) -> list[Any]:
        gate.wait(30)  # a store that never answers (a lock held elsewhere, a dead database host)
        return []

    cases = CasesConnector(locked_store)

    async def go() -> tuple[float, Any]:
        box = Toolbox([cases])
        t0 = time.monotonic()
        with bound(Deadline.after(0.4, call_cap_s=30)):
            call = ToolCall(id="c1", tool="cases_similar", arguments={"text": "export returns 500"})
            outcome = await box.execute(call, CallContext(account_id="acme"))
        took = time.monotonic() - t0
        gate.set()  # let the store's thread go, so the loop can close
        return took, outcome

    took, outcome = asyncio.run(go())
    assert took < SLACK_S, took
    assert outcome.error_kind == "timeout"


def test_an_idp_admin_api_that_never_answers_is_named_in_time() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    settings = IdPAdminSettings(okta_token=SecretStr("t"), timeout_s=30)
    idp = {
        "vendor": "okta",
        "metadata_url": "https://acme.okta.com/app/x/sso/saml/metadata",
        "app_id": "0oa1",
    }
    ctx = CallContext.for_account("acme", {"acme": {"id": "acme", "idp": idp}})

    async def go() -> Any:
        box = Toolbox([IdPAdminConnector(settings, transport=httpx.MockTransport(hang))])
        try:
            with bound(Deadline.after(0.4, call_cap_s=30)):
                call = ToolCall(id="c1", tool="sso_idp_app", arguments={"account_id": "acme"})
                return await box.execute(call, ctx)
        finally:
            await box.aclose()

    t0 = time.monotonic()
    outcome = asyncio.run(go())
    assert time.monotonic() - t0 < SLACK_S
    assert outcome.error_kind in ("timeout", "deadline") and outcome.source == "idp_admin"


def test_a_slow_query_stops_in_the_engine_at_the_deadline(client: Any) -> None:
    """A cross join the guard lets through runs until ClickHouse's own limit (10 s): the toolbox gave
    up at the deadline, but the engine kept a pooled client and a core busy. Now the engine's time
    limit is the deadline's too, so the query itself ends there."""
    from test_logs import DB

    from casefile.tools.logs import ClickHouseConnector
    from casefile.tools.settings import LogsSettings

    logs = ClickHouseConnector(LogsSettings(database=DB, max_execution_time_s=10), client=client)
    bomb = (
        f"SELECT count() FROM {DB}.requests AS a, {DB}.requests AS b, {DB}.requests AS c, {DB}.requests AS d"
    )

    async def go() -> tuple[float, str]:
        t0 = time.monotonic()
        with bound(Deadline.after(1.0)):
            try:
                await logs._query(bomb)
                outcome = "finished"
            except Exception as exc:  # ClickHouse's TIMEOUT_EXCEEDED, translated
                outcome = str(exc)
        return time.monotonic() - t0, outcome

    took, outcome = asyncio.run(go())
    assert "timed out" in outcome.lower() or "timeout" in outcome.lower(), outcome
    assert took < SLACK_S, took  # 10 s before: the engine's own limit
