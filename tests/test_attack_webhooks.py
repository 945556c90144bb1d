"""Round-4 attacks on note durability and the helpdesk webhook (``/v1/webhooks/{helpdesk}``).

Zendesk (or someone replaying its requests) sends the same ticket many ways: a burst of the
same delivery, the ticket id spelled as a string, with leading zeros, as a float, nested in a
trigger payload or an event, a replay after the note was posted, a signature from the future,
another helpdesk's path. Whatever arrives: one investigation per ticket revision, one note,
and nothing stored for what is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_helpers import (
    WEBHOOK_SECRET,
    FakeZendesk,
    light_env,
    post_webhook,
    scripted_factory,
    settings,
    wait_for,
)

from casefile.agent.helpdesk.zendesk import sign_webhook
from casefile.agent.service.app import create_app
from casefile.agent.store import Store


@pytest.fixture
def store(tmp_path: Any) -> Store:
    return Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")


def client_for(store: Store, zendesk: FakeZendesk) -> TestClient:
    app = create_app(
        settings(),
        env=light_env(),
        model_factory=scripted_factory(),
        store=store,
        helpdesk_transport=zendesk.transport(),
    )
    return TestClient(app)


SPELLINGS: list[dict[str, Any]] = [
    {"ticket_id": 48213},
    {"ticket_id": "48213"},
    {"ticket_id": " 48213 "},
    {"ticket": {"id": 48213}},
    {"type": "zen:event-type:ticket.created", "detail": {"id": "48213"}, "id": "evt-1"},
    {"type": "zen:event-type:ticket.created", "detail": {"id": 48213}, "id": "evt-2"},
]


def test_one_ticket_in_every_spelling_and_a_burst_is_one_investigation_and_one_note(store: Store) -> None:
    zendesk = FakeZendesk()
    with client_for(store, zendesk) as client:
        answers = [post_webhook(client, payload) for payload in SPELLINGS for _ in range(3)]
        assert all(a.status_code in (200, 202) for a in answers), [a.text for a in answers]
        ids = {a.json().get("id") for a in answers if a.status_code == 202}
        assert len(ids) == 1, ids
        (inv,) = ids
        wait_for(lambda: store.delivery(inv)[1] is not None)
        # Replayed after the note: the ticket is tagged, nothing new starts.
        for payload in SPELLINGS:
            again = post_webhook(client, payload)
            assert again.status_code == 200 and "already tagged" in again.json()["skipped"]
    assert [r.id for r in store.list()] == [inv]
    assert len(zendesk.puts) == 1


NOT_A_TICKET: list[dict[str, Any]] = [
    {"ticket_id": 0},
    {"ticket_id": -48213},
    {"ticket_id": 48213.5},
    {"ticket_id": "48213abc"},
    {"ticket_id": "4.8213e4"},
    {"ticket_id": "²"},
    {"ticket_id": "48213/../1"},
    {"ticket_id": True},
    {"ticket_id": [48213]},
    {"ticket_id": {"id": 48213}},
    {"ticket_id": 10**40},
    {"ticket_id": None, "ticket": {"id": None}},
    {"type": "zen:event-type:ticket.created", "detail": "48213"},
]


@pytest.mark.parametrize("payload", NOT_A_TICKET, ids=repr)
def test_a_body_that_names_no_ticket_is_a_clear_4xx_and_stores_nothing(
    store: Store, payload: dict[str, Any]
) -> None:
    zendesk = FakeZendesk()
    with client_for(store, zendesk) as client:
        answer = post_webhook(client, payload)
        assert 400 <= answer.status_code < 500, answer.text
        error = answer.json()["error"]
        assert error["code"] and len(error["message"].splitlines()) == 1
    assert store.list() == [] and zendesk.puts == []


def _signed(timestamp: str, body: bytes) -> dict[str, str]:
    return {
        "X-Zendesk-Webhook-Signature": sign_webhook(WEBHOOK_SECRET, timestamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


@pytest.mark.parametrize(
    "shift",
    [timedelta(days=1), timedelta(hours=1), -timedelta(hours=1), timedelta(days=-3650)],
    ids=["a day ahead", "an hour ahead", "an hour ago", "ten years ago"],
)
def test_a_signature_outside_the_window_either_way_is_refused(store: Store, shift: timedelta) -> None:
    body = b'{"ticket_id": 48213}'
    when = (datetime.now(UTC) + shift).strftime("%Y-%m-%dT%H:%M:%SZ")
    zendesk = FakeZendesk()
    with client_for(store, zendesk) as client:
        answer = client.post("/v1/webhooks/zendesk", content=body, headers=_signed(when, body))
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "stale_signature"
    assert store.list() == []


@pytest.mark.parametrize(
    "path", ["/v1/webhooks/freshdesk", "/v1/webhooks/Zendesk", "/v1/webhooks/zendesk/..%2f", "/v1/webhooks/"]
)
def test_a_signed_body_on_another_helpdesks_path_is_not_taken(store: Store, path: str) -> None:
    body = b'{"ticket_id": 48213}'
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    zendesk = FakeZendesk()
    with client_for(store, zendesk) as client:
        answer = client.post(path, content=body, headers=_signed(now, body))
        assert answer.status_code in (404, 405), (path, answer.status_code)
    assert store.list() == [] and zendesk.puts == []


def test_a_replayed_signature_over_a_changed_body_is_refused(store: Store) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signed = _signed(now, b'{"ticket_id": 48213}')
    zendesk = FakeZendesk()
    with client_for(store, zendesk) as client:
        for body in (b'{"ticket_id": 48213} ', b'{"ticket_id":48213}', b'{"ticket_id": 48213, "x": 1}'):
            answer = client.post("/v1/webhooks/zendesk", content=body, headers=signed)
            assert answer.status_code == 401, body
    assert store.list() == []
