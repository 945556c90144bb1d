"""Zendesk Support, casefile's first helpdesk: its settings, export format, API, webhook and note.

Reads: ``GET /api/v2/tickets/{id}.json?include=users`` and
``GET /api/v2/tickets/{id}/comments.json?include=users`` (following ``next_page``). The one
write casefile makes to it: ``PUT /api/v2/tickets/{id}.json`` with a private comment and the
``casefile_investigated`` tag, so the update cannot trigger another investigation (and, for a
hand-off, the team's ``group_id``, ``assignee_id``, ``priority`` and ``additional_tags`` in the
same request; ``additional_tags`` adds to the ticket's tags, so a repeat changes nothing).

**The export format**: ``{"ticket": {...}, "comments": [...], "users": [...]}`` (the two reads
above), or a bare ticket object (it has ``description`` and ``requester_id``). The body is the
ticket's ``description`` (or, without one, its first public comment); the later public comments
become ``Ticket.comments``; private comments are dropped (agents' notes, not the customer's
words); requester and comment authors are resolved through the sideloaded ``users``;
``updated_at`` becomes the revision.

**Webhooks** are signed base64(HMAC-SHA256(secret, timestamp + raw body)), sent in
``X-Zendesk-Webhook-Signature`` and ``…-Signature-Timestamp``; stale timestamps are refused so a
captured request cannot be replayed. Authentication to the API is ``{email}/token:{api_token}``
(basic) or an OAuth bearer token. The HTTP transport is injectable (tests and the load benchmark
talk to a stand-in Zendesk with the real wire format).

:class:`ZendeskSettings` is also the ``[connectors.zendesk]`` section (``tickets_similar`` reads
solved tickets of the same Zendesk).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr

from casefile.agent import intake_fields as f
from casefile.agent.helpdesk.base import (
    FetchedTicket,
    Helpdesk,
    HelpdeskError,
    HelpdeskSettings,
    TicketUpdate,
    WebhookRefused,
    positive_id,
)
from casefile.agent.intake_fields import TicketDraft, TicketError
from casefile.agent.ticket import Comment, Requester
from casefile.tools.retry import parse_retry_after

__all__ = [
    "INVESTIGATED_TAG",
    "ZendeskHelpdesk",
    "ZendeskSettings",
    "sign_webhook",
    "signed_webhook",
]

INVESTIGATED_TAG = "casefile_investigated"
_MAX_COMMENT_PAGES = 10


class ZendeskSettings(HelpdeskSettings):
    """One Zendesk account: ``[service.zendesk]`` (tickets, notes, webhook, sidebar app) and
    ``[connectors.zendesk]`` (``tickets_similar``) are both this model."""

    subdomain: str | None = Field(default=None, description="example-co for https://example-co.zendesk.com")
    base_url: str | None = Field(default=None, description="overrides https://{subdomain}.zendesk.com")
    email: str | None = Field(default=None, description="agent email for API-token authentication")
    api_token: SecretStr | None = None
    oauth_token: SecretStr | None = Field(default=None, description="instead of email + api_token")
    resolution_field_id: int | None = Field(
        default=None, description="custom ticket field holding the resolution; else the last public comment"
    )
    article_field_id: int | None = Field(
        default=None, description="custom ticket field holding the article URL"
    )

    def jwt_issuer(self) -> str | None:
        """The ``iss`` the sidebar app's JWTs must carry: this Zendesk instance's URL."""
        if self.subdomain:
            return f"https://{self.subdomain}.zendesk.com"
        return self.base_url.rstrip("/") if self.base_url else None

    def api_base(self) -> str | None:
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"https://{self.subdomain}.zendesk.com" if self.subdomain else None


class ZendeskHelpdesk(Helpdesk):
    """:class:`~casefile.agent.helpdesk.base.Helpdesk` for Zendesk Support."""

    name: ClassVar[str] = "zendesk"
    title: ClassVar[str] = "Zendesk"
    investigated_tag: ClassVar[str] = INVESTIGATED_TAG
    settings_model: ClassVar[type[HelpdeskSettings]] = ZendeskSettings
    webhook_signature_header: ClassVar[str] = "X-Zendesk-Webhook-Signature"
    webhook_signature_scheme: ClassVar[str] = (
        "base64 HMAC-SHA256 of X-Zendesk-Webhook-Signature-Timestamp + the raw body, keyed with the "
        "webhook's signing secret."
    )
    settings: ZendeskSettings
    env_vars: ClassVar[Mapping[str, str]] = {
        "ZENDESK_SUBDOMAIN": "subdomain",
        "ZENDESK_EMAIL": "email",
        "ZENDESK_API_TOKEN": "api_token",
        "ZENDESK_OAUTH_TOKEN": "oauth_token",
        "ZENDESK_WEBHOOK_SECRET": "webhook_secret",
        "ZENDESK_APP_SHARED_SECRET": "app_shared_secret",
    }

    # ---------------------------------------------------------------- export format

    @classmethod
    def is_export(cls, data: Mapping[str, Any]) -> bool:
        if isinstance(data.get("ticket"), Mapping):
            return True
        return "body" not in data and "description" in data and "requester_id" in data

    @classmethod
    def parse_export(cls, data: Mapping[str, Any]) -> TicketDraft:
        if isinstance(data.get("ticket"), Mapping):
            return _from_export(data["ticket"], data.get("comments"), data.get("users"))
        return _from_export(data, None, None)

    # ---------------------------------------------------------------- settings

    @property
    def configured(self) -> bool:
        return self.settings.api_base() is not None

    def app_jwt_issuer(self) -> str | None:
        return self.settings.jwt_issuer()

    # ---------------------------------------------------------------- webhook

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
        secret = self.settings.webhook_secret
        if secret is None:
            raise WebhookRefused("webhook_not_configured", "no webhook signing secret is configured")
        signature = headers.get("x-zendesk-webhook-signature")
        timestamp = headers.get("x-zendesk-webhook-signature-timestamp")
        if not signature or not timestamp:
            raise WebhookRefused(
                "invalid_signature",
                "missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp",
            )
        sent_at = _parse_timestamp(timestamp)
        if sent_at is None:
            raise WebhookRefused("invalid_signature", "the webhook timestamp is not a time")
        current = time.time() if now is None else now
        if abs(current - sent_at) > self.settings.webhook_tolerance_s:
            raise WebhookRefused("stale_signature", "the webhook timestamp is outside the accepted window")
        expected = sign_webhook(secret.get_secret_value(), timestamp, body).encode()
        if not hmac.compare_digest(expected, signature.strip().encode()):
            raise WebhookRefused("invalid_signature", "the webhook signature does not match the body")

    def webhook_ticket_id(self, payload: Any) -> int | str:
        """From a trigger webhook's payload or a ``zen:event-type:ticket.created`` event."""
        if not isinstance(payload, dict):
            raise ValueError("the webhook body must be a JSON object")
        kind = payload.get("type")
        if isinstance(kind, str) and kind.startswith("zen:event-type:"):
            if kind != "zen:event-type:ticket.created":
                return f"event {kind} is not a ticket creation"
            detail = payload.get("detail")
            found = positive_id(detail.get("id")) if isinstance(detail, dict) else None
        else:
            ticket = payload.get("ticket")
            candidate = payload.get("ticket_id")
            if candidate is None and isinstance(ticket, dict):
                candidate = ticket.get("id")
            found = positive_id(candidate)
        if found is None:
            raise ValueError("the webhook body names no ticket (ticket_id or detail.id)")
        return found

    # ---------------------------------------------------------------- API

    def api_access(self) -> tuple[str, dict[str, str]]:
        base = self.settings.api_base()
        if base is None:
            raise HelpdeskError("Zendesk is not configured (service.zendesk.subdomain)")
        headers = {"Accept": "application/json", "User-Agent": "casefile"}
        s = self.settings
        if s.oauth_token is not None:
            headers["Authorization"] = f"Bearer {s.oauth_token.get_secret_value()}"
        elif s.email and s.api_token is not None:
            pair = f"{s.email}/token:{s.api_token.get_secret_value()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return base, headers

    async def _get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = await self._client().get(url, params=params)
        except httpx.HTTPError as exc:
            raise HelpdeskError(f"Zendesk unreachable: {type(exc).__name__}") from None
        if response.status_code == 404:
            raise HelpdeskError("Zendesk ticket not found", status=404)
        if response.status_code >= 400:
            raise HelpdeskError(f"Zendesk answered {response.status_code}", status=response.status_code)
        try:
            data = response.json()
        except ValueError:
            raise HelpdeskError("Zendesk answered with something other than JSON") from None
        if not isinstance(data, dict):
            raise HelpdeskError("Zendesk answered with an unexpected shape")
        return data

    async def fetch_export(self, ticket_id: int) -> dict[str, Any]:
        """``{"ticket", "comments", "users"}`` as Zendesk returns them: the export format."""
        data = await self._get(f"/api/v2/tickets/{ticket_id}.json", {"include": "users"})
        ticket = data.get("ticket")
        if not isinstance(ticket, dict):
            raise HelpdeskError("Zendesk answered without a ticket")
        users = {u.get("id"): u for u in data.get("users") or [] if isinstance(u, dict)}
        comments: list[dict[str, Any]] = []
        async for page in self._comment_pages(ticket_id):
            comments += [c for c in page.get("comments") or [] if isinstance(c, dict)]
            users.update({u.get("id"): u for u in page.get("users") or [] if isinstance(u, dict)})
        return {"ticket": ticket, "comments": comments, "users": list(users.values())}

    async def _comment_pages(self, ticket_id: int) -> AsyncIterator[dict[str, Any]]:
        url: str | None = f"/api/v2/tickets/{ticket_id}/comments.json"
        params: dict[str, str] | None = {"include": "users"}
        for _ in range(_MAX_COMMENT_PAGES):
            if url is None:
                break
            page = await self._get(url, params)
            yield page
            next_page = page.get("next_page")
            # Only follow pages on our own Zendesk: next_page is an absolute URL from the response.
            base = str(self._client().base_url).rstrip("/")
            url = next_page if isinstance(next_page, str) and next_page.startswith(base + "/") else None
            params = None

    async def has_note(self, ticket_id: int, marker: str) -> bool:
        async for page in self._comment_pages(ticket_id):
            for comment in page.get("comments") or []:
                if isinstance(comment, dict) and any(
                    marker in str(comment.get(key) or "") for key in ("body", "plain_body", "html_body")
                ):
                    return True
        return False

    async def fetch_ticket(self, ticket_id: int, *, source: str | None = None) -> FetchedTicket:
        export = await self.fetch_export(ticket_id)
        tags = [t for t in export["ticket"].get("tags") or [] if isinstance(t, str)]
        return FetchedTicket(ticket=f.build(self.parse_export(export), source=source), tags=tags)

    async def update_ticket(self, ticket_id: int, update: TicketUpdate) -> None:
        ticket: dict[str, Any] = {
            "comment": {"body": update.note, "public": False},
            "additional_tags": list(dict.fromkeys([INVESTIGATED_TAG, *update.tags])),
        }
        for key in ("group_id", "assignee_id", "priority"):
            value = getattr(update, key)
            if value is not None:
                ticket[key] = value
        try:
            response = await self._client().put(f"/api/v2/tickets/{ticket_id}.json", json={"ticket": ticket})
        except httpx.HTTPError as exc:
            raise HelpdeskError(f"Zendesk unreachable: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise HelpdeskError(
                f"Zendesk refused the update: {response.status_code}",
                status=response.status_code,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )

    def agent_url(self, ticket_id: int) -> str | None:
        base = self.settings.api_base()
        return f"{base}/agent/tickets/{ticket_id}" if base else None


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """The signature Zendesk sends (and the stand-ins in tests and the load benchmark)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def signed_webhook(secret: str, payload: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A webhook as Zendesk sends it now: the raw JSON body and its headers, signed with ``secret``."""
    body = json.dumps(payload).encode()
    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return body, {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature-Timestamp": ts,
        "X-Zendesk-Webhook-Signature": sign_webhook(secret, ts, body),
    }


def _parse_timestamp(value: str) -> float | None:
    """ISO 8601 (``2026-11-20T11:40:03Z``) as Zendesk sends it; a Unix time is accepted too."""
    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit() also accepts "²", which float() refuses
        return float(text)
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    except (ValueError, OverflowError):  # unreadable, or a time no clock can hold
        return None


# ------------------------------------------------------------------ the export format


def _from_export(ticket: Mapping[str, Any], comments: Any, users: Any) -> TicketDraft:
    people: dict[Any, Mapping[str, Any]] = {}
    if isinstance(users, list):
        people = {u.get("id"): u for u in users if isinstance(u, Mapping)}
    tid = ticket.get("id")
    if tid is None or isinstance(tid, bool) or not str(tid).strip():
        raise TicketError("Zendesk ticket has no id")

    requester = people.get(ticket.get("requester_id"))
    if requester is None and isinstance(ticket.get("requester"), Mapping):
        requester = ticket["requester"]  # the shape of a ticket-create request
    requester = requester or {}

    public: list[Mapping[str, Any]] = []
    if comments is not None:
        if not isinstance(comments, list):
            raise TicketError("Zendesk comments must be a list")
        public = [c for c in comments if isinstance(c, Mapping) and c.get("public", True) is not False]

    description = f.text(ticket.get("description"), "description")
    if not description.strip() and public:
        description = _body(public[0])
        public = public[1:]
    elif public and _same_text(_body(public[0]), description):
        # Zendesk stores the description as the ticket's first comment.
        public = public[1:]

    return TicketDraft(
        id=str(tid).strip(),
        subject=f.text(ticket.get("subject") or ticket.get("raw_subject"), "subject"),
        body=description,
        requester=Requester(
            name=f.opt_text(requester.get("name"), "requester name"),
            email=f.opt_text(requester.get("email"), "requester email"),
        ),
        created_at=f.created_at(ticket.get("created_at")),
        source="zendesk",
        comments=[
            Comment(
                author=_author(c.get("author_id"), people),
                body=_body(c),
                created_at=f.time_or_none(c.get("created_at")),
            )
            for c in public
            if _body(c).strip()
        ],
        tags=f.tags(ticket.get("tags")),
        revision=f.opt_text(ticket.get("updated_at"), "updated_at"),
    )


def _body(comment: Mapping[str, Any]) -> str:
    for key in ("body", "plain_body"):
        value = comment.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _author(author_id: Any, people: Mapping[Any, Mapping[str, Any]]) -> str | None:
    if author_id is None:
        return None
    user = people.get(author_id)
    if user is not None:
        name = user.get("name") or user.get("email")
        if isinstance(name, str) and name:
            return name
    return f"user {author_id}"


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())
