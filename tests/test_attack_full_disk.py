"""Round-7 attacks on "bad input loses nothing" and note durability: a full disk.

A full disk is a real ENOSPC, not a mock: the transcript goes to ``/dev/full`` (every write fails
with ENOSPC), and the SQLite store is capped with ``PRAGMA max_page_count`` at its current size, so
its next growth fails as a full disk does (``SQLITE_FULL``). What must hold: the transcript is
debugging output, so a full disk costs the transcript, not the investigation; a store that cannot
grow costs the record (``casefile investigate`` prints its diagnosis and exits 73), and in the
service an investigation the full disk cut off is not recorded as failed (its note would be lost):
it runs again once the disk has room, and its note is posted, once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

import provider_wires as wires
import pytest
import respx
from llm_fixtures import run
from service_helpers import FakeZendesk, post_webhook, wait_for

from casefile.agent.config import Settings
from casefile.agent.store import Store
from casefile.tools.base import Toolbox

FULL = Path("/dev/full")


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("wire", wires.WIRES, ids=lambda w: w.name)
async def test_a_transcript_on_a_full_disk_costs_the_transcript_not_the_investigation(
    wire: Any, router: respx.MockRouter, toolbox: Toolbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire.set_key(monkeypatch)
    router.post(wire.url).mock(side_effect=[wire.submit()])
    result = await run(wire.model_for(router, settings=Settings(transcript=FULL)), toolbox)
    assert result.diagnosis.fallback_reason is None, result.diagnosis.fallback_reason
    assert result.diagnosis.model.startswith(wire.name), result.diagnosis.model


def _fill(store: Store) -> None:
    """The store's disk is full: SQLite may not grow its file by another page (and the free pages
    it has are taken)."""
    assert store._sqlite is not None
    store._sqlite.execute("CREATE TABLE IF NOT EXISTS filler (b BLOB)")
    pages = store._sqlite.execute("PRAGMA page_count").fetchone()[0]
    store._sqlite.execute(f"PRAGMA max_page_count = {pages}")
    for size in (4096, 512, 64):
        with contextlib.suppress(sqlite3.OperationalError):
            for _ in range(10_000):
                store._sqlite.execute("INSERT INTO filler VALUES (zeroblob(?))", (size,))


def _room(store: Store) -> None:
    assert store._sqlite is not None
    store._sqlite.execute("PRAGMA max_page_count = 1073741823")


def test_casefile_investigate_on_a_full_disk_prints_its_diagnosis_and_exits_73(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from casefile.agent.cli import main
    from casefile.agent.store import database

    opened = database.Database._open_sqlite

    def full(url: str) -> Any:  # every connection the command opens is on the full disk
        conn = opened(url)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    Store(url).close()  # the schema is in place; then the disk is full
    monkeypatch.setattr(database.Database, "_open_sqlite", staticmethod(full))
    monkeypatch.setenv("CASEFILE_DATABASE_URL", url)
    ticket = tmp_path / "t.json"
    ticket.write_text('{"id": "T-1", "body": "API fails", "created_at": "2026-11-20T09:00:00Z"}')
    assert main(["investigate", str(ticket), "--quiet"]) == 73
    out, err = capsys.readouterr()
    assert "not saved" in err and "full" in err, err
    assert out.strip(), "the diagnosis was not printed"


def test_a_disk_that_fills_mid_investigation_loses_no_note(tmp_path: Path) -> None:
    """The webhook is accepted, then the disk fills while it runs: the attempt cannot record anything;
    once there is room, the next attempt finishes it and posts the note, once."""
    from service_helpers import diagnosis_step
    from test_service import _client

    from casefile.agent.models.base import LoopState, ModelReply
    from casefile.agent.models.scripted import ScriptedModel

    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    zendesk = FakeZendesk()
    turns: list[int] = []
    filled = threading.Event()

    def fills_the_disk_first(state: LoopState) -> ModelReply:
        turns.append(len(turns) + 1)
        if len(turns) == 1:
            with store._lock:  # the store's own connection: not while the test thread uses it
                _fill(store)
            filled.set()
        return diagnosis_step(state)

    try:
        factory = lambda ticket: ScriptedModel([fills_the_disk_first])  # noqa: E731
        with _client(store, zendesk=zendesk, factory=factory, lease_s=1.0, poll_s=0.1) as client:
            service = client.app.state.service  # type: ignore[attr-defined]
            inv = post_webhook(client, {"ticket_id": 48213}).json()["id"]
            wait_for(filled.is_set)
            wait_for(lambda: service.worker.running == 0)  # the first attempt is over: it could not save
            # Not failed: handed back (queued, round 8) or left to its lease (running).
            assert zendesk.puts == [] and store.get(inv).status in ("queued", "running")  # type: ignore[union-attr]
            with store._lock:
                _room(store)
            wait_for(lambda: store.delivery(inv)[1] is not None, "the note")
        record = store.get(inv)
        assert record is not None and record.status == "done", record
        assert len(zendesk.puts) == 1 and len(turns) == 2
    finally:
        store.close()
