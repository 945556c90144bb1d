"""Round-8 attacks on "the note is not lost": a store that is cut off again and again.

An attempt the store cuts off (it stops answering, its disk fills) is not recorded as failed (round
7), but before round 8 it still counted as one of the ``MAX_ATTEMPTS`` claims: a store that went
away during three attempts made the next claim give the investigation up as failed, its
``deliver_to`` cleared, so its internal note was never posted, silently. The same held for the
note's delivery phase (``MAX_DELIVERY_ATTEMPTS``). Now the worker hands such an attempt back
uncounted once the store answers (``Jobs.refund``) before it claims anything else, so the work
runs again and its note is posted, once.

The store here is SQLite failing the way it reports an outage (:class:`StoreUnavailable`) on one
write while the outage lasts; it answers again at the next claim. The limits are shortened so that
each test needs a few short leases only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from llm_fixtures import make_ticket
from service_helpers import FakeZendesk, diagnosis_step, post_webhook
from test_service import _client

from casefile.agent.handoff.ledger import DeliveryLedger
from casefile.agent.models.base import LoopState, ModelReply
from casefile.agent.models.scripted import ScriptedModel
from casefile.agent.store import Store, StoreUnavailable
from casefile.agent.store.jobs import Jobs

CUTS = 3  # one more than the shortened limit: before round 8 this gave the work up
HANG_S = 15.0


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(Jobs, "MAX_ATTEMPTS", CUTS - 1)
    monkeypatch.setattr(Jobs, "MAX_DELIVERY_ATTEMPTS", CUTS - 1)
    s = Store("sqlite:///:memory:")
    yield s
    s.close()


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_S
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {HANG_S:g} s for {what}"
        threading.Event().wait(0.02)


def _outage() -> StoreUnavailable:
    return StoreUnavailable("the store (PostgreSQL at 127.0.0.1:5432) did not answer within 5 s")


def _settled(store: Store, inv: str) -> bool:
    record = store.get(inv)
    deliver_to, delivered_at = store.delivery(inv)
    return record is not None and (
        record.status == "failed" or deliver_to is None or delivered_at is not None
    )


def _assert_one_note(store: Store, zendesk: FakeZendesk, inv: str) -> None:
    record = store.get(inv)
    assert record is not None and record.status == "done", (record.status, record.error) if record else None
    assert store.delivery(inv)[1] is not None, "the note was never delivered"
    assert len(zendesk.puts) == 1 and inv in zendesk.puts[0]["ticket"]["comment"]["body"]
    assert not any(e.kind == "investigation_failed" for _, e in store.events(inv, 0))


def test_a_store_cut_during_every_attempt_still_gets_the_note_posted(store: Store) -> None:
    """The store goes away during each of the first ``CUTS`` attempts (an event write fails) and is
    back before the next claim."""
    zendesk = FakeZendesk()
    turns: list[int] = []
    cut = threading.Event()
    add_event, claim_next = store.add_event, store.claim_next

    def failing_add_event(*args: Any, **kwargs: Any) -> Any:
        if cut.is_set():
            raise _outage()
        return add_event(*args, **kwargs)

    def claim_after_outage(*args: Any, **kwargs: Any) -> Any:
        cut.clear()  # the store answers again: the next attempt may run
        return claim_next(*args, **kwargs)

    def cut_while_running(state: LoopState) -> ModelReply:
        turns.append(1)
        if len(turns) <= CUTS:
            cut.set()
        return diagnosis_step(state)

    store.add_event = failing_add_event  # type: ignore[method-assign]
    store.claim_next = claim_after_outage  # type: ignore[method-assign]
    factory = lambda ticket: ScriptedModel([cut_while_running])  # noqa: E731
    with _client(store, zendesk=zendesk, factory=factory, lease_s=0.2, poll_s=0.02) as client:
        inv = post_webhook(client, {"ticket_id": 48213}).json()["id"]
        _until(lambda: _settled(store, inv), "the investigation to settle")
    _assert_one_note(store, zendesk, inv)
    assert len(turns) == CUTS + 1


def test_a_store_cut_during_every_delivery_still_gets_the_note_posted(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The investigation is stored; then the store is cut off as each of the first ``CUTS`` delivery
    attempts reads its journal."""
    zendesk = FakeZendesk()
    reads: list[int] = []
    of = DeliveryLedger.of

    def cut_on_read(self: DeliveryLedger, inv: str) -> Any:
        reads.append(1)
        if len(reads) <= CUTS:
            raise _outage()
        return of(self, inv)

    monkeypatch.setattr(DeliveryLedger, "of", cut_on_read)
    with _client(store, zendesk=zendesk, lease_s=0.2, poll_s=0.02) as client:
        inv = post_webhook(client, {"ticket_id": 48213}).json()["id"]
        _until(lambda: _settled(store, inv), "the note to be delivered")
    _assert_one_note(store, zendesk, inv)
    assert len(reads) > CUTS


def test_work_that_kills_its_worker_is_still_given_up(store: Store) -> None:
    """A refund is for the store's outages only: an attempt that never ended (the worker died)
    still counts, so work that kills its worker every time is given up."""
    inv = store.create_investigation(make_ticket(), source="api", requested_by="t")
    for n in range(Jobs.MAX_ATTEMPTS):
        claim = store.claim_next(f"w{n}", -1.0)  # a lease that has already run out: a killed worker
        assert claim is not None and claim.attempt == n + 1
    assert store.claim_next("w-last", 30.0) is None
    record = store.get(inv)
    assert record is not None and record.status == "failed"
    store.refund(inv, "w-last", retry_in_s=0.0)  # an unrelated worker's refund changes nothing
    record = store.get(inv)
    assert record is not None and record.status == "failed"
