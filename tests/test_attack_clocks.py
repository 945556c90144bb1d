"""Round-10 attacks on "a note is never doubled": replicas whose clocks disagree, on one PostgreSQL.

A lease is a time (``lease_until``): the work is another's until then. Each replica wrote and read
it by its own clock, so a replica whose clock ran ahead (a VM resumed, NTP not yet stepped) saw
every other replica's live lease as expired and took its work, investigation or note; one whose
clock ran behind wrote leases already expired for the others, which took its work as soon as it
claimed it. Two replicas then ran one investigation, or sent one note, at once (each checks the
ticket for the note before posting, and neither sees the other's yet). Leases are now read and
written by the database's clock. On SQLite every process shares one host's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from llm_fixtures import make_ticket
from test_store import _result

from casefile.agent.store import Store, database, jobs

HOUR = timedelta(hours=1)
LEASE_S = 30.0


@pytest.fixture
def replicas(postgres_url: str) -> Iterator[tuple[Store, Store]]:
    first, second = Store(postgres_url), Store(postgres_url)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def skewed(monkeypatch: pytest.MonkeyPatch, by: timedelta, call: Callable[[], object]) -> object:
    """``call()`` on a replica whose own clock is ``by`` off (every clock it could read in-process)."""
    real = database.utc_now
    with monkeypatch.context() as m:
        m.setattr(database, "utc_now", lambda: real() + by)
        m.setattr(jobs, "utc_now", lambda: real() + by, raising=False)
        return call()


def _work(store: Store, phase: str) -> str:
    """Claimable work in ``phase``: a webhook's investigation, or its note once investigated."""
    ticket = make_ticket()
    inv = store.create_investigation(ticket, source="webhook", requested_by="zendesk", deliver_to="4817")
    if phase == "deliver":
        assert store.claim_next("investigator", LEASE_S) is not None
        assert store.save_result(inv, _result(ticket.id), "zendesk", owner="investigator")
        store.release(inv, "investigator")  # its note waits to be delivered
    return inv


@pytest.mark.parametrize("phase", ["investigate", "deliver"])
def test_a_replica_whose_clock_runs_ahead_takes_no_live_work(
    replicas: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    on_time, ahead = replicas
    inv = _work(on_time, phase)
    held = on_time.claim_next("on-time", LEASE_S)
    assert held is not None and (held.id, held.phase) == (inv, phase)
    assert skewed(monkeypatch, HOUR, lambda: ahead.claim_next("ahead", LEASE_S)) is None
    assert skewed(monkeypatch, HOUR, ahead.pending) == 0
    assert on_time.renew("on-time", LEASE_S) == {inv}


@pytest.mark.parametrize("phase", ["investigate", "deliver"])
def test_a_replica_whose_clock_runs_behind_leaves_no_live_work_to_be_taken(
    replicas: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    on_time, behind = replicas
    inv = _work(on_time, phase)
    held = skewed(monkeypatch, -HOUR, lambda: behind.claim_next("behind", LEASE_S))
    assert held is not None
    assert on_time.claim_next("on-time", LEASE_S) is None
    assert skewed(monkeypatch, -HOUR, lambda: behind.renew("behind", LEASE_S, [inv])) == {inv}
    assert on_time.claim_next("on-time", LEASE_S) is None
    assert on_time.pending() == 0


def test_an_expired_lease_is_still_taken_over(replicas: tuple[Store, Store]) -> None:
    """The store's clock does not keep a dead replica's work from the others: its lease runs out."""
    dead, alive = replicas
    inv = _work(dead, "investigate")
    assert dead.claim_next("dead", LEASE_S) is not None
    dead.renew("dead", -1.0)  # its last renewal: the lease ran out a second ago, by the store's clock
    taken = alive.claim_next("alive", LEASE_S)
    assert taken is not None and (taken.id, taken.attempt) == (inv, 2)
