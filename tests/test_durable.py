"""Accepted work survives kill -9: every webhook investigation finishes, with exactly one note.

Real service processes (tests/durable_harness.py) on SQLite and PostgreSQL are
killed with SIGKILL mid-investigation and mid-delivery and started again; two
replicas on one PostgreSQL share a burst of webhooks without running anything twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from durable_harness import ServiceProcess, ZendeskServer

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


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


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


def test_kill_9_mid_investigation_then_restart(database: str, zendesk: ZendeskServer) -> None:
    tickets = [1001, 1002, 1003, 1004, 1005, 1006]
    store = Store(database)
    first = ServiceProcess(database, zendesk.url, model_latency_s=5.0, concurrency=3)
    try:
        _accept(first, tickets)
        _wait(lambda: len(store.list(status="running")) == 3, 15, "three running investigations")
    finally:
        first.kill()
    assert zendesk.notes == {}
    _finish_on_a_second_process(database, zendesk, store, tickets, "every investigation and note")
    _assert_exactly_one_note_each(store, zendesk, tickets)
    resumed = [
        r for r in store.list() if any(e.kind == "investigation_resumed" for _, e in store.events(r.id))
    ]
    assert len(resumed) == 3  # the three the killed process held; the queued ones simply ran
    store.close()


def _finish_on_a_second_process(
    database: str, zendesk: ZendeskServer, store: Store, tickets: list[int], what: str
) -> None:
    """A fresh process on the same store finishes every ticket's work (and is stopped cleanly).

    The killed process's leases were 1.5 s long, so they expire at once; this process's own are long,
    so a late renewal on a loaded machine cannot hand its work over to itself mid-investigation."""
    second = ServiceProcess(database, zendesk.url, model_latency_s=0.0, lease_s=15.0)
    try:
        _wait(lambda: len(_finished(store)) == len(tickets), 60, what)
    finally:
        second.stop()


def test_kill_9_mid_delivery_posts_no_second_note(database: str, zendesk: ZendeskServer) -> None:
    tickets = [2001, 2002, 2003]
    store = Store(database)
    zendesk.put_delay_s = 30.0  # the note is recorded, the answer never arrives before the kill
    first = ServiceProcess(database, zendesk.url, model_latency_s=0.0)
    try:
        _accept(first, tickets)
        _wait(lambda: len(zendesk.notes) == len(tickets), 15, "every note posted")
    finally:
        first.kill()
    assert _finished(store) == []  # the killed process never learnt its notes were posted
    zendesk.put_delay_s = 0.0
    _finish_on_a_second_process(database, zendesk, store, tickets, "every delivery confirmed")
    _assert_exactly_one_note_each(store, zendesk, tickets)
    store.close()


def test_two_replicas_share_a_burst_without_duplicates(postgres_url: str, zendesk: ZendeskServer) -> None:
    tickets = list(range(3001, 3041))
    store = Store(postgres_url)
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
        _wait(lambda: len(_finished(store)) == len(tickets), 60, "the whole burst")
    finally:
        for replica in replicas:
            replica.stop()
    _assert_exactly_one_note_each(store, zendesk, tickets)
    for record in store.list():
        started = [e for _, e in store.events(record.id) if e.kind == "investigation_started"]
        assert len(started) == 1, record.id  # no investigation ran twice
    store.close()
