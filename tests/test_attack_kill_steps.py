"""Round-8 attacks on "every accepted ticket gets exactly one note": a process killed at *every* step
of an investigation and of its note's delivery, not only mid-investigation and mid-delivery
(``tests/test_durable.py`` kills real processes there, on SQLite and PostgreSQL).

Two services share one SQLite store, as a killed process and its replacement do. Service A takes the
webhook's work and dies at one step: from then on it writes nothing more (every transaction of its
store connection hangs, its lease renewals too), which is what ``kill -9`` leaves behind. Service B,
started after, must find the lease run out and finish the work: status done, the note delivered,
exactly one note on the ticket (a note A's write put there before dying is found, not posted again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from service_helpers import FakeZendesk, diagnosis_step, light_env, post_webhook, settings, wait_for

from casefile.agent.handoff.ledger import DeliveryLedger
from casefile.agent.models.base import LoopState, ModelReply
from casefile.agent.models.scripted import ScriptedModel
from casefile.agent.service.app import create_app
from casefile.agent.store import Store


class Killed(Exception):
    """What a dead process's leftover threads see when the test ends."""


class Death:
    """Service A's store: alive until :meth:`now`, then every transaction hangs (until the test ends)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dead = threading.Event()
        self.buried = threading.Event()
        alive = store._tx

        @contextmanager
        def tx() -> Iterator[Any]:
            if self.dead.is_set():
                self.buried.wait(30.0)
                raise Killed("this process was killed")
            with alive() as cur:
                yield cur

        store._tx = tx  # type: ignore[method-assign]

    def now(self) -> None:
        self.dead.set()


def _before(death: Death, method: Callable[..., Any]) -> Callable[..., Any]:
    def dying(*args: Any, **kwargs: Any) -> Any:
        death.now()
        return method(*args, **kwargs)

    return dying


def _after(death: Death, method: Callable[..., Any]) -> Callable[..., Any]:
    def dying(*args: Any, **kwargs: Any) -> Any:
        out = method(*args, **kwargs)
        if out is not None:  # a claim that found nothing is no step of this work
            death.now()
        return out

    return dying


# Where A dies: (step, how the test arranges it). "store:<method>" kills before or after one of A's
# store calls; "ledger:<method>" one of its delivery journal's; "model" in the model's turn;
# "zendesk:before"/"zendesk:after" while its note is on the wire (not arrived / arrived).
STEPS = [
    "after:claim_next",
    "before:add_event",
    "model",
    "before:save_result",
    "after:save_result",
    "ledger-before:plan",
    "ledger-before:start",
    "zendesk:before",
    "zendesk:after",
    "ledger-after:finish",
    "before:mark_delivered",
    "after:mark_delivered",
]


def _client(store: Store, transport: httpx.AsyncBaseTransport, factory: Any) -> TestClient:
    app = create_app(
        settings(lease_s=0.3, poll_s=0.05),
        env=light_env(),
        model_factory=factory,
        store=store,
        helpdesk_transport=transport,
    )
    return TestClient(app)


def _dying_transport(death: Death, zendesk: FakeZendesk, step: str) -> httpx.MockTransport:
    """Service A's way to the helpdesk: dead with it (a killed process sends nothing more, not even a
    retry); at ``zendesk:before`` it dies as its note leaves, at ``zendesk:after`` once it arrived."""

    def handle(request: httpx.Request) -> httpx.Response:
        if death.dead.is_set():
            raise httpx.ConnectError("this process was killed", request=request)
        if request.method == "PUT" and step == "zendesk:before":
            death.now()
            raise httpx.ConnectError("this process was killed", request=request)
        answer = zendesk.router.handler(request)
        if request.method == "PUT" and step == "zendesk:after":
            death.now()  # the note is on the ticket; the process dies before it hears back
        return answer

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("step", STEPS)
def test_killed_at_every_step_the_ticket_gets_one_note(
    step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    first, second = Store(url), Store(url)
    death = Death(first)
    zendesk = FakeZendesk()
    where, _, name = step.partition(":")
    if where in ("before", "after"):
        wrap = _before if where == "before" else _after
        monkeypatch.setattr(first, name, wrap(death, getattr(first, name)))
    elif where.startswith("ledger"):
        original = getattr(DeliveryLedger, name)

        def in_ledger(self: DeliveryLedger, *args: Any, **kwargs: Any) -> Any:
            if self.store is first:
                if where == "ledger-before":
                    death.now()
                out = original(self, *args, **kwargs)
                if where == "ledger-after":
                    death.now()
                return out
            return original(self, *args, **kwargs)

        monkeypatch.setattr(DeliveryLedger, name, in_ledger)

    def first_model(ticket: Any) -> ScriptedModel:
        def turn(state: LoopState) -> ModelReply:
            if step == "model":
                death.now()
            return diagnosis_step(state)

        return ScriptedModel([turn])

    def second_model(ticket: Any) -> ScriptedModel:
        return ScriptedModel([diagnosis_step])

    try:
        with _client(first, _dying_transport(death, zendesk, step), first_model) as a:
            inv = post_webhook(a, {"ticket_id": 48213}).json()["id"]
            wait_for(death.dead.is_set, "the first service to die")
            with _client(second, zendesk.transport(), second_model) as b:
                wait_for(lambda: second.delivery(inv)[1] is not None, "the second service's note")
                record = second.get(inv)
                assert b.get("/healthz").status_code == 200
            death.buried.set()
        assert record is not None and record.status == "done", record
        assert len(zendesk.puts) == 1, f"{len(zendesk.puts)} notes on the ticket"
        assert inv in zendesk.puts[0]["ticket"]["comment"]["body"]
        assert [r.id for r in second.list()] == [inv]
    finally:
        death.buried.set()
        first.close()
        second.close()
