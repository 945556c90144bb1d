"""Accepted work survives kill -9: every webhook investigation finishes, with exactly one note.

Real service processes (tests/durable_harness.py) on SQLite and PostgreSQL are
killed with SIGKILL mid-investigation and mid-delivery and started again; two
replicas on one PostgreSQL share a burst of webhooks without running anything twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from durable_harness import ServiceProcess, ZendeskServer
from service_helpers import wait_for

from casefile.agent.store import InvestigationRecord, Store


@pytest.fixture
def zendesk() -> Iterator[ZendeskServer]:
    server = ZendeskServer()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/casefile.sqlite3"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _accept(service: ServiceProcess, tickets: list[int]) -> None:
    for tid in tickets:
        response = service.webhook(tid)
        assert response.status_code == 202, response.text


def _finished(store: Store) -> list[InvestigationRecord]:
    return [r for r in store.list() if r.status == "done" and store.delivery(r.id)[1] is not None]


def _assert_exactly_one_note_each(store: Store, zendesk: ZendeskServer, tickets: list[int]) -> None:
    records = store.list()
    assert sorted(int(r.ticket_id) for r in records) == sorted(tickets)  # one investigation per ticket
    assert {r.status for r in records} == {"done"}
    for record in records:
        notes = zendesk.notes.get(int(record.ticket_id), [])
        assert len(notes) == 1, (record.ticket_id, len(notes))
        assert record.id in notes[0]
        started = [e for _, e in store.events(record.id) if e.kind == "investigation_started"]
        assert started, record.id


@contextlib.contextmanager
def _store(url: str) -> Iterator[Store]:
    """The test's own view of the store, closed however the test ends (an open connection left to
    the garbage collector fails whichever test runs when it is collected)."""
    store = Store(url)
    try:
        yield store
    finally:
        store.close()


# The killed process's model never answers (its deadline, 120 s, is far beyond the test's waits):
# nothing but the kill ends its work, however slowly a loaded machine accepts the webhooks. With
# 5 s, a burst accepted slowly let the first investigation post its note before the kill.
NEVER_S = 3600.0


def test_kill_9_mid_investigation_then_restart(database: str, zendesk: ZendeskServer) -> None:
    tickets = [1001, 1002, 1003, 1004, 1005, 1006]
    with _store(database) as store:
        first = ServiceProcess(database, zendesk.url, model_latency_s=NEVER_S, concurrency=3)
        try:
            _accept(first, tickets)
            wait_for(lambda: len(store.list(status="running")) == 3, "three running investigations")
        finally:
            first.kill()
        assert zendesk.notes == {}
        _finish_on_a_second_process(database, zendesk, store, tickets, "every investigation and note")
        _assert_exactly_one_note_each(store, zendesk, tickets)
        resumed = [
            r for r in store.list() if any(e.kind == "investigation_resumed" for _, e in store.events(r.id))
        ]
        assert len(resumed) == 3  # the three the killed process held; the queued ones simply ran


def _finish_on_a_second_process(
    database: str, zendesk: ZendeskServer, store: Store, tickets: list[int], what: str
) -> None:
    """A fresh process on the same store finishes every ticket's work (and is stopped cleanly).

    The killed process's leases were 1.5 s long, so they expire at once; this process's own are long,
    so a late renewal on a loaded machine cannot hand its work over to itself mid-investigation."""
    second = ServiceProcess(database, zendesk.url, model_latency_s=0.0, lease_s=15.0)
    try:
        wait_for(lambda: len(_finished(store)) == len(tickets), what)
    except AssertionError as exc:
        states = [(r.ticket_id, r.status, r.error, store.delivery(r.id)[1]) for r in store.list()]
        raise AssertionError(f"{exc}: {states}") from None
    finally:
        second.stop()


def test_kill_9_mid_delivery_posts_no_second_note(database: str, zendesk: ZendeskServer) -> None:
    tickets = [2001, 2002, 2003]
    with _store(database) as store:
        # The note is recorded and its answer never arrives before the kill: the process waits for
        # it as long (with 30 s and the service's 5 s timeout, a burst accepted slowly let the
        # first note's retry read it back from the ticket and settle it before the kill).
        zendesk.put_delay_s = NEVER_S
        first = ServiceProcess(database, zendesk.url, model_latency_s=0.0, zendesk_timeout_s=NEVER_S)
        try:
            _accept(first, tickets)
            wait_for(lambda: len(zendesk.notes) == len(tickets), "every note posted")
        finally:
            first.kill()
        assert _finished(store) == []  # the killed process never learnt its notes were posted
        zendesk.put_delay_s = 0.0
        _finish_on_a_second_process(database, zendesk, store, tickets, "every delivery confirmed")
        _assert_exactly_one_note_each(store, zendesk, tickets)


def test_two_replicas_share_a_burst_without_duplicates(postgres_url: str, zendesk: ZendeskServer) -> None:
    tickets = list(range(3001, 3041))
    with _store(postgres_url) as store:
        # Leases long enough that a loaded machine's late renewal cannot hand live work over (in
        # production 30 s); this test is about claiming, not expiry.
        replicas = [
            ServiceProcess(postgres_url, zendesk.url, model_latency_s=0.2, concurrency=4, lease_s=15.0)
            for _ in range(2)
        ]
        try:
            for i, tid in enumerate(tickets):
                response = replicas[i % 2].webhook(tid)
                assert response.status_code == 202, response.text
            wait_for(lambda: len(_finished(store)) == len(tickets), "the whole burst")
        finally:
            for replica in replicas:
                replica.stop()
        _assert_exactly_one_note_each(store, zendesk, tickets)
        for record in store.list():
            started = [e for _, e in store.events(record.id) if e.kind == "investigation_started"]
            assert len(started) == 1, record.id  # no investigation ran twice
