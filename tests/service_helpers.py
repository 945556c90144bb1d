"""Shared pieces for the service tests: settings, a light environment, scripted models, a fake Zendesk."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import uvicorn
from pydantic import SecretStr

from casefile.agent.config import ServiceSettings, Settings, ZendeskSettings
from casefile.agent.models.base import LoopState, Model, ModelReply
from casefile.agent.models.scripted import ScriptedModel
from casefile.agent.pipeline import Environment
from casefile.agent.ticket import Ticket
from casefile.tools.base import Toolbox
from casefile.tools.world.loopback import LoopbackServer
from casefile.tools.world.zendesk_desk import ZendeskDesk

ROOT = Path(__file__).resolve().parent.parent
TICKETS = ROOT / "examples" / "tickets"
TOKEN = "tok_test_" + "a1b2c3d4e5f6a7b8"
APP_SECRET = "app-shared-secret-for-tests-0123456789abcdef"
WEBHOOK_SECRET = "whsec_test_" + "9f8e7d6c5b4a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def settings(**service: Any) -> Settings:
    zendesk = ZendeskSettings(
        subdomain="relayhq",
        email="casefile@relayhq.dev",
        api_token=SecretStr("zd-api-token-secret"),
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        app_shared_secret=SecretStr(APP_SECRET),
    )
    base: dict[str, Any] = {
        "tokens": {"sidebar": SecretStr(TOKEN)},
        "allowed_origins": ["https://relayhq.zendesk.com"],
        "zendesk": zendesk,
    }
    base.update(service)
    return Settings(service=ServiceSettings(**base))


def light_env() -> Environment:
    """No tools, no runbooks: investigations are only the scripted model's turns."""
    return Environment(toolbox=Toolbox([]), directory=None, runbooks=[], world=None, description="test")


def diagnosis_step(state: LoopState) -> ModelReply:
    """A valid diagnosis; cites the first successful call when there is one (grounding checks it)."""
    evidence = []
    cited = next((o for o in state.outcomes if o.ok and o.tool == "bugs_search"), None)
    if cited is not None:
        evidence.append({"call_id": cited.call_id, "value": "REL-482", "claim": "open bug REL-482 matches"})
    return ModelReply(
        diagnosis={
            "ticket_id": state.ticket.id,
            "summary": "The gateway rate limiter double-counts retried requests (REL-482).",
            "root_cause": {"category": "known_bug", "statement": "REL-482, since the v2.41.0 deploy."},
            "evidence": evidence,
            "confidence": {"score": 0.86, "reasons": ["the bug matches the symptom and its start"]},
            "customer_reply": "Hi Jonas, this is a known issue on our side (REL-482); a fix ships 2026-11-21.",
            "internal_note": "Known bug REL-482.",
            "action": "escalate",
            "escalation": {
                "team": "Backend",
                "reason": "customer blocked by REL-482",
                "packet": {"bug": "REL-482", "account_id": "acme"},
            },
        }
    )


# A wait's bound is for a test that is stuck, not one that is slow: a loaded CI runner (the whole
# suite on every core beside other jobs) takes seconds for what takes milliseconds alone.
WAIT_S = 60.0


def wait_for(condition: Callable[[], object], what: str = "the condition", timeout_s: float = WAIT_S) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` if it never does within ``timeout_s``.

    The pause grows from 10 ms to 200 ms: a quick condition is seen at once, and a long wait does not
    keep taking the store's lock (a SQLite read here is a write transaction) from the service it waits on.
    """
    deadline, pause = time.monotonic() + timeout_s, 0.01
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 1.5, 0.2)


def scripted_factory(latency_s: float = 0.0) -> Callable[[Ticket], Model]:
    return lambda ticket: ScriptedModel([diagnosis_step], latency_s=latency_s)


class GatedModel(Model):
    """Blocks its first turn until ``gate`` (a threading.Event) opens; records the order tickets started."""

    name = "gated"

    def __init__(self, gate: threading.Event, started: list[str]) -> None:
        self.gate = gate
        self.started = started

    async def turn(self, state: LoopState) -> ModelReply:
        self.started.append(state.ticket.id)
        # Polled rather than waited on in a thread, so a cancelled investigation stops at once.
        while not self.gate.is_set():
            await asyncio.sleep(0.005)
        return diagnosis_step(state)


def read_sse(
    client: Any, inv: str, headers: dict[str, str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Every (event, data) of an investigation's stream, up to and including ``end``."""
    frames: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", f"/v1/investigations/{inv}/events", headers=headers or AUTH) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind, data = "", ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and kind:
                frames.append((kind, json.loads(data)))
                if kind == "end":
                    break
                kind, data = "", ""
    return frames


# ------------------------------------------------------------------ fake Zendesk (real wire format)


def zendesk_export() -> dict[str, Any]:
    return json.loads((TICKETS / "zendesk-export.json").read_text())


class FakeZendesk:
    """respx routes for one ticket: read it (ticket + comments, include=users), accept the note."""

    def __init__(self, ticket_id: int = 48213, tags: list[str] | None = None) -> None:
        export = zendesk_export()
        self.ticket = copy.deepcopy(export["ticket"])
        self.ticket["id"] = ticket_id
        if tags is not None:
            self.ticket["tags"] = tags
        self.comments = export["comments"]
        self.users = export["users"]
        self.ticket_id = ticket_id
        self.router = respx.Router(base_url="https://relayhq.zendesk.com", assert_all_called=False)
        self.puts: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.router.get(f"/api/v2/tickets/{ticket_id}.json").mock(side_effect=self._ticket)
        self.router.get(f"/api/v2/tickets/{ticket_id}/comments.json").mock(side_effect=self._comments)
        self.router.put(f"/api/v2/tickets/{ticket_id}.json").mock(side_effect=self._put)
        self.router.route().mock(return_value=httpx.Response(404, json={"error": "RecordNotFound"}))

    def _ticket(self, request: httpx.Request) -> httpx.Response:
        self.auth_headers.append(request.headers.get("authorization", ""))
        assert request.url.params.get("include") == "users"
        return httpx.Response(200, json={"ticket": self.ticket, "users": self.users})

    def _comments(self, request: httpx.Request) -> httpx.Response:
        body = {
            "comments": self.comments,
            "users": self.users,
            "next_page": None,
            "previous_page": None,
            "count": len(self.comments),
        }
        return httpx.Response(200, json=body)

    def _put(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        self.puts.append(payload)
        # As Zendesk does: the comment joins the ticket's comments and the tags its tags.
        comment = payload["ticket"].get("comment") or {}
        self.comments = [
            *self.comments,
            {
                "id": 9000 + len(self.puts),
                "type": "Comment",
                "body": comment.get("body", ""),
                "plain_body": comment.get("body", ""),
                "public": bool(comment.get("public", True)),
                "author_id": self.users[0]["id"] if self.users else None,
                "created_at": "2026-11-20T09:00:00Z",
            },
        ]
        self.ticket = dict(
            self.ticket, tags=[*self.ticket.get("tags", []), *payload["ticket"].get("additional_tags", [])]
        )
        return httpx.Response(200, json={"ticket": self.ticket, "audit": {"id": 1, "events": []}})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.router.handler)


def post_webhook(
    client: Any,
    payload: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: str | None = None,
    body: bytes | None = None,
) -> Any:
    """A Zendesk webhook as Zendesk signs it (timestamp + raw body, HMAC-SHA256, base64).

    ``timestamp`` and ``body`` replace the current time and ``payload``'s JSON (stale or broken requests).
    """
    from datetime import UTC, datetime

    from casefile.agent.helpdesk.zendesk import sign_webhook

    raw = body if body is not None else json.dumps(payload).encode()
    ts = timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": sign_webhook(secret, ts, raw),
        "X-Zendesk-Webhook-Signature-Timestamp": ts,
    }
    return client.post("/v1/webhooks/zendesk", content=raw, headers=headers)


@contextmanager
def serving(config: uvicorn.Config) -> Iterator[int]:
    """Run a uvicorn server on a thread for the duration; yields the port it listens on.

    A server that dies or takes over a minute to start (start-up may load a world) fails the test.
    """
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the service did not start")
        time.sleep(0.02)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def serving_app(app: Any) -> Iterator[str]:
    """``app`` (with its lifespan) on a loopback port for the duration; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    with serving(config) as port:
        yield f"http://127.0.0.1:{port}"


@contextmanager
def zendesk_desk(ticket_id: int) -> Iterator[tuple[ZendeskDesk, LoopbackServer]]:
    """The Zendesk stand-in on a loopback port, holding the export-regression ticket as ``ticket_id``."""
    desk = ZendeskDesk()
    desk.open_ticket(json.loads((TICKETS / "export-regression.json").read_text()), ticket_id)
    with LoopbackServer(desk.handle) as server:
        yield desk, server
