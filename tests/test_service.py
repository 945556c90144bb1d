"""The investigation service: API, SSE, idempotency, auth, limits, priority, restart (with Zendesk: its
app's JWTs and webhook, tests/test_service_zendesk.py)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_helpers import (
    APP_SECRET,
    AUTH,
    TICKETS,
    TOKEN,
    WEBHOOK_SECRET,
    FakeZendesk,
    GatedModel,
    light_env,
    post_webhook,
    read_sse,
    scripted_factory,
    settings,
)

from casefile.agent.helpdesk.zendesk import sign_webhook
from casefile.agent.investigation import Investigation
from casefile.agent.service.app import create_app
from casefile.agent.service.worker import Worker
from casefile.agent.store import Claim, Store
from casefile.agent.ticket import Signals, Ticket

TICKET = json.loads((TICKETS / "429-spike.json").read_text())


def _client(
    store: Store, *, zendesk: FakeZendesk | None = None, factory: Any = None, **service: Any
) -> TestClient:
    app = create_app(
        settings(**service),
        env=light_env(),
        model_factory=factory or scripted_factory(),
        store=store,
        helpdesk_transport=(zendesk or FakeZendesk()).transport(),
    )
    return TestClient(app)


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return dict(body["error"])


# ------------------------------------------------------------------ the happy path


def test_investigate_stream_and_fetch(store: Store) -> None:
    with _client(store) as client:
        created = client.post("/v1/investigations", json=TICKET, headers=AUTH)
        assert created.status_code == 202
        inv = created.json()["id"]
        assert created.json()["ticket_id"] == "T-1001" and created.json()["existing"] is False

        frames = read_sse(client, inv)
        kinds = [k for k, _ in frames]
        assert kinds[0] == "investigation_started" and "model_turn" in kinds
        assert kinds[-2:] == ["diagnosis_ready", "end"] and frames[-1][1]["status"] == "done"

        got = client.get(f"/v1/investigations/{inv}", headers=AUTH).json()
        assert (
            got["status"] == "done"
            and got["requested_by"] == "token:sidebar"
            and got["priority"] == "on_demand"
        )
        assert got["diagnosis"]["root_cause"]["category"] == "known_bug"
        assert got["diagnosis"]["escalation"]["team"].lower() == "backend"

        # Replay from the store: the same events, and resuming after an id skips the earlier ones.
        again = read_sse(client, inv)
        assert [k for k, _ in again] == kinds
        with client.stream(
            "GET", f"/v1/investigations/{inv}/events", headers={**AUTH, "Last-Event-ID": "2"}
        ) as response:
            ids = [int(line[4:]) for line in response.iter_lines() if line.startswith("id: ")]
        assert ids and min(ids) == 3

        polled = client.get(
            f"/v1/investigations/{inv}/events", headers=AUTH, params={"format": "json", "after": 1}
        )
        assert polled.json()["status"] == "done"
        assert [e["seq"] for e in polled.json()["events"]] == list(range(2, len(kinds)))

        listed = client.get("/v1/investigations", headers=AUTH, params={"status": "done"}).json()
        assert [r["id"] for r in listed] == [inv]
        assert client.get("/healthz").json()["status"] == "ok"


def test_openapi_describes_the_endpoints(store: Store) -> None:
    with _client(store) as client:
        spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/v1/investigations",
        "/v1/investigations/{inv}",
        "/v1/investigations/{inv}/events",
        "/v1/webhooks/zendesk",
        "/healthz",
    } <= paths
    assert TOKEN not in json.dumps(spec) and APP_SECRET not in json.dumps(spec)


def test_same_ticket_revision_is_not_investigated_twice_concurrently(store: Store) -> None:
    gate, started = threading.Event(), list[str]()
    with _client(store, factory=lambda t: GatedModel(gate, started)) as client:
        first = client.post("/v1/investigations", json=TICKET, headers=AUTH).json()
        second = client.post("/v1/investigations", json=TICKET, headers=AUTH).json()
        assert second["id"] == first["id"] and second["existing"] is True
        # A new revision of the same ticket is a new investigation.
        changed = client.post(
            "/v1/investigations", json={**TICKET, "updated_at": "2026-11-20T12:00:00Z"}, headers=AUTH
        ).json()
        assert changed["id"] != first["id"]
        gate.set()
        assert read_sse(client, first["id"])[-1][1]["status"] == "done"
        # Finished: asking again investigates again.
        third = client.post("/v1/investigations", json=TICKET, headers=AUTH).json()
        assert third["id"] != first["id"] and third["existing"] is False
        read_sse(client, third["id"])
        read_sse(client, changed["id"])


def test_failure_is_recorded_and_streamed(store: Store) -> None:
    def broken(ticket: Ticket) -> Any:
        raise RuntimeError("model misconfigured: key sk-proj-" + "x" * 40)

    with _client(store, factory=broken) as client:
        inv = client.post("/v1/investigations", json=TICKET, headers=AUTH).json()["id"]
        frames = read_sse(client, inv)
        assert frames[-2][0] == "investigation_failed" and frames[-1][1]["status"] == "failed"
        got = client.get(f"/v1/investigations/{inv}", headers=AUTH).json()
    assert got["status"] == "failed" and "model misconfigured" in got["error"]
    assert "sk-proj-" not in got["error"] and "sk-proj-" not in json.dumps(frames)


# ------------------------------------------------------------------ bad input: clear 4xx, JSON, nothing stored


def test_bad_requests_are_json_4xx_and_store_nothing(store: Store) -> None:
    with _client(store, max_body_bytes=1024 * 1024) as client:
        post = "/v1/investigations"
        _error(
            client.post(post, content=b'{"body": ', headers={**AUTH, "Content-Type": "application/json"}),
            400,
            "invalid_json",
        )
        _error(client.post(post, content=b"", headers=AUTH), 400, "invalid_json")
        no_body = {"subject": "no body", "created_at": "2026-11-20T11:40:00Z"}
        err = _error(client.post(post, json=no_body, headers=AUTH), 422, "invalid_ticket")
        assert "body" in err["message"]
        _error(client.post(post, json=[1, 2], headers=AUTH), 422, "invalid_ticket")
        _error(client.post(post, json={"zendesk_ticket_id": "abc"}, headers=AUTH), 422)
        big = b'{"body": "' + b"x" * (10 * 1024 * 1024) + b'"}'
        _error(
            client.post(post, content=big, headers={**AUTH, "Content-Type": "application/json"}),
            413,
            "payload_too_large",
        )
        _error(client.get("/v1/investigations/inv_0123456789abcdef", headers=AUTH), 404, "not_found")
        _error(client.get("/v1/investigations/../../etc/passwd", headers=AUTH), 404)
        _error(client.get("/v1/investigations/inv_0123456789abcdef/events", headers=AUTH), 404)
        _error(client.get("/v1/nothing-here", headers=AUTH), 404)
        _error(client.post(post, json=TICKET), 401, "unauthenticated")
        _error(
            client.post(post, json=TICKET, headers={"Authorization": "Bearer wrong"}), 401, "invalid_token"
        )
        _error(client.post(post, json=TICKET, headers={"Authorization": f"Basic {TOKEN}"}), 401)
        _error(client.post("/v1/webhooks/zendesk", json={"ticket_id": 48213}), 401, "invalid_signature")
    assert store.list() == []


def test_body_limit_applies_while_streaming_without_content_length(store: Store) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"body": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    with _client(store, max_body_bytes=1024 * 1024) as client:
        response = client.post(
            "/v1/investigations", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
        )
    _error(response, 413, "payload_too_large")
    assert store.list() == []


def test_rate_limit_per_token(store: Store) -> None:
    with _client(store, rate_limit_burst=3, rate_limit_per_minute=6) as client:
        codes = [client.get("/v1/investigations", headers=AUTH).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/v1/investigations", headers=AUTH)
        _error(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        # Failed attempts are limited too, per address.
        bad = [
            client.get("/v1/investigations", headers={"Authorization": "Bearer nope"}).status_code
            for _ in range(4)
        ]
        assert bad == [401, 401, 401, 429]


def test_cors_only_for_configured_origins(store: Store) -> None:
    with _client(store) as client:
        ok = client.options(
            "/v1/investigations",
            headers={
                "Origin": "https://relayhq.zendesk.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert ok.headers.get("access-control-allow-origin") == "https://relayhq.zendesk.com"
        evil = client.options(
            "/v1/investigations",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in evil.headers
        simple = client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers


# ------------------------------------------------------------------ restart and re-run


def test_restart_resumes_work_a_stopped_process_left_running(store: Store) -> None:
    ticket = Ticket(id="T-9", body="webhooks stopped", created_at=datetime(2026, 11, 20, tzinfo=UTC))
    old = store.create_investigation(ticket, source="api", requested_by="token:sidebar", priority="on_demand")
    # A process claimed it and died: its lease has run out (0 s), so the next worker resumes it.
    claim = store.claim_next("dead-host:1:abc", 0.0)
    assert claim is not None and claim.id == old and store.get(old).status == "running"  # type: ignore[union-attr]
    with _client(store) as client:
        frames = read_sse(client, old)
        assert frames[-1][1]["status"] == "done"
        assert any(kind == "investigation_resumed" for kind, _ in frames)
        rerun = client.post(f"/v1/investigations/{old}/rerun", headers=AUTH)
        assert rerun.status_code == 202
        new = rerun.json()["id"]
        assert read_sse(client, new)[-1][1]["status"] == "done"
        fresh = client.get(f"/v1/investigations/{new}", headers=AUTH).json()
        assert fresh["rerun_of"] == old and fresh["ticket_id"] == "T-9"


def test_a_second_process_leaves_the_first_ones_running_work_alone(store: Store) -> None:
    ticket = Ticket(id="T-10", body="slow", created_at=datetime(2026, 11, 20, tzinfo=UTC))
    inv = store.create_investigation(ticket, source="api", requested_by="token:sidebar", priority="on_demand")
    assert store.claim_next("other-replica:7:def", 60.0) is not None  # alive: its lease runs a minute
    with _client(store) as client:
        got = client.get(f"/v1/investigations/{inv}", headers=AUTH).json()
        assert got["status"] == "running"
        time.sleep(0.3)
        assert client.get(f"/v1/investigations/{inv}", headers=AUTH).json()["status"] == "running"


def test_shutdown_hands_running_work_back(store: Store) -> None:
    gate, started = threading.Event(), list[str]()
    with _client(store, factory=lambda t: GatedModel(gate, started)) as client:
        inv = client.post("/v1/investigations", json=TICKET, headers=AUTH).json()["id"]
        with client.stream("GET", f"/v1/investigations/{inv}/events", headers=AUTH) as response:
            for line in response.iter_lines():
                if line == "event: model_turn" or started:
                    break
    gate.set()
    record = store.get(inv)
    assert record is not None and record.status == "queued"  # released, not lost: the next worker runs it
    with _client(store) as client:
        assert read_sse(client, inv)[-1][1]["status"] == "done"


# ------------------------------------------------------------------ priority scheduling


def _tickets(store: Store, names: list[str], priority: str) -> dict[str, str]:
    ids = {}
    for name in names:
        ticket = Ticket(id=name, body=name, created_at=datetime(2026, 11, 20, tzinfo=UTC))
        ids[store.create_investigation(ticket, source="api", requested_by="t", priority=priority)] = name  # type: ignore[arg-type]
    return ids


async def test_on_demand_jumps_the_background_queue(store: Store) -> None:
    order: list[str] = []
    release = asyncio.Event()
    names = _tickets(store, ["bg0", "bg1", "bg2"], "background")

    async def run(claim: Claim) -> None:
        order.append(names[claim.id])
        await release.wait()
        store.set_status(claim.id, "done")

    worker = Worker(lambda: store, run, concurrency=1, reserve=0, poll_s=0.01)
    worker.start()
    while not order:  # the first background job holds the only slot
        await asyncio.sleep(0.01)
    names.update(_tickets(store, ["agent"], "on_demand"))
    worker.wake()
    await asyncio.sleep(0.1)
    assert order == ["bg0"]
    release.set()
    while len(order) < 4:
        await asyncio.sleep(0.01)
    assert order == ["bg0", "agent", "bg1", "bg2"]
    await worker.aclose()


async def test_reserve_lets_on_demand_start_while_background_fills_every_slot(store: Store) -> None:
    started: list[str] = []
    release = asyncio.Event()
    both = asyncio.Event()
    names = _tickets(store, [f"bg{i}" for i in range(5)], "background")

    async def run(claim: Claim) -> None:
        started.append(names[claim.id])
        if "agent" in started:
            both.set()
        await release.wait()

    worker = Worker(lambda: store, run, concurrency=2, reserve=1, poll_s=0.01)
    worker.start()
    while len(started) < 2:
        await asyncio.sleep(0.01)
    names.update(_tickets(store, ["agent"], "on_demand"))
    worker.wake()
    await asyncio.wait_for(both.wait(), 60)
    assert started == ["bg0", "bg1", "agent"]  # no third background job took the reserved slot
    # A queued background job an agent asks for is promoted, in the store (every replica sees it).
    bg2 = next(i for i, n in names.items() if n == "bg2")
    assert store.promote(bg2) and not store.promote(bg2)
    released = await worker.aclose()
    assert {names[i] for i in released} == {"bg0", "bg1", "agent"}
    assert {r.status for r in store.list()} == {"queued"}  # nothing lost, nothing left running


async def test_a_late_lease_renewal_is_not_another_attempt(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loaded machine renews late: the lease of work this worker runs has run out when it next
    looks for work. It must not claim that work again: each claim counts an attempt, and three gave
    the work up (the kill -9 test's flake: the killed process's late renewals had spent two)."""
    inv = next(iter(_tickets(store, ["slow"], "background")))
    attempts: list[int] = []
    release = asyncio.Event()
    claims: list[Claim | None] = []
    claim_next = store.claim_next

    def lapsed_at_once(owner: str, lease_s: float, **kwargs: Any) -> Claim | None:
        claims.append(claim_next(owner, -1.0, **kwargs))  # every lease has run out by the next look
        return claims[-1]

    async def run(claim: Claim) -> None:
        attempts.append(claim.attempt)
        await release.wait()

    monkeypatch.setattr(store, "claim_next", lapsed_at_once)
    worker = Worker(lambda: store, run, concurrency=2, lease_s=60.0, poll_s=0.01)
    worker.start()
    while len(claims) < 3:  # the first claim, then two more looks while its lease had run out
        await asyncio.sleep(0.01)
    monkeypatch.setattr(store, "claim_next", claim_next)
    assert attempts == [1] and [c.id for c in claims if c is not None] == [inv]
    taken = store.claim_next("next-process", 60.0)  # this process dies now: its work is resumed
    assert taken is not None and (taken.id, taken.attempt) == (inv, 2)
    release.set()
    await worker.aclose()


async def test_work_claimed_while_a_renewal_runs_is_not_stopped_by_its_answer(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A renewal asks about the work running when it starts; work claimed while it runs (its store
    call waits on a loaded machine) is not in its answer and must not be stopped as 'lease lost'
    (test_kill_9_mid_investigation: a resumed ticket stopped so, its lease then held 15 s unrenewed)."""
    answered, go, calls = threading.Event(), threading.Event(), [0]
    renew = store.renew

    def slow_renew(owner: str, lease_s: float, running: Any = None) -> set[str]:
        held = renew(owner, lease_s, running)
        calls[0] += 1
        if calls[0] == 1:  # the first renewal has its answer, and is slow to come back with it
            answered.set()
            go.wait(60)
        return held

    started, stopped, release = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def run(claim: Claim) -> None:
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            stopped.set()
            raise

    monkeypatch.setattr(store, "renew", slow_renew)
    worker = Worker(lambda: store, run, concurrency=1, lease_s=0.3, poll_s=0.01)
    worker.start()
    await asyncio.to_thread(answered.wait, 60)
    _tickets(store, ["claimed-meanwhile"], "background")
    worker.wake()
    await asyncio.wait_for(started.wait(), 60)
    go.set()
    while calls[0] < 2:  # the next renewal: the first one's answer has been acted on
        await asyncio.sleep(0.01)
    assert not stopped.is_set()
    release.set()
    await worker.aclose()


def test_secrets_never_in_responses_or_logs(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    zendesk = FakeZendesk()
    seen: list[str] = []

    def broken(ticket: Ticket) -> Any:
        raise RuntimeError("provider said no")

    with _client(store, zendesk=zendesk, factory=broken) as client:
        seen.append(
            client.post(
                "/v1/investigations", json=TICKET, headers={"Authorization": "Bearer " + TOKEN[:-1]}
            ).text
        )
        inv = client.post("/v1/investigations", json={"zendesk_ticket_id": 48213}, headers=AUTH).json()["id"]
        seen.append(json.dumps(read_sse(client, inv)))
        seen.append(client.get(f"/v1/investigations/{inv}", headers=AUTH).text)
        seen.append(client.get(f"/v1/investigations/{inv}/audit", headers=AUTH).text)
        seen.append(client.get("/healthz").text)
        seen.append(post_webhook(client, {"ticket_id": 48213}, secret="wrong").text)
    everything = "\n".join(seen) + caplog.text
    for secret in (TOKEN, APP_SECRET, WEBHOOK_SECRET, "zd-api-token-secret"):
        assert secret not in everything


def test_feedback_and_escalation_report_through_the_api(store: Store) -> None:
    with _client(store) as client:
        inv = client.post("/v1/investigations", json=TICKET, headers=AUTH).json()["id"]
        read_sse(client, inv)
        _error(client.post("/v1/investigations/inv_nope/feedback", json={"bounced": True}, headers=AUTH), 404)
        _error(
            client.post(
                f"/v1/investigations/{inv}/feedback", json={"bounced": True, "article": "x"}, headers=AUTH
            ),
            422,
        )
        no_reason = client.post(
            f"/v1/investigations/{inv}/feedback",
            json={"bounced": True, "article": "https://help.relayhq.dev/a/1"},
            headers=AUTH,
        )
        assert _error(no_reason, 422)["message"] == "a reason is required (one or two sentences)"
        assert store.feedback() == []  # rejected requests store nothing
        article = "https://help.relayhq.dev/articles/rate-limits"
        made = client.post(
            f"/v1/investigations/{inv}/feedback",
            json={"bounced": True, "article": article, "note": "documented"},
            headers=AUTH,
        )
        assert made.status_code == 201 and made.json()["recorded_by"] == "token:sidebar"
        [record] = store.feedback()
        assert record.bounced and record.article == article and record.by == "token:sidebar"
        report = client.get("/v1/reports/escalations", params={"since": "7d"}, headers=AUTH)
        assert report.status_code == 200
        body = report.json()
        assert body["investigations"] == 1 and body["escalations"] == 1 and body["bounced"] == 1
        assert body["preventable"][0]["article"] == article
        assert body["docs_gap"] is None  # this environment has no help center to search
        assert body["shared_causes"]["investigations"] == 1
        clusters = client.get("/v1/reports/clusters", params={"since": "24h"}, headers=AUTH)
        assert clusters.status_code == 200 and clusters.json()["investigations"] == 1
        assert clusters.json()["clusters"] == []  # one investigation shares nothing
        _error(client.get("/v1/reports/clusters", params={"since": "soon"}, headers=AUTH), 422)
        # A window that ends before it begins is refused; one that ended an hour ago misses the investigation.
        _error(client.get("/v1/reports/clusters", params={"since": "1h", "until": "2h"}, headers=AUTH), 422)
        earlier = client.get("/v1/reports/clusters", params={"since": "7d", "until": "1h"}, headers=AUTH)
        assert earlier.status_code == 200 and earlier.json()["investigations"] == 0
        assert client.get("/v1/reports/clusters").status_code == 401
        page = client.get("/clusters")  # the page is public; the data it reads needs the token
        assert page.status_code == 200 and "clusters.js" in page.text
        _error(client.get("/v1/reports/escalations", params={"since": "soon"}, headers=AUTH), 422)
        # A resolved investigation has no escalation to bounce: 409, nothing stored.
        record = store.get(inv)
        assert record is not None and record.diagnosis is not None
        resolved = store.create_investigation(
            Ticket(id="T-resolved", body="b", created_at=datetime(2026, 11, 20, tzinfo=UTC)),
            source="api",
            requested_by="token:sidebar",
            tenant=record.tenant,
        )
        store.set_status(resolved, "running")
        store.save_result(
            resolved,
            Investigation(
                record.diagnosis.model_copy(update={"action": "resolve", "escalation": None}),
                Signals(
                    window_start=datetime(2026, 11, 20, tzinfo=UTC),
                    window_end=datetime(2026, 11, 20, tzinfo=UTC),
                ),
                [],
                [],
            ),
            "token:sidebar",
        )
        bounce = {"bounced": True, "article": article, "note": "documented"}
        refused = client.post(f"/v1/investigations/{resolved}/feedback", json=bounce, headers=AUTH)
        assert "no escalation to bounce" in _error(refused, 409, "not_escalated")["message"]
        assert len(store.feedback()) == 1


def test_malformed_values_are_4xx_with_the_error_shape(store: Store) -> None:
    zendesk = FakeZendesk()
    with _client(store, zendesk=zendesk) as client:
        inv = client.post("/v1/investigations", json=TICKET, headers=AUTH).json()["id"]
        read_sse(client, inv)
        raw = b'{"ticket_id": 48213}'
        stamp = "²".encode()  # header values as UTF-8 bytes, as a hostile client sends them
        signed = sign_webhook(WEBHOOK_SECRET, "²", raw)
        webhook = client.post(
            "/v1/webhooks/zendesk",
            content=raw,
            headers={
                "X-Zendesk-Webhook-Signature": signed.encode(),
                "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            },
        )
        _error(webhook, 401)
        _error(client.post("/v1/investigations", json={"zendesk_ticket_id": "²"}, headers=AUTH), 422)
        last = {**AUTH, "Last-Event-ID": "²".encode()}
        _error(client.get(f"/v1/investigations/{inv}/events", headers=last), 400)
        _error(client.get(f"/v1/investigations/{inv}/events?after=1e20", headers=AUTH), 422)
        _error(client.get(f"/v1/investigations/{inv}/events?after=99999999999999999999", headers=AUTH), 422)
        _error(client.get("/v1/investigations?since=0001-01-01T00:00:00%2B14:00", headers=AUTH), 422)
        _error(client.get("/v1/reports/escalations?since=99999999999d", headers=AUTH), 422)
        _error(client.get("/v1/reports/escalations?since=0001-01-01T00:00:00%2B14:00", headers=AUTH), 422)
