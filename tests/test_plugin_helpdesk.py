"""A third-party helpdesk, pip-installed from its own one-file package, is a helpdesk like Zendesk.

The package in ``tests/plugin_helpdesk`` (Toydesk: an invented helpdesk with its own export
format, API and HMAC webhook) is pip-installed into a temp directory, put on ``sys.path`` for a
test and removed again: its entry point is the only thing that tells casefile it exists.
``casefile investigate`` reads its export; the service configured to use it takes its signed
webhook and posts its note through it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from plugin_install import install_plugin
from service_helpers import AUTH, TOKEN, light_env, read_sse, scripted_factory, wait_for

from casefile.agent.cli import main
from casefile.agent.config import ConfigError, Settings, load_settings
from casefile.agent.helpdesk import helpdesk_names, registry
from casefile.agent.intake import TicketError, parse_ticket
from casefile.agent.service.app import create_app
from casefile.agent.store import Store

PLUGIN = Path(__file__).resolve().parent / "plugin_helpdesk"
SECRET = "toy-webhook-secret"
EXPORT = {
    "toydesk_ticket": {
        "number": 7,
        "title": "Exports fail",
        "text": "Every export fails since 10:00 with a 500. Our key is sk_live_abcdefghijklmnopqrstuvwx.",
        "opened": "2026-11-20T11:40:00Z",
        "from": {"name": "Ada", "email": "ada@lumen.example"},
        "labels": ["exports"],
        "replies": [
            {"by": "Ada", "text": "Still failing at 11:00.", "internal": False},
            {"by": "agent", "text": "internal: customer is on the old plan", "internal": True},
        ],
    }
}


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_plugin(PLUGIN, tmp_path_factory)


@pytest.fixture
def toydesk(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The plug-in installed in this process: on sys.path, and the registry looking again."""
    monkeypatch.syspath_prepend(str(plugin_site))
    registry.clear_cache()
    yield
    monkeypatch.undo()
    sys.modules.pop("casefile_toydesk", None)
    registry.clear_cache()


def test_casefile_investigate_reads_the_plugins_export(
    toydesk: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "toy.json").write_text(json.dumps(EXPORT))
    # Live systems, none reachable: the point is reading the ticket, not loading a world.
    (tmp_path / "accounts.json").write_text('{"accounts": []}')
    (tmp_path / "casefile.toml").write_text(
        'accounts_file = "accounts.json"\n[connectors.logs]\ndsn = "http://127.0.0.1:9/"\n'
    )
    monkeypatch.chdir(tmp_path)
    assert main(["investigate", "toy.json", "--json", "--no-save"]) == 0
    assert json.loads(capsys.readouterr().out)["ticket_id"] == "7"  # its export's number, not the file's name


def test_without_the_plugin_its_export_is_no_ticket_casefile_reads() -> None:
    assert "toydesk" not in helpdesk_names()
    with pytest.raises(TicketError, match="ticket has no created_at"):
        parse_ticket(json.dumps(EXPORT), source_name="toy")


def _settings(tmp_path: Path, section: str = 'base_url = "https://desk.toy.example"') -> Settings:
    config = tmp_path / "casefile.toml"
    config.write_text(
        f'[service]\nhelpdesk = "toydesk"\ntokens = {{ sidebar = "{TOKEN}" }}\n[service.toydesk]\n{section}\n'
    )
    return load_settings(config, env={"TOYDESK_API_KEY": "toy-key", "TOYDESK_WEBHOOK_SECRET": SECRET})


def test_its_section_is_checked_like_a_built_in_one(toydesk: None, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    section = settings.service.helpdesk_settings()
    assert type(section).__name__ == "ToydeskSettings"  # its own model, with its env vars mapped in
    assert section.webhook_secret is not None and section.webhook_secret.get_secret_value() == SECRET
    with pytest.raises(ConfigError, match=r"casefile.toml:5: unknown key base_ur in \[service.toydesk\]"):
        _settings(tmp_path, 'base_ur = "https://desk.toy.example"')
    with pytest.raises(
        ConfigError, match=r"casefile.toml:5: service.toydesk.timeout_s: Input should be greater"
    ):
        _settings(tmp_path, "timeout_s = -1")


class FakeToydesk:
    """Toydesk's API for ticket 7, in its wire format: read the ticket and replies, add a reply."""

    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []
        self.keys: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("authorization", ""))
        path = request.url.path
        if request.method == "GET" and path == "/tickets/7":
            return httpx.Response(200, json=EXPORT)
        if request.method == "GET" and path == "/tickets/7/replies":
            return httpx.Response(200, json={"replies": self.replies})
        if request.method == "POST" and path == "/tickets/7/replies":
            self.replies.append(json.loads(request.content))
            return httpx.Response(201, json={"ok": True})
        return httpx.Response(404, json={"error": "no such ticket"})


def _webhook(client: TestClient, payload: dict[str, Any], secret: str = SECRET, path: str = "toydesk") -> Any:
    from casefile_toydesk import sign  # the plug-in's own signing: importable only once installed

    raw = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Toydesk-Signature": sign(secret, raw)}
    return client.post(f"/v1/webhooks/{path}", content=raw, headers=headers)


def test_the_service_takes_its_signed_webhook_and_posts_its_note(toydesk: None, tmp_path: Path) -> None:
    desk = FakeToydesk()
    store = Store("sqlite:///:memory:")
    app = create_app(
        _settings(tmp_path),
        env=light_env(),
        model_factory=scripted_factory(),
        store=store,
        helpdesk_transport=httpx.MockTransport(desk.handle),
    )
    opened = {"event": "ticket_opened", "number": 7}
    with TestClient(app) as client:
        refused = _webhook(client, opened, secret="not-the-secret")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_signature"
        assert _webhook(client, opened, path="zendesk").status_code == 404  # only its own helpdesk's path
        assert desk.keys == []  # a refused delivery reads nothing
        response = _webhook(client, opened)
        assert response.status_code == 202, response.text
        inv = response.json()["id"]
        assert read_sse(client, inv)[-1][1]["status"] == "done"
        wait_for(lambda: desk.replies, "the note")  # written after the result is stored
        by_id = client.post("/v1/investigations", json={"toydesk_ticket_id": 7}, headers=AUTH)
        assert by_id.status_code == 202, by_id.text
        spec = client.get("/openapi.json").json()
    record = store.get(inv)
    assert record is not None and record.source == "webhook" and record.requested_by == "toydesk:webhook"
    assert [r["internal"] for r in desk.replies] == [True]
    assert "casefile_done" in desk.replies[0]["labels"] and inv in desk.replies[0]["text"]
    assert set(desk.keys) == {"Bearer toy-key"}  # TOYDESK_API_KEY, through its settings model
    asked = store.ticket(by_id.json()["id"])
    assert asked is not None and asked.source == "toydesk"
    assert "sk_live" not in asked.body and asked.comments[0].body == "Still failing at 11:00."
    assert len(asked.comments) == 1  # the internal reply is not the customer's words
    assert spec["components"]["securitySchemes"]["toydeskWebhook"]["name"] == "X-Toydesk-Signature"
    assert "/v1/webhooks/toydesk" in spec["paths"]
    store.close()
