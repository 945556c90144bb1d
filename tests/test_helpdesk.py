"""The helpdesk seam: intake, config and the service reach Zendesk only through ``Helpdesk``."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from casefile.agent import intake
from casefile.agent.config import ConfigError, load_settings
from casefile.agent.helpdesk import HelpdeskError, WebhookRefused, helpdesk_classes
from casefile.agent.helpdesk.zendesk import ZendeskHelpdesk, ZendeskSettings, sign_webhook
from casefile.agent.intake import parse_ticket
from casefile.agent.intake_fields import TicketDraft
from casefile.agent.store import Store
from casefile.agent.ticket import Ticket
from casefile.tools.settings import ConnectorSettings

SECRET = "whsec"


def test_one_zendesk_settings_model_for_the_service_and_the_connector() -> None:
    settings = load_settings(env={"ZENDESK_SUBDOMAIN": "acme", "ZENDESK_WEBHOOK_SECRET": "s"})
    assert type(settings.service.zendesk) is ZendeskSettings
    assert ConnectorSettings.model_fields["zendesk"].annotation is ZendeskSettings
    # The helpdesk declares its variables; config maps them into [service.zendesk].
    assert settings.service.zendesk.subdomain == "acme"
    assert settings.service.zendesk.webhook_secret is not None
    assert settings.connectors.zendesk.subdomain == "acme"


def test_a_second_helpdesk_is_recognised_by_intake_through_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Deskish(ZendeskHelpdesk):
        name = "deskish"

        @classmethod
        def is_export(cls, data: Mapping[str, Any]) -> bool:
            return "deskish_ticket" in data

        @classmethod
        def parse_export(cls, data: Mapping[str, Any]) -> TicketDraft:
            raw = data["deskish_ticket"]
            return TicketDraft(id=str(raw["number"]), body=raw["text"], created_at=None)

    installed = {**helpdesk_classes(), "deskish": Deskish}
    monkeypatch.setattr(intake, "helpdesk_classes", lambda: installed)
    ticket = parse_ticket(
        {"deskish_ticket": {"number": 7, "text": "key sk_live_abcdefghijklmnopqrstuvwx fails"}},
        default_created_at=datetime(2026, 11, 20, tzinfo=UTC),
    )
    assert ticket.id == "7"
    assert "sk_live" not in ticket.body and ticket.redactions == 1  # redaction is intake's, for every format


def _signed(body: bytes, at: float) -> dict[str, str]:
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    return {
        "x-zendesk-webhook-signature": sign_webhook(SECRET, ts, body),
        "x-zendesk-webhook-signature-timestamp": ts,
    }


def test_zendesk_webhook_verification() -> None:
    desk = ZendeskHelpdesk(ZendeskSettings(subdomain="acme", webhook_secret=SecretStr(SECRET)))
    body = b'{"ticket_id": 12}'
    now = time.time()
    desk.verify_webhook(_signed(body, now), body, now=now)
    refusals = {
        "tampered": (_signed(body, now), body + b" ", now),
        "stale": (_signed(body, now - 301), body, now),
        "unsigned": ({}, body, now),
    }
    codes = {}
    for why, (headers, raw, at) in refusals.items():
        with pytest.raises(WebhookRefused) as caught:
            desk.verify_webhook(headers, raw, now=at)
        codes[why] = caught.value.code
    assert codes == {
        "tampered": "invalid_signature",
        "stale": "stale_signature",
        "unsigned": "invalid_signature",
    }
    with pytest.raises(WebhookRefused, match="no webhook signing secret"):
        ZendeskHelpdesk(ZendeskSettings()).verify_webhook(_signed(body, now), body, now=now)
    assert desk.webhook_ticket_id({"ticket_id": "12"}) == 12
    assert desk.webhook_ticket_id({"type": "zen:event-type:ticket.created", "detail": {"id": 9}}) == 9
    assert "not a ticket creation" in str(desk.webhook_ticket_id({"type": "zen:event-type:ticket.deleted"}))
    with pytest.raises(ValueError, match="names no ticket"):
        desk.webhook_ticket_id({"ticket_id": "²"})


async def test_an_unconfigured_helpdesk_refuses_to_call_out() -> None:
    desk = ZendeskHelpdesk(ZendeskSettings())
    assert not desk.configured
    with pytest.raises(HelpdeskError, match="not configured"):
        await desk.post_internal_note(1, "note")
    await desk.aclose()


async def test_fetch_and_note_in_zendesk_wire_format() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.method == "PUT":
            return httpx.Response(200, json={"ticket": {"id": 5}})
        if request.url.path.endswith("/comments.json"):
            return httpx.Response(200, json={"comments": [{"id": 1, "body": "It fails", "public": True}]})
        ticket = {"id": 5, "description": "It fails", "requester_id": 3, "created_at": "2026-11-20T10:00:00Z"}
        return httpx.Response(
            200, json={"ticket": {**ticket, "tags": ["vip"]}, "users": [{"id": 3, "name": "Dana"}]}
        )

    settings = ZendeskSettings(subdomain="acme", email="a@acme.example", api_token=SecretStr("t"))
    desk = ZendeskHelpdesk(settings, transport=httpx.MockTransport(handler))
    fetched = await desk.fetch_ticket(5, source="zendesk")
    assert (fetched.ticket.id, fetched.ticket.requester.name, fetched.tags) == ("5", "Dana", ["vip"])
    await desk.post_internal_note(5, "diagnosis")
    put = sent[-1]
    assert put.url == "https://acme.zendesk.com/api/v2/tickets/5.json"
    assert put.headers["authorization"].startswith("Basic ")
    assert b'"public":false' in put.content and b'"casefile_investigated"' in put.content
    await desk.aclose()


# ---------------------------------------------------------------- the registry and the service's choice


def test_built_in_helpdesks_are_found_by_scanning_the_package() -> None:
    # No list names Zendesk: its module defines a Helpdesk subclass, and that is enough.
    assert helpdesk_classes()["zendesk"] is ZendeskHelpdesk


def test_the_service_helpdesk_comes_from_config_and_an_unknown_one_is_one_line(tmp_path: Path) -> None:
    assert load_settings(env={}).service.helpdesk == "zendesk"
    config = tmp_path / "casefile.toml"
    config.write_text('[service]\nhelpdesk = "freshdsk"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    message = str(caught.value)
    assert message.startswith(f"{config}:2: service.helpdesk: unknown helpdesk 'freshdsk'; installed: ")
    assert "zendesk" in message and "\n" not in message
    with pytest.raises(
        ConfigError, match=r"^CASEFILE_HELPDESK: unknown helpdesk 'nope'; installed: .*zendesk"
    ):
        load_settings(env={"CASEFILE_HELPDESK": "nope"})


def test_a_ticket_source_is_an_origin_or_an_installed_helpdesk() -> None:
    when = datetime(2026, 11, 20, tzinfo=UTC)
    assert Ticket(id="1", body="b", created_at=when, source="zendesk").source == "zendesk"
    with pytest.raises(ValidationError, match="unknown ticket source 'gonedesk'"):
        Ticket(id="1", body="b", created_at=when, source="gonedesk")


def test_stored_tickets_load_whatever_helpdesk_wrote_them() -> None:
    store = Store("sqlite:///:memory:")
    when = datetime(2026, 11, 20, tzinfo=UTC)
    ticket = Ticket(id="48213", body="It fails", created_at=when, source="zendesk")
    inv = store.create_investigation(ticket, source="zendesk", requested_by="t")
    loaded = store.ticket(inv)
    assert loaded is not None and loaded.source == "zendesk"
    # A ticket saved by a plug-in helpdesk since uninstalled still loads: it is history, not input.
    gone = ticket.model_dump(mode="json") | {"source": "gonedesk"}
    with store._tx() as cur:
        cur.execute("UPDATE investigations SET ticket_json = ? WHERE id = ?", (json.dumps(gone), inv))
    loaded = store.ticket(inv)
    assert loaded is not None and loaded.source == "gonedesk"
    store.close()
