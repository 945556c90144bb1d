"""The investigation service with Zendesk: the sidebar app's JWTs, and the webhook that investigates a
ticket and posts the diagnosis as an internal note (signed, not twice, a store that refuses writes seen)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from service_helpers import (
    APP_SECRET,
    AUTH,
    WEBHOOK_SECRET,
    FakeZendesk,
    post_webhook,
    read_sse,
    wait_for,
)
from test_service import TICKET, _client, _error

from casefile.agent.helpdesk.zendesk import sign_webhook
from casefile.agent.store import Store

# ------------------------------------------------------------------ Zendesk app JWT


def _jwt(secret: str = APP_SECRET, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": "https://relayhq.zendesk.com",
        "aud": "casefile",
        "iat": now,
        "exp": now + 300,
        "email": "sam.rivera@relayhq.dev",
        **claims,
    }
    return jwt.encode(body, secret, algorithm="HS256")


def test_zendesk_app_jwt(store: Store) -> None:
    zendesk = FakeZendesk()
    with _client(store, zendesk=zendesk) as client:
        bearer = {"Authorization": f"Bearer {_jwt()}"}
        created = client.post("/v1/investigations", json={"zendesk_ticket_id": 48213}, headers=bearer)
        assert created.status_code == 202, created.text
        inv = created.json()["id"]
        read_sse(client, inv, headers=bearer)
        record = store.get(inv)
        assert record is not None and record.requested_by == "zendesk:sam.rivera@relayhq.dev"
        assert record.ticket_id == "48213" and record.source == "zendesk"
        # The ticket content came from Zendesk, not from the page.
        assert zendesk.auth_headers and zendesk.auth_headers[0].startswith("Basic ")
        assert zendesk.puts == []  # the sidebar path never writes to the ticket

        now = int(time.time())
        forged = _jwt(secret="not-the-secret-but-long-enough-for-hs256-keys")
        expired = jwt.encode({"iat": now - 7200, "exp": now - 3600}, APP_SECRET, algorithm="HS256")
        unsigned = jwt.encode({"iat": now, "exp": now + 60}, None, algorithm="none")  # type: ignore[arg-type]
        no_exp = jwt.encode({"iat": now}, APP_SECRET, algorithm="HS256")
        # Signed with the right secret, but for another Zendesk, another app, or no one in particular.
        other_zendesk = _jwt(iss="https://globex.zendesk.com")
        lookalike = _jwt(iss="https://relayhq.zendesk.com.evil.example")
        other_app = _jwt(aud="another-app")
        audiences = _jwt(aud=["another-app", "other"])
        no_iss = jwt.encode({"aud": "casefile", "iat": now, "exp": now + 60}, APP_SECRET, algorithm="HS256")
        no_aud = jwt.encode(
            {"iss": "https://relayhq.zendesk.com", "iat": now, "exp": now + 60}, APP_SECRET, algorithm="HS256"
        )
        wrong = (other_zendesk, lookalike, other_app, audiences, no_iss, no_aud)
        for token in (forged, expired, unsigned, no_exp, *wrong):
            _error(client.get(f"/v1/investigations/{inv}", headers={"Authorization": f"Bearer {token}"}), 401)
        _error(
            client.post("/v1/investigations", json={"zendesk_ticket_id": 999}, headers=bearer),
            404,
            "zendesk_ticket_not_found",
        )


# ------------------------------------------------------------------ the Zendesk webhook


def test_webhook_investigates_and_posts_an_internal_note(store: Store) -> None:
    zendesk = FakeZendesk()
    with _client(store, zendesk=zendesk, public_url="https://casefile.relayhq.dev") as client:
        event = {"type": "zen:event-type:ticket.created", "detail": {"id": "48213"}, "id": "evt-1"}
        response = post_webhook(client, event)
        assert response.status_code == 202, response.text
        inv = response.json()["id"]
        assert read_sse(client, inv)[-1][1]["status"] == "done"
        # The note is written after the result is stored; wait for the write through the event loop.
        wait_for(lambda: zendesk.puts, "the note")
    record = store.get(inv)
    assert record is not None and record.source == "webhook" and record.priority == "background"
    assert record.requested_by == "zendesk:webhook"
    assert len(zendesk.puts) == 1
    put = zendesk.puts[0]["ticket"]
    assert put["comment"]["public"] is False
    assert put["additional_tags"] == ["casefile_investigated"]
    assert "REL-482" in put["comment"]["body"] and inv in put["comment"]["body"]
    assert set(put) == {"comment", "additional_tags"}


def test_rerun_of_a_webhook_investigation_posts_its_note(store: Store) -> None:
    zendesk = FakeZendesk()
    with _client(store, zendesk=zendesk) as client:
        inv = post_webhook(client, {"ticket_id": 48213}).json()["id"]
        wait_for(lambda: store.delivery(inv)[1] is not None, "the note")
        new = client.post(f"/v1/investigations/{inv}/rerun", headers=AUTH).json()["id"]
        wait_for(lambda: store.delivery(new)[1] is not None, "the rerun's note")
        # Resent by Zendesk after the note: the ticket is tagged now, nothing new starts.
        again = post_webhook(client, {"ticket_id": 48213})
        assert again.status_code == 200 and "already tagged" in again.json()["skipped"]
    bodies = [put["ticket"]["comment"]["body"] for put in zendesk.puts]
    assert len(bodies) == 2 and inv in bodies[0] and new in bodies[1]


def test_a_store_that_refuses_writes_is_visible(store: Store) -> None:
    zendesk = FakeZendesk()
    with _client(store, zendesk=zendesk, lease_s=0.3) as client:
        assert client.get("/healthz").status_code == 200

        def full_disk(*args: Any, **kwargs: Any) -> None:
            raise OSError(28, "No space left on device")

        # A full disk refuses every write, the lease renewals' too (a renewal that succeeded in
        # between would rightly report the store healthy again, however slow the machine).
        original, renew = store.create_investigation, store.renew
        store.create_investigation = full_disk  # type: ignore[method-assign]
        store.renew = full_disk  # type: ignore[method-assign,assignment]
        refused = post_webhook(client, {"ticket_id": 48213})
        _error(refused, 503, "store_unavailable")  # not accepted, so Zendesk sends it again
        assert refused.headers["retry-after"]
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "unhealthy"
        store.create_investigation, store.renew = original, renew  # type: ignore[method-assign]
        wait_for(
            lambda: client.get("/healthz").status_code == 200, "a healthy store"
        )  # lease renewals write again
        assert post_webhook(client, {"ticket_id": 48213}).status_code == 202


def test_a_failing_result_write_fails_the_investigation(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*args: Any, **kwargs: Any) -> bool:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "save_result", full_disk)
    with _client(store) as client:
        inv = client.post("/v1/investigations", json=TICKET, headers=AUTH).json()["id"]
        assert read_sse(client, inv)[-1][1]["status"] == "failed"  # not left "running" until a restart
    record = store.get(inv)
    assert record is not None and "No space left" in (record.error or "")


def test_webhook_trigger_payload_and_tagged_ticket_is_skipped(store: Store) -> None:
    zendesk = FakeZendesk(tags=["api", "casefile_investigated"])
    with _client(store, zendesk=zendesk) as client:
        response = post_webhook(client, {"ticket_id": 48213})
        assert response.status_code == 200 and "already tagged" in response.json()["skipped"]
        other = post_webhook(
            client, {"type": "zen:event-type:ticket.comment_added", "detail": {"id": "48213"}}
        )
        assert other.status_code == 200 and "not a ticket creation" in other.json()["skipped"]
    assert store.list() == [] and zendesk.puts == []


def test_forged_and_stale_webhooks_are_refused(store: Store) -> None:
    zendesk = FakeZendesk()
    with _client(store, zendesk=zendesk) as client:
        _error(post_webhook(client, {"ticket_id": 48213}, secret="guess"), 401, "invalid_signature")
        # A valid signature over another body.
        ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        signed = sign_webhook(WEBHOOK_SECRET, ts, b'{"ticket_id": 1}')
        tampered = client.post(
            "/v1/webhooks/zendesk",
            content=b'{"ticket_id": 48213}',
            headers={"X-Zendesk-Webhook-Signature": signed, "X-Zendesk-Webhook-Signature-Timestamp": ts},
        )
        _error(tampered, 401, "invalid_signature")
        _error(
            post_webhook(client, {"ticket_id": 48213}, timestamp="2026-01-01T00:00:00Z"),
            401,
            "stale_signature",
        )
        _error(post_webhook(client, {}, body=b"not json"), 400, "invalid_json")
        _error(post_webhook(client, {"nothing": True}), 400, "invalid_payload")
    assert store.list() == [] and zendesk.puts == []
