"""Round-7 attacks on "always finishes" through the store: a PostgreSQL that falls silent AFTER the
connection is made (a server stuck on a lock or a full disk, a proxy or firewall that stopped
passing packets). Round 6 bounded connecting; a statement then waited for ever: psycopg waits on the
socket without a timeout, and the store is called from the service's event loop and before
``casefile investigate`` prints its diagnosis.

The database is the tests' real PostgreSQL behind :class:`pg_proxy.SilentProxy`, which passes the
wire protocol untouched until it is told to fall silent. The store's time limits are shortened (the
mechanism is the same at 5 s); what hangs would hang for ever, so each test gives up on it after a
few seconds and fails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_fixtures import make_ticket
from pg_proxy import SilentProxy

from casefile.agent.errors import UnavailableError
from casefile.agent.store import Store, pglink

ANSWER_S = 0.8  # the store's answer limit in these tests (the server's statement_timeout too)
GRACE_S = 0.2
HANG_S = 60.0  # a store call still waiting after this long is a hang
MARGIN_S = 10.0  # for a loaded machine, not for the mechanism (which, unfixed, waits for ever)


@pytest.fixture
def proxy(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentProxy]:
    monkeypatch.setattr(pglink, "ANSWER_TIMEOUT_S", ANSWER_S)
    monkeypatch.setattr(pglink, "ANSWER_GRACE_S", GRACE_S)
    monkeypatch.setattr(pglink, "CONNECT_TIMEOUT_S", 2.0)
    monkeypatch.setattr(pglink, "RETRY_S", 60.0)
    silent = SilentProxy(postgres_url)
    yield silent
    silent.close()


def _timed(call: Callable[[], Any], hang_s: float = HANG_S) -> tuple[Any, BaseException | None, float]:
    """``call()`` in a thread: (its result, what it raised, seconds); still waiting after ``hang_s`` fails."""
    out: list[Any] = []

    def attempt() -> None:
        try:
            out.append((call(), None))
        except BaseException as exc:  # the test reports whatever it was
            out.append((None, exc))

    t0 = time.monotonic()
    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(hang_s)
    assert out, f"still waiting for a silent PostgreSQL after {hang_s:g} s"
    return out[0][0], out[0][1], time.monotonic() - t0


def _one_line_without_secrets(error: BaseException | None) -> str:
    assert isinstance(error, UnavailableError), repr(error)
    message = str(error)
    assert "127.0.0.1" in message and "\n" not in message and "password" not in message
    return message


@pytest.mark.parametrize(
    "call",
    [
        lambda store, inv: store.get(inv),
        lambda store, inv: store.list(),
        lambda store, inv: store.events(inv, 0),
        lambda store, inv: store.claim_next("w1", 30.0),
        lambda store, inv: store.set_status(inv, "failed", "x"),
        lambda store, inv: store.create_investigation(make_ticket(), source="api", requested_by="t"),
    ],
    ids=["get", "list", "events", "claim_next", "set_status", "create"],
)
def test_a_store_whose_server_falls_silent_gives_up_in_time(proxy: SilentProxy, call: Any) -> None:
    store = Store(proxy.url)
    try:
        inv = store.create_investigation(make_ticket(), source="api", requested_by="t")
        proxy.silence()
        _, error, took = _timed(lambda: call(store, inv))
        assert "did not answer" in _one_line_without_secrets(error)
        assert took < ANSWER_S + GRACE_S + MARGIN_S, took
    finally:
        store.close()


def test_once_given_up_on_the_store_fails_at_once_then_comes_back(
    proxy: SilentProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A silent store costs one wait, not one per event written (nor a reconnection's wait: that is
    a thread's); once the server answers again, the store is back with what was written before."""
    monkeypatch.setattr(pglink, "RETRY_S", 0.3)
    store = Store(proxy.url)
    try:
        inv = store.create_investigation(make_ticket(), source="api", requested_by="t")
        proxy.silence()
        _timed(lambda: store.get(inv))
        tries = [_timed(lambda: store.get(inv)) for _ in range(20)]
        for _, error, _took in tries:
            assert "trying again" in _one_line_without_secrets(error)
        # Twenty waits would take twenty answer limits (16 s); a loaded machine may slow a few calls.
        spent = sum(took for *_, took in tries)
        assert spent < 5 * ANSWER_S, spent
        proxy.speak()
        deadline = time.monotonic() + HANG_S
        while time.monotonic() < deadline:
            record, error, _ = _timed(lambda: store.get(inv))
            if error is None:
                break
            threading.Event().wait(0.1)  # the reconnection thread's next try
        assert error is None and record is not None and record.id == inv, error
    finally:
        store.close()


def test_opening_a_store_whose_server_is_silent_after_its_greeting(proxy: SilentProxy) -> None:
    """The connection is made and authenticated, then the schema's first statement hears nothing."""
    proxy.silence()
    _, error, took = _timed(lambda: Store(proxy.url).close())
    _one_line_without_secrets(error)
    assert took < ANSWER_S + GRACE_S + MARGIN_S, took
    assert proxy.connections >= 1, "the store never connected: the attack tests nothing"


def test_casefile_investigate_prints_its_diagnosis_and_exits_73(
    proxy: SilentProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The save came before the diagnosis was printed, so the command printed nothing and never ended."""
    from casefile.agent.cli import main

    Store(proxy.url).close()  # the schema is in place; then the server falls silent
    proxy.silence()
    monkeypatch.setenv("CASEFILE_DATABASE_URL", proxy.url)
    ticket = tmp_path / "t.json"
    ticket.write_text('{"id": "T-1", "body": "API fails", "created_at": "2026-11-20T09:00:00Z"}')
    code, error, _ = _timed(lambda: main(["investigate", str(ticket), "--quiet"]), hang_s=60.0)
    assert error is None and code == 73, error
    out, err = capsys.readouterr()
    assert "not saved" in err and "did not answer" in err
    assert out.strip(), "the diagnosis was not printed"


def test_a_webhook_s_note_survives_a_store_that_falls_silent_mid_investigation(
    proxy: SilentProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store falls silent while the first attempt runs: that attempt gives up (it is not recorded
    as failed: the store, not the investigation, failed), its lease runs out, and once the store
    answers again the next attempt finishes it and posts the internal note, once."""
    from service_helpers import FakeZendesk, diagnosis_step, post_webhook, wait_for
    from test_service import _client

    from casefile.agent.models.base import LoopState, ModelReply
    from casefile.agent.models.scripted import ScriptedModel

    monkeypatch.setattr(pglink, "RETRY_S", 0.2)
    store = Store(proxy.url)
    zendesk = FakeZendesk()
    turns: list[int] = []

    def falls_silent_first(state: LoopState) -> ModelReply:
        turns.append(len(turns) + 1)
        if len(turns) == 1:
            proxy.silence()
        return diagnosis_step(state)

    def factory(ticket: Any) -> ScriptedModel:
        return ScriptedModel([falls_silent_first])

    try:
        with _client(store, zendesk=zendesk, factory=factory, lease_s=1.0, poll_s=0.1) as client:
            accepted = post_webhook(client, {"ticket_id": 48213})
            assert accepted.status_code == 202, accepted.text
            inv = accepted.json()["id"]
            wait_for(lambda: store._pg is not None and store._pg._conn is None, "the store to be given up on")
            proxy.speak()
            wait_for(lambda: bool(zendesk.puts), "the internal note")
            wait_for(lambda: any(e.kind == "note_delivered" for _, e in store.events(inv, 0)), "the delivery")
        record = store.get(inv)
        assert record is not None and record.status == "done", record
        assert len(zendesk.puts) == 1 and inv in zendesk.puts[0]["ticket"]["comment"]["body"]
        assert len(turns) == 2
        assert not any(e.kind == "investigation_failed" for _, e in store.events(inv, 0))
    finally:
        store.close()


def test_healthz_names_the_silent_store_without_its_password(
    proxy: SilentProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/healthz`` must say the store is not answering, in time, and never echo the database URL's
    password; without a token it says only that (round 8: not the store's host and port either)."""
    from service_helpers import AUTH
    from test_service import _client

    url = proxy.url.replace("casefile@", "casefile:pw-s3cret-9f8e@")
    store = Store(url)
    try:
        with _client(store) as client:
            proxy.silence()
            answer, error, took = _timed(lambda: client.get("/healthz", headers=AUTH))
            assert error is None and answer.status_code == 503, (error, answer)
            assert took < ANSWER_S + GRACE_S + MARGIN_S, took
            body = answer.text
            assert "did not answer" in body and "pw-s3cret-9f8e" not in body, body
            anonymous = client.get("/healthz")
            assert anonymous.status_code == 503 and anonymous.json() == {"status": "unhealthy"}
    finally:
        store.close()
