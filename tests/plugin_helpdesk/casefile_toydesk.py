"""A third-party helpdesk in one file: Toydesk, an invented helpdesk with its own formats (a test plug-in).

Installed as its own distribution, it reaches casefile only through the ``casefile.helpdesks``
entry point declared in the pyproject.toml beside it.

- **Export**: ``{"toydesk_ticket": {"number", "title", "text", "opened", "from": {"name", "email"},
  "labels", "replies": [{"by", "text", "at", "internal"}]}}``.
- **API** (bearer key): ``GET /tickets/{n}`` answers the export; ``GET /tickets/{n}/replies``
  lists replies; ``POST /tickets/{n}/replies`` with ``{"text", "internal": true, "labels"}`` adds one.
- **Webhook**: ``{"event": "ticket_opened", "number": n}`` signed with
  ``X-Toydesk-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from casefile.agent import intake_fields as f
from casefile.agent.helpdesk import base
from casefile.agent.intake_fields import TicketDraft, TicketError
from casefile.agent.ticket import Comment, Requester


class ToydeskSettings(base.HelpdeskSettings):
    base_url: str | None = None
    api_key: SecretStr | None = None


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ToydeskHelpdesk(base.Helpdesk):
    """Toydesk: tickets, replies, labels."""

    name: ClassVar[str] = "toydesk"
    title: ClassVar[str] = "Toydesk"
    investigated_tag: ClassVar[str] = "casefile_done"
    settings_model: ClassVar[type[base.HelpdeskSettings]] = ToydeskSettings
    env_vars: ClassVar[Mapping[str, str]] = {
        "TOYDESK_API_KEY": "api_key",
        "TOYDESK_WEBHOOK_SECRET": "webhook_secret",
    }
    webhook_signature_header: ClassVar[str] = "X-Toydesk-Signature"
    settings: ToydeskSettings

    @classmethod
    def is_export(cls, data: Mapping[str, Any]) -> bool:
        return isinstance(data.get("toydesk_ticket"), Mapping)

    @classmethod
    def parse_export(cls, data: Mapping[str, Any]) -> TicketDraft:
        raw = data["toydesk_ticket"]
        if base.positive_id(raw.get("number")) is None:
            raise TicketError("Toydesk ticket has no number")
        person = raw.get("from") or {}
        replies = [r for r in raw.get("replies") or [] if isinstance(r, Mapping) and not r.get("internal")]
        return TicketDraft(
            id=str(raw["number"]),
            subject=f.text(raw.get("title"), "title"),
            body=f.text(raw.get("text"), "text"),
            requester=Requester(
                name=f.opt_text(person.get("name"), "from.name"),
                email=f.opt_text(person.get("email"), "from.email"),
            ),
            created_at=f.created_at(raw.get("opened")),
            source=cls.name,
            comments=[Comment(author=r.get("by"), body=f.text(r.get("text"), "reply")) for r in replies],
            tags=f.tags(raw.get("labels")),
        )

    @property
    def configured(self) -> bool:
        return bool(self.settings.base_url)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
        secret = self.settings.webhook_secret
        if secret is None:
            raise base.WebhookRefused("webhook_not_configured", "no webhook signing secret is configured")
        given = headers.get("x-toydesk-signature") or ""
        if not hmac.compare_digest(given.encode(), sign(secret.get_secret_value(), body).encode()):
            raise base.WebhookRefused("invalid_signature", "the Toydesk signature does not match the body")

    def webhook_ticket_id(self, payload: Any) -> int | str:
        if not isinstance(payload, dict):
            raise ValueError("the webhook body must be a JSON object")
        if payload.get("event") != "ticket_opened":
            return f"event {payload.get('event')} is not a new ticket"
        found = base.positive_id(payload.get("number"))
        if found is None:
            raise ValueError("the webhook body names no ticket (number)")
        return found

    def api_access(self) -> tuple[str, dict[str, str]]:
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        return self.settings.base_url or "", {"Authorization": f"Bearer {key}"}

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = await self._client().request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise base.HelpdeskError(f"Toydesk unreachable: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise base.HelpdeskError(f"Toydesk answered {response.status_code}", status=response.status_code)
        return response.json()

    async def fetch_ticket(self, ticket_id: int, *, source: str | None = None) -> base.FetchedTicket:
        export = await self._call("GET", f"/tickets/{ticket_id}")
        labels = [t for t in export["toydesk_ticket"].get("labels") or [] if isinstance(t, str)]
        return base.FetchedTicket(ticket=f.build(self.parse_export(export), source=source), tags=labels)

    async def has_note(self, ticket_id: int, marker: str) -> bool:
        replies = await self._call("GET", f"/tickets/{ticket_id}/replies")
        return any(marker in str(r.get("text")) for r in replies["replies"])

    async def update_ticket(self, ticket_id: int, update: base.TicketUpdate) -> None:
        labels = [self.investigated_tag, *update.tags]
        await self._call(
            "POST", f"/tickets/{ticket_id}/replies", {"text": update.note, "internal": True, "labels": labels}
        )

    def agent_url(self, ticket_id: int) -> str | None:
        return f"{self.settings.base_url}/tickets/{ticket_id}" if self.settings.base_url else None
