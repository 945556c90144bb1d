"""Round-8 attacks on "always answers": one store call that does not answer must hold its own request
or investigation only, never the service's event loop.

A PostgreSQL that falls silent is cut after ``ANSWER_TIMEOUT_S`` + 1 s (round 7,
``agent/store/pglink.py``); until then the call waits. Before round 8 the routes, a running
investigation's event and result writes, the note's delivery journal and the weekly review called
the store on the event loop, so during that wait nothing else was served: ``/healthz``, every other
request, every other tenant's investigation stopped. Here one store method (for one investigation)
waits, as a silent store does, until the test lets it go; while it waits, ``/healthz`` must answer
and another tenant's investigation must run to the end. Each attack waits ``HELD_S`` at most for
them; a blocked loop answers neither until the store is let go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from service_helpers import AUTH, FakeZendesk, diagnosis_step, post_webhook, read_sse
from test_service import TICKET, _client

from casefile.agent.config import ServiceToken
from casefile.agent.handoff.ledger import DeliveryLedger
from casefile.agent.models.scripted import ScriptedModel
from casefile.agent.store import Store

HELD_S = 4.0  # how long another request may take while one store call waits (a blocked loop: for ever)
# How long the attack may take to reach the call it holds: an investigation runs first, which on a
# loaded machine takes more than HELD_S; reaching it late is not a breach, so this bound is generous.
REACH_S = 60.0
TOKEN_B = "tok_tenant_b_" + "0f1e2d3c4b5a6978"
AUTH_B = {"Authorization": f"Bearer {TOKEN_B}"}


class Held:
    """One store call that does not answer until released (the store's other calls answer)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def wrap(self, call: Callable[..., Any], only: Callable[..., bool]) -> Callable[..., Any]:
        def waiting(*args: Any, **kwargs: Any) -> Any:
            if only(*args, **kwargs):
                self.entered.set()
                self.release.wait(30.0)
            return call(*args, **kwargs)

        return waiting


@contextmanager
def holding(target: Any, method: str, only: Callable[..., bool] = lambda *a, **k: True) -> Iterator[Held]:
    held = Held()
    original = getattr(target, method)
    setattr(target, method, held.wrap(original, only))
    try:
        yield held
    finally:
        held.release.set()
        setattr(target, method, original)


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as exc:  # reported by the test that reads it
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _answers_meanwhile(client: TestClient, held: Held, trigger: Callable[[], Any]) -> None:
    """``trigger`` reaches the held store call; meanwhile ``/healthz`` answers and tenant B's
    investigation runs to the end."""
    waiting, _ = _in_thread(trigger)
    assert held.entered.wait(REACH_S), "the attack never reached the store call it holds: it tests nothing"

    def others() -> tuple[int, str]:
        health = client.get("/healthz").status_code
        inv = client.post("/v1/investigations", json=dict(TICKET, id="B-1"), headers=AUTH_B).json()["id"]
        return health, read_sse(client, inv, AUTH_B)[-1][1]["status"]

    thread, out = _in_thread(others)
    thread.join(HELD_S)
    answered = bool(out)
    held.release.set()
    waiting.join(HELD_S)
    assert answered, "while one store call waited, the service answered nothing: its event loop was held"
    assert out[0] == (200, "done"), out[0]


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[TestClient, Store, FakeZendesk]]:
    store = Store("sqlite:///:memory:")
    zendesk = FakeZendesk()
    tokens: dict[str, SecretStr | ServiceToken] = {
        "sidebar": SecretStr(AUTH["Authorization"].removeprefix("Bearer ")),
        "agent-b": ServiceToken(token=SecretStr(TOKEN_B), tenant="tenant-b"),
    }
    factory = lambda ticket: ScriptedModel([diagnosis_step])  # noqa: E731
    with _client(store, zendesk=zendesk, factory=factory, tokens=tokens, poll_s=0.05) as client:
        yield client, store, zendesk
    store.close()


def _done(client: TestClient) -> str:
    inv: str = client.post("/v1/investigations", json=TICKET, headers=AUTH).json()["id"]
    assert read_sse(client, inv)[-1][1]["status"] == "done"
    return inv


def _of_inv(inv: str) -> Callable[..., bool]:
    return lambda *args, **kwargs: bool(args) and args[0] == inv


def _of_tenant_a(inv: str) -> Callable[..., bool]:
    return lambda *args, **kwargs: kwargs.get("tenant") != "tenant-b"


def _of_ticket_a(inv: str) -> Callable[..., bool]:
    return lambda *args, **kwargs: bool(args) and getattr(args[0], "id", None) != "B-1"


# (attack, the store method that waits, for which calls, the request that reaches it)
ROUTES: list[tuple[str, str, Callable[[str], Callable[..., bool]], Callable[[TestClient, str], Any]]] = [
    ("get", "get", _of_inv, lambda c, inv: c.get(f"/v1/investigations/{inv}", headers=AUTH)),
    ("list", "list", _of_tenant_a, lambda c, inv: c.get("/v1/investigations", headers=AUTH)),
    ("audit", "audit", _of_inv, lambda c, inv: c.get(f"/v1/investigations/{inv}/audit", headers=AUTH)),
    (
        "events-json",
        "events",
        _of_inv,
        lambda c, inv: c.get(f"/v1/investigations/{inv}/events?format=json", headers=AUTH),
    ),
    ("events-sse", "events", _of_inv, lambda c, inv: read_sse(c, inv)),
    ("rerun", "ticket", _of_inv, lambda c, inv: c.post(f"/v1/investigations/{inv}/rerun", headers=AUTH)),
    (
        "confirm-account",
        "get",
        _of_inv,
        lambda c, inv: c.post(f"/v1/investigations/{inv}/confirm-account", headers=AUTH),
    ),
    (
        "feedback",
        "get",
        _of_inv,
        lambda c, inv: c.post(f"/v1/investigations/{inv}/feedback", json={"bounced": False}, headers=AUTH),
    ),
    ("clusters", "list", _of_tenant_a, lambda c, inv: c.get("/v1/reports/clusters", headers=AUTH)),
    ("metrics", "list", _of_tenant_a, lambda c, inv: c.get("/v1/reports/metrics", headers=AUTH)),
    ("escalations", "feedback", _of_tenant_a, lambda c, inv: c.get("/v1/reports/escalations", headers=AUTH)),
    (
        "create",
        "create_investigation",
        _of_ticket_a,
        lambda c, inv: c.post("/v1/investigations", json=dict(TICKET, id="A-9"), headers=AUTH),
    ),
    ("webhook", "create_investigation", _of_ticket_a, lambda c, inv: post_webhook(c, {"ticket_id": 48213})),
]


@pytest.mark.parametrize(("attack", "method", "only", "request_"), ROUTES, ids=[r[0] for r in ROUTES])
def test_a_route_waiting_for_the_store_holds_nothing_else(
    service: tuple[TestClient, Store, FakeZendesk],
    attack: str,
    method: str,
    only: Callable[[str], Callable[..., bool]],
    request_: Callable[[TestClient, str], Any],
) -> None:
    client, store, zendesk = service
    zendesk.ticket = dict(zendesk.ticket, tags=[])  # a note posted earlier tagged it: investigate it again
    inv = _done(client)
    with holding(store, method, only(inv)) as held:
        _answers_meanwhile(client, held, lambda: request_(client, inv))


@pytest.mark.parametrize(
    "step",
    ["event-write", "save_result", "delivery_journal"],
)
def test_an_investigation_waiting_for_the_store_holds_nothing_else(
    service: tuple[TestClient, Store, FakeZendesk], step: str
) -> None:
    """Tenant A's investigation (a webhook's, so it delivers a note) waits on the store at one step."""
    client, store, zendesk = service
    ticket_of_a = lambda *args, **kwargs: bool(args) and store.get(str(args[0])).ticket_id == "48213"  # type: ignore[union-attr]  # noqa: E731
    target, method, only = {
        "event-write": (store, "add_event", ticket_of_a),
        "save_result": (store, "save_result", ticket_of_a),
        "delivery_journal": (DeliveryLedger, "of", lambda self, inv: store.get(inv).ticket_id == "48213"),  # type: ignore[union-attr]
    }[step]
    with holding(target, method, only) as held:
        _answers_meanwhile(client, held, lambda: _new_investigation_of_48213(client, zendesk))


def _new_investigation_of_48213(client: TestClient, zendesk: FakeZendesk) -> Any:
    """The webhook until it starts a new investigation: the previous test's may still hold the ticket
    (running, or its note not yet delivered: the webhook answers ``existing``), tag it as it ends
    (the webhook skips a tagged ticket) or have noted this revision (a delivered note holds it);
    either way, not the attack. So each try is the ticket untagged at a revision of its own."""
    deadline = time.monotonic() + REACH_S
    while True:
        revision = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        zendesk.ticket = dict(zendesk.ticket, tags=[], updated_at=revision)
        answer = post_webhook(client, {"ticket_id": 48213})
        fresh = answer.status_code == 202 and not answer.json()["existing"]
        if fresh or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)
