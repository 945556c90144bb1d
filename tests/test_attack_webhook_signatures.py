"""Round-7 attacks on the helpdesk webhook's signature and on replayed deliveries.

Zendesk signs ``timestamp + body`` (HMAC-SHA256, base64). An attacker without the secret has only
what it saw: a signed delivery. It tries to make that signature cover something else — the boundary
between timestamp and body shifted, the body re-encoded (escapes, a BOM, another charset, spaces),
the signature spelt otherwise (hex, no padding, two of them, the other header's value) — or to make
an old one current (a timestamp spelt as a Unix time, with an offset, fractions, a far future
that overflows, just outside the window either way). Deliveries are also replayed: a burst in
parallel, after the note, and against a new service on the same store. Nothing refused is stored;
every replay is one investigation and one note.
"""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from service_helpers import WEBHOOK_SECRET, FakeZendesk, post_webhook, wait_for
from test_attack_webhooks import client_for, store  # noqa: F401 - fixture shared

from casefile.agent.helpdesk.zendesk import sign_webhook
from casefile.agent.store import Store

BODY = b'{"ticket_id": 48213}'
PATH = "/v1/webhooks/zendesk"


def _now(shift: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + shift).strftime("%Y-%m-%dT%H:%M:%SZ")


def _headers(timestamp: str, signature: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": signature,
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }


def _forgeries() -> list[tuple[str, bytes, dict[str, str]]]:
    """(attack, body, headers): each built from one genuine signature over (now, BODY)."""
    ts = _now()
    sig = sign_webhook(WEBHOOK_SECRET, ts, BODY)
    raw = base64.b64decode(sig)
    unix = str(int(datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()))
    unix_sig = sign_webhook(WEBHOOK_SECRET, unix, BODY)
    return [
        # the boundary between timestamp and body moved: the same signed bytes
        ("boundary: body's first byte into the timestamp", BODY[1:], _headers(ts + "{", sig)),
        ("boundary: the timestamp's last byte into the body", b"Z" + BODY, _headers(ts[:-1], sig)),
        (
            "boundary: a Unix time's last digit into the body",
            unix[-1:].encode() + BODY,
            _headers(unix[:-1], unix_sig),
        ),
        # the body re-encoded: the same JSON, other bytes
        ("re-encoded: unicode escapes", b'{"ticket_id": \\u0034\\u0038213}', _headers(ts, sig)),
        ("re-encoded: escaped key", b'{"\\u0074icket_id": 48213}', _headers(ts, sig)),
        ("re-encoded: a BOM", b"\xef\xbb\xbf" + BODY, _headers(ts, sig)),
        ("re-encoded: UTF-16", BODY.decode().encode("utf-16"), _headers(ts, sig)),
        ("re-encoded: CRLF after", BODY + b"\r\n", _headers(ts, sig)),
        ("re-encoded: a duplicate key", b'{"ticket_id": 1, "ticket_id": 48213}', _headers(ts, sig)),
        ("re-encoded: a float", b'{"ticket_id": 48213.0}', _headers(ts, sig)),
        # the signature spelt otherwise
        ("signature: hex", BODY, _headers(ts, raw.hex())),
        (
            "signature: urlsafe, no padding",
            BODY,
            _headers(ts, base64.urlsafe_b64encode(raw).decode().rstrip("=")),
        ),
        ("signature: two, the real one second", BODY, _headers(ts, f"AAAA, {sig}")),
        ("signature: truncated", BODY, _headers(ts, sig[:20])),
        ("signature: empty", BODY, _headers(ts, "")),
        ("signature: sha256= prefix", BODY, _headers(ts, "sha256=" + sig)),
        ("signature: over the body only", BODY, _headers(ts, sign_webhook(WEBHOOK_SECRET, "", BODY))),
        ("signature: empty secret", BODY, _headers(ts, sign_webhook("", ts, BODY))),
        # a timestamp made current or unreadable
        ("timestamp: a day old as a Unix time", BODY, _headers(str(int(unix) - 86400), sig)),
        ("timestamp: an offset", BODY, _headers(ts[:-1] + "+00:00", sig)),
        ("timestamp: fractions", BODY, _headers(ts[:-1] + ".000Z", sig)),
        (
            "timestamp: far future",
            BODY,
            _headers("99999999999999999999", sign_webhook(WEBHOOK_SECRET, "99999999999999999999", BODY)),
        ),
        ("timestamp: year 10000", BODY, _headers("10000-01-01T00:00:00Z", sig)),
        ("timestamp: nan", BODY, _headers("nan", sign_webhook(WEBHOOK_SECRET, "nan", BODY))),
        ("timestamp: negative", BODY, _headers("-1", sign_webhook(WEBHOOK_SECRET, "-1", BODY))),
        (
            "timestamp: missing",
            BODY,
            {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature": sig},
        ),
    ]


FORGERY_NAMES = [name for name, _, _ in _forgeries()]


@pytest.mark.parametrize("attack", FORGERY_NAMES)
def test_a_genuine_signature_covers_nothing_else(store: Store, attack: str) -> None:  # noqa: F811
    _, body, headers = next(f for f in _forgeries() if f[0] == attack)
    zendesk = FakeZendesk()
    with client_for(store, zendesk) as client:
        answer = client.post(PATH, content=body, headers=headers)
        assert answer.status_code in (400, 401, 422), (attack, answer.status_code, answer.text)
        assert len(answer.json()["error"]["message"].splitlines()) == 1
    assert store.list() == [] and zendesk.puts == []


# Two seconds past the window: the timestamp is whole seconds (truncated) and the request is read a
# moment after it is signed; under load a second outside became inside for the "too new" one.
@pytest.mark.parametrize("seconds", [-302, 302], ids=["just too old", "just too new"])
def test_just_outside_the_window_is_stale(store: Store, seconds: int) -> None:  # noqa: F811
    with client_for(store, FakeZendesk()) as client:
        ts = _now(timedelta(seconds=seconds))  # signed once the service is up, not before its start
        answer = client.post(PATH, content=BODY, headers=_headers(ts, sign_webhook(WEBHOOK_SECRET, ts, BODY)))
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "stale_signature"
    assert store.list() == []


def test_a_parallel_burst_of_one_delivery_is_one_investigation_and_one_note(store: Store) -> None:  # noqa: F811
    ts = _now()
    headers = _headers(ts, sign_webhook(WEBHOOK_SECRET, ts, BODY))
    zendesk = FakeZendesk()
    with client_for(store, zendesk) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.post(PATH, content=BODY, headers=headers), range(24)))
        assert all(a.status_code in (200, 202) for a in answers), {a.status_code for a in answers}
        ids = {a.json().get("id") for a in answers if a.status_code == 202}
        assert len(ids) == 1, ids
        (inv,) = ids
        wait_for(lambda: store.delivery(inv)[1] is not None)
    assert [r.id for r in store.list()] == [inv] and len(zendesk.puts) == 1


def test_a_replay_to_a_new_service_on_the_same_store_posts_no_second_note(store: Store) -> None:  # noqa: F811
    """A restart between the note and the replay: the new process must not investigate it again."""
    zendesk = FakeZendesk()
    payload: dict[str, Any] = {"type": "zen:event-type:ticket.created", "detail": {"id": "48213"}, "id": "e1"}
    with client_for(store, zendesk) as client:
        inv = post_webhook(client, payload).json()["id"]
        wait_for(lambda: store.delivery(inv)[1] is not None)
    with client_for(store, zendesk) as client:
        for replay in (payload, {**payload, "id": "e2"}, {"ticket_id": 48213}):
            again = post_webhook(client, replay)
            assert again.status_code == 200 and "already tagged" in again.json()["skipped"], again.text
    assert [r.id for r in store.list()] == [inv] and len(zendesk.puts) == 1
    assert json.loads(json.dumps(zendesk.puts[0]))["ticket"]["additional_tags"] == ["casefile_investigated"]
