"""agent/store/: investigations, events, audit, feedback, leases; SQLite and PostgreSQL (conftest starts a server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casefile.agent.diagnosis import Confidence, Diagnosis, RootCause
from casefile.agent.events import Event
from casefile.agent.investigation import Investigation
from casefile.agent.store import DuplicateInvestigation, Store
from casefile.agent.ticket import Signals, Ticket
from casefile.tools.base import ToolOutcome

T0 = datetime(2026, 11, 20, 11, 40, tzinfo=UTC)


def _ticket(tid: str = "T-1", revision: str | None = "r1") -> Ticket:
    return Ticket(id=tid, subject="429s", body="API calls failing with 429", created_at=T0, revision=revision)


def _result(ticket_id: str = "T-1", events: list[Event] | None = None) -> Investigation:
    diagnosis = Diagnosis(
        ticket_id=ticket_id,
        summary="Gateway double-counts retries",
        root_cause=RootCause(category="known_bug", statement="REL-482"),
        confidence=Confidence(score=0.8),
        customer_reply="Hello",
        action="resolve",
    )
    outcomes = [
        ToolOutcome(
            call_id="c1",
            tool="logs_error_summary",
            source="logs",
            arguments={"account_id": "acme", "note": "key sk_live_" + "a" * 24},
            ok=True,
            started_at=T0,
            duration_ms=12.5,
        ),
        ToolOutcome(
            call_id="c2",
            tool="billing_account",
            source="billing",
            arguments={"account_id": "acme"},
            ok=False,
            error_kind="SourceTimeout",
            error="timeout",
            started_at=T0,
            duration_ms=30000.0,
        ),
    ]
    signals = Signals(window_start=T0 - timedelta(hours=6), window_end=T0)
    return Investigation(
        diagnosis=diagnosis, signals=signals, matches=[], outcomes=outcomes, events=events or []
    )


def _exercise(store: Store) -> None:
    """The whole interface, run identically against each dialect."""
    inv = store.create_investigation(
        _ticket(), source="api", requested_by="token:sidebar", priority="on_demand", idempotency_key="T-1@r1"
    )
    assert inv.startswith("inv_")
    assert store.find_active("T-1@r1") == inv
    with pytest.raises(DuplicateInvestigation) as dup:
        store.create_investigation(_ticket(), source="api", requested_by="x", idempotency_key="T-1@r1")
    assert dup.value.existing_id == inv
    record = store.get(inv)
    assert record is not None
    assert (record.status, record.priority, record.ticket_id, record.revision) == (
        "queued",
        "on_demand",
        "T-1",
        "r1",
    )
    assert record.diagnosis is None

    store.set_status(inv, "running")
    assert store.add_event(inv, Event(kind="investigation_started", data={"ticket_id": "T-1"})) == 1
    assert store.add_event(inv, Event(kind="tool_started", data={"tool": "logs_error_summary"})) == 2
    assert [e.kind for _, e in store.events(inv)] == ["investigation_started", "tool_started"]
    assert [seq for seq, _ in store.events(inv, after=1)] == [2]

    store.save_result(inv, _result(), requested_by="token:sidebar")
    done = store.get(inv)
    assert done is not None and done.status == "done" and done.finished_at is not None
    assert done.diagnosis is not None and done.diagnosis.summary == "Gateway double-counts retries"
    # Events streamed during the run are not duplicated by save_result.
    assert len(store.events(inv)) == 2
    # The key is free again once the investigation is finished.
    assert store.find_active("T-1@r1") is None

    rows = store.audit(inv)
    assert [(r.tool, r.ok, r.requested_by) for r in rows] == [
        ("logs_error_summary", True, "token:sidebar"),
        ("billing_account", False, "token:sidebar"),
    ]
    assert rows[1].duration_ms == 30000.0 and rows[1].error == "timeout"
    assert "sk_live_" not in rows[0].arguments["note"] and "REDACTED" in rows[0].arguments["note"]

    ticket = store.ticket(inv)
    assert ticket is not None and ticket.body == "API calls failing with 429"

    # Durable work: a worker's lease holds the work; another worker skips it while the lease lives
    # and takes it over, as a second attempt, once it has expired (the first worker died).
    other = store.create_investigation(
        _ticket("T-2"), source="webhook", requested_by="zendesk", idempotency_key="k2"
    )
    queued = store.create_investigation(
        _ticket("T-3"), source="webhook", requested_by="zendesk", deliver_to="48213"
    )
    first = store.claim_next("w1", 60.0)
    assert first is not None and (first.id, first.phase, first.attempt) == (other, "investigate", 1)
    assert store.get(other).status == "running"  # type: ignore[union-attr]
    second = store.claim_next("w2", 60.0)
    assert second is not None and second.id == queued and second.deliver_to == "48213"
    assert store.claim_next("w3", 60.0) is None
    assert store.pending() == 0
    assert store.renew("w1", 60.0) == {other}
    store.renew("w1", -1.0)  # w1 stops renewing: its lease runs out
    assert store.pending() == 1
    assert store.claim_next("w1", 60.0, running=[other]) is None  # w1 runs it still: its renewal is late
    taken = store.claim_next("w3", 60.0)
    assert taken is not None and (taken.id, taken.attempt) == (other, 2)
    assert store.renew("w1", 60.0) == set()  # w1 learns it lost the work ...
    assert not store.save_result(other, _result("T-2"), "zendesk", owner="w1")  # ... and cannot store it
    assert store.save_result(other, _result("T-2"), "zendesk", owner="w3")
    assert store.get(other).status == "done" and store.renew("w3", 60.0) == set()  # type: ignore[union-attr]
    # With a note to deliver, the worker keeps the lease after the diagnosis; a failed delivery
    # hands it back for later, and the next claim is the delivery.
    assert store.save_result(queued, _result("T-3"), "zendesk", owner="w2")
    assert store.find_active("k2") is None and store.claim_next("w4", 60.0) is None
    store.release(queued, "w2", error="Zendesk unreachable")
    delivery = store.claim_next("w4", 60.0)
    assert delivery is not None and (delivery.id, delivery.phase, delivery.attempt) == (queued, "deliver", 1)
    assert store.mark_delivered(queued, "w4") and not store.mark_delivered(queued, "w2")
    assert store.delivery(queued)[0] == "48213" and store.delivery(queued)[1] is not None
    assert store.claim_next("w5", 60.0) is None
    # A clean stop gives everything back at once; promotion reorders what is queued.
    later = store.create_investigation(_ticket("T-5"), source="webhook", requested_by="zendesk")
    assert store.claim_next("w6", 60.0) is not None
    assert store.release_all("w6") == [later] and store.get(later).status == "queued"  # type: ignore[union-attr]
    assert store.promote(later) and store.get(later).priority == "on_demand"  # type: ignore[union-attr]
    # Work that kills its worker every time is given up after MAX_ATTEMPTS claims.
    for n in range(Store.MAX_ATTEMPTS):
        assert store.claim_next(f"crash{n}", -1.0) is not None
    assert store.claim_next("w7", 60.0) is None
    assert store.get(later).status == "failed"  # type: ignore[union-attr]

    failed = store.create_investigation(_ticket("T-4"), source="cli", requested_by="cli")
    store.set_status(failed, "failed", error="model unavailable")
    assert store.get(failed).error == "model unavailable"  # type: ignore[union-attr]

    assert {r.id for r in store.list()} == {inv, other, queued, later, failed}
    assert {r.id for r in store.list(status="done")} == {inv, other, queued}
    assert store.list(since=datetime.now(UTC) + timedelta(minutes=5)) == []
    with pytest.raises(KeyError):
        store.set_status("inv_missing", "running")

    store.add_feedback(inv, bounced=True, article="https://kb/429", note="Backend bounced it", by="dana")
    with pytest.raises(KeyError):
        store.add_feedback("inv_missing", bounced=False, article=None, note=None, by="dana")
    feedback = store.feedback()
    assert len(feedback) == 1
    fb = feedback[0]
    assert (fb.investigation_id, fb.ticket_id, fb.bounced, fb.article, fb.by) == (
        inv,
        "T-1",
        True,
        "https://kb/429",
        "dana",
    )
    assert store.feedback(since=datetime.now(UTC) + timedelta(minutes=5)) == []


def _exercise_noted_key(store: Store) -> None:
    """A delivered note holds its revision's key against another note-posting submission (a webhook
    that read the ticket before the note landed), not against an agent asking again."""
    noted = store.create_investigation(
        _ticket("T-4"), source="webhook", requested_by="zendesk", idempotency_key="k4", deliver_to="4"
    )
    assert store.claim_next("w7", 60.0) is not None  # the only work queued
    assert store.save_result(noted, _result("T-4"), "zendesk", owner="w7") and store.mark_delivered(
        noted, "w7"
    )
    assert store.find_active("k4") is None and store.find_active("k4", noted=True) == noted
    with pytest.raises(DuplicateInvestigation) as again:
        store.create_investigation(
            _ticket("T-4"), source="webhook", requested_by="zendesk", idempotency_key="k4", deliver_to="4"
        )
    assert again.value.existing_id == noted
    asked = store.create_investigation(_ticket("T-4"), source="api", requested_by="x", idempotency_key="k4")
    assert asked != noted and store.find_active("k4") == asked


def test_sqlite_memory() -> None:
    store = Store("sqlite:///:memory:")
    _exercise(store)
    store.close()


def test_a_delivered_note_holds_its_key_in_sqlite(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'notes.sqlite3'}")
    _exercise_noted_key(store)
    store.close()


def test_sqlite_file_persists_across_instances(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db/casefile.sqlite3"
    first = Store(url)
    inv = first.create_investigation(_ticket(), source="cli", requested_by="cli")
    assert first.claim_next("w1", 0.0) is not None  # then the process dies
    first.close()
    second = Store(url)  # a restart: the work is still there, and resumable once its lease is out
    record = second.get(inv)
    assert record is not None and record.status == "running"
    claim = second.claim_next("w2", 60.0)
    assert claim is not None and (claim.id, claim.attempt) == (inv, 2)


def test_default_url_is_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASEFILE_DATABASE_URL", raising=False)
    Store().create_investigation(_ticket(), source="cli", requested_by="cli")
    assert (tmp_path / ".casefile" / "casefile.sqlite3").is_file()


def test_save_result_keeps_events_when_none_were_streamed() -> None:
    store = Store("sqlite:///:memory:")
    inv = store.create_investigation(_ticket(), source="cli", requested_by="cli")
    store.save_result(inv, _result(events=[Event(kind="diagnosis_ready")]), requested_by="cli")
    assert [e.kind for _, e in store.events(inv)] == ["diagnosis_ready"]


def test_unsupported_url() -> None:
    from casefile.agent.errors import ConfigError

    with pytest.raises(ConfigError, match="unsupported"):
        Store("mysql://x")


# ------------------------------------------------------------------ PostgreSQL


def test_postgresql(postgres_url: str) -> None:
    store = Store(postgres_url)
    try:
        _exercise(store)
        _exercise_noted_key(store)
    finally:
        store.close()


def test_replicas_starting_at_once_create_the_schema_once(postgres_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: Store(postgres_url), range(4)))
    for store in stores:
        assert store.pending() == 0
        store.close()
