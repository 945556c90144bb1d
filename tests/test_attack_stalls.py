"""Round-8 attacks on "always finishes": each of the world's HTTP sources stalling from its first
request (so every phase that calls it waits on it: the runbooks' plan, the differential's waves,
the packet), and a search a silent bug tracker left waiting (shared between calls while in flight,
it was handed to every later caller, and raised a cancellation into the next investigation once its
event loop had cancelled it: fixed in ``tools/bugs.py``). The stall never answers
and never fails (a request that waits on an event that never fires); the investigation must return
its diagnosis within its deadline, name the stalled source unavailable, and leave the other sources'
findings in place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from test_demo import TICKETS

from casefile.agent.config import Budgets, load_settings
from casefile.agent.intake import load_ticket
from casefile.agent.pipeline import Environment, open_environment, run_investigation
from casefile.tools.world.emulator import WorldTransport

DEMO = TICKETS.parent.parent / "examples" / "world"
# Long enough for the sources that answer to be read beside the stalled one on a loaded machine
# (at 1 s a CI-like run read nothing else: "nothing else was read"), short enough to keep it cheap.
DEADLINE_S = 2.5
SLACK_S = 6.0  # for a loaded machine, not for the mechanism (which, unfixed, waits for ever)

# (the stalled host, the sources it serves, a ticket whose investigation reads it)
SOURCES = [
    ("api.stripe.com", {"billing"}, "billing-past-due.json"),
    ("api.github.com", {"deploys"}, "export-regression.json"),
    ("api.linear.app", {"bugs"}, "429-spike.json"),
    ("relayhq.zendesk.com", {"tickets", "docs"}, "export-regression.json"),
    ("initech.okta.com", {"sso"}, "saml-expired-cert.json"),
]


@pytest.fixture(scope="module")
def env() -> Iterator[Environment]:
    environment = open_environment(load_settings(env={}), world=DEMO)
    yield environment
    asyncio.run(environment.aclose())


@pytest.mark.parametrize(("host", "sources", "ticket"), SOURCES, ids=[h for h, _, _ in SOURCES])
def test_a_stalled_source_ends_at_the_deadline_and_is_named(
    env: Environment,
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    sources: set[str],
    ticket: str,
) -> None:
    seen: list[str] = []
    answer = WorldTransport.handle_async_request

    async def stalling(self: WorldTransport, request: httpx.Request) -> httpx.Response:
        if request.url.host == host:
            seen.append(str(request.url))
            await asyncio.Event().wait()  # never answers, never fails
        return await answer(self, request)

    monkeypatch.setattr(WorldTransport, "handle_async_request", stalling)
    settings = load_settings(env={}).model_copy(
        update={"budgets": Budgets(deadline_s=DEADLINE_S, tool_timeout_s=DEADLINE_S)}
    )
    t0 = time.monotonic()
    result = asyncio.run(run_investigation(load_ticket(TICKETS / ticket), env, settings))
    took = time.monotonic() - t0
    assert seen, f"{host} was never asked: the attack tests nothing"
    assert took < DEADLINE_S + SLACK_S, took
    diagnosis = result.diagnosis
    assert diagnosis.summary and diagnosis.customer_reply
    stalled = [o for o in result.outcomes if o.source in sources and not o.ok]
    # Timed out, or not started once the deadline had passed: never another failure, never a hang.
    assert stalled and all(o.error_kind in ("timeout", "deadline") for o in stalled), [
        (o.tool, o.error_kind, o.error) for o in stalled
    ]
    assert sources & {u.source for u in diagnosis.unavailable_sources}, diagnosis.unavailable_sources
    assert any(o.ok and o.source not in sources for o in result.outcomes), "nothing else was read"


def test_a_search_left_waiting_on_a_silent_linear_is_not_the_next_caller_s(env: Environment) -> None:
    """The bug tracker's searches are shared between calls (and, in the service, investigations) while
    in flight. A search that a silent Linear left waiting stayed the shared one: every later identical
    search waited on it, after Linear answered again, until the process ended; and one cancelled
    with its event loop raised ``CancelledError`` into the next investigation, which ended it."""
    from casefile.tools.base import CallContext, ToolCall
    from casefile.tools.deadline import Deadline, bound

    silent = asyncio.Event()
    answer = WorldTransport.handle_async_request
    call = ToolCall(id="b1", tool="bugs_search", arguments={"query": "stalled search 429"})

    async def go() -> tuple[object, object]:
        async def stalling(self: WorldTransport, request: httpx.Request) -> httpx.Response:
            if request.url.host == "api.linear.app" and not silent.is_set():
                await asyncio.Event().wait()
            return await answer(self, request)

        WorldTransport.handle_async_request = stalling  # type: ignore[method-assign]
        try:
            with bound(Deadline.after(0.3, call_cap_s=0.3)):
                first = await env.toolbox.execute(call, CallContext())
            silent.set()  # Linear answers again
            with bound(Deadline.after(5.0, call_cap_s=5.0)):
                second = await env.toolbox.execute(call, CallContext())
        finally:
            WorldTransport.handle_async_request = answer  # type: ignore[method-assign]
        return first, second

    first, second = asyncio.run(go())
    assert not first.ok and first.error_kind == "timeout"  # type: ignore[attr-defined]
    assert second.ok, second.error  # type: ignore[attr-defined]
    # The next event loop (the next command, the next test) finds nothing cancelled to wait on.
    with_new_loop = asyncio.run(env.toolbox.execute(call, CallContext()))
    assert with_new_loop.ok, with_new_loop.error
