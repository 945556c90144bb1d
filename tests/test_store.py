"""agent/store.py: investigations, events, audit, feedback; SQLite always, PostgreSQL when a server can be started."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casefile.agent.diagnosis import Confidence, Diagnosis, RootCause
from casefile.agent.events import Event
from casefile.agent.loop import InvestigationResult
from casefile.agent.store import DuplicateInvestigation, Store
from casefile.agent.ticket import Signals, Ticket
from casefile.tools.base import ToolOutcome

T0 = datetime(2026, 11, 20, 11, 40, tzinfo=UTC)


def _ticket(tid: str = "T-1", revision: str | None = "r1") -> Ticket:
    return Ticket(id=tid, subject="429s", body="API calls failing with 429", created_at=T0, revision=revision)


def _result(ticket_id: str = "T-1", events: list[Event] | None = None) -> InvestigationResult:
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
    return InvestigationResult(
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

    # A crash leaves running work behind; start-up marks it interrupted.
    other = store.create_investigation(
        _ticket("T-2"), source="webhook", requested_by="zendesk", idempotency_key="k2"
    )
    store.set_status(other, "running")
    queued = store.create_investigation(_ticket("T-3"), source="webhook", requested_by="zendesk")
    assert store.mark_interrupted() == 2
    assert {store.get(other).status, store.get(queued).status} == {"interrupted"}  # type: ignore[union-attr]
    assert store.mark_interrupted() == 0

    failed = store.create_investigation(_ticket("T-4"), source="cli", requested_by="cli")
    store.set_status(failed, "failed", error="model unavailable")
    assert store.get(failed).error == "model unavailable"  # type: ignore[union-attr]

    assert {r.id for r in store.list()} == {inv, other, queued, failed}
    assert [r.id for r in store.list(status="done")] == [inv]
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


def test_sqlite_memory() -> None:
    store = Store("sqlite:///:memory:")
    _exercise(store)
    store.close()


def test_sqlite_file_persists_across_instances(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/db/casefile.sqlite3"
    first = Store(url)
    inv = first.create_investigation(_ticket(), source="cli", requested_by="cli")
    first.set_status(inv, "running")
    first.close()
    second = Store(url)  # a restart
    assert second.mark_interrupted() == 1
    record = second.get(inv)
    assert record is not None and record.status == "interrupted"


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server, or a skip when psycopg or the server binaries are missing."""
    pytest.importorskip("psycopg")
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    data = tempfile.mkdtemp(prefix="casefile-pg-")
    prefix: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser")
        shutil.chown(data, "nobody")
        prefix = [runuser, "-u", "nobody", "--"]
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C"}
    try:
        subprocess.run(
            [*prefix, initdb, "-D", data, "-U", "casefile", "-E", "UTF8", "--auth=trust"],
            check=True,
            capture_output=True,
            env=env,
            timeout=60,
        )
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                data,
                "-o",
                f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
                "-w",
                "-l",
                f"{data}/log",
                "start",
            ],
            check=True,
            capture_output=True,
            env=env,
            timeout=60,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(data, ignore_errors=True)
        pytest.skip(f"could not start a local PostgreSQL: {exc}")
    try:
        yield f"postgresql://casefile@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True, timeout=60
        )
        time.sleep(0.1)
        shutil.rmtree(data, ignore_errors=True)


def test_postgresql(postgres_url: str) -> None:
    store = Store(postgres_url)
    try:
        _exercise(store)
    finally:
        store.close()
