"""The Zendesk Support API, as casefile uses it: read a ticket, post one internal note.

Reads: ``GET /api/v2/tickets/{id}.json?include=users`` and
``GET /api/v2/tickets/{id}/comments.json?include=users`` (following
``next_page``). The one write casefile makes anywhere:
``PUT /api/v2/tickets/{id}.json`` with a private comment and the
``casefile_investigated`` tag, so the update cannot trigger another investigation.

Authentication is ``{email}/token:{api_token}`` (basic) or an OAuth bearer token.
The HTTP transport is injectable, so tests and the load benchmark talk to a
fake Zendesk with the real wire format.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx

from casefile.agent.config import ZendeskSettings
from casefile.agent.diagnosis import Diagnosis
from casefile.agent.intake import parse_ticket
from casefile.agent.ticket import Ticket

__all__ = ["INVESTIGATED_TAG", "ZendeskClient", "ZendeskError", "format_note"]

INVESTIGATED_TAG = "casefile_investigated"
_MAX_COMMENT_PAGES = 10


class ZendeskError(Exception):
    """Zendesk could not be read or written; the message is safe to show (no credentials)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ZendeskClient:
    """A small async client for the three calls above."""

    def __init__(
        self, settings: ZendeskSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        base = settings.api_base()
        if base is None:
            raise ZendeskError("Zendesk is not configured (service.zendesk.subdomain)")
        headers = {"Accept": "application/json", "User-Agent": "casefile"}
        if settings.oauth_token is not None:
            headers["Authorization"] = f"Bearer {settings.oauth_token.get_secret_value()}"
        elif settings.email and settings.api_token is not None:
            pair = f"{settings.email}/token:{settings.api_token.get_secret_value()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        self._client = httpx.AsyncClient(
            base_url=base, headers=headers, timeout=settings.timeout_s, transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = await self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise ZendeskError(f"Zendesk unreachable: {type(exc).__name__}") from None
        if response.status_code == 404:
            raise ZendeskError("Zendesk ticket not found", status=404)
        if response.status_code >= 400:
            raise ZendeskError(f"Zendesk answered {response.status_code}", status=response.status_code)
        try:
            data = response.json()
        except ValueError:
            raise ZendeskError("Zendesk answered with something other than JSON") from None
        if not isinstance(data, dict):
            raise ZendeskError("Zendesk answered with an unexpected shape")
        return data

    async def fetch_export(self, ticket_id: int) -> dict[str, Any]:
        """``{"ticket", "comments", "users"}`` as Zendesk returns them, ready for :func:`parse_ticket`."""
        data = await self._get(f"/api/v2/tickets/{ticket_id}.json", {"include": "users"})
        ticket = data.get("ticket")
        if not isinstance(ticket, dict):
            raise ZendeskError("Zendesk answered without a ticket")
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
            base = str(self._client.base_url).rstrip("/")
            url = next_page if isinstance(next_page, str) and next_page.startswith(base + "/") else None
            params = None

    async def has_note(self, ticket_id: int, marker: str) -> bool:
        """Whether a comment on the ticket already contains ``marker`` (an investigation id): a note
        posted before a crash is not posted twice."""
        async for page in self._comment_pages(ticket_id):
            for comment in page.get("comments") or []:
                if isinstance(comment, dict) and any(
                    marker in str(comment.get(key) or "") for key in ("body", "plain_body", "html_body")
                ):
                    return True
        return False

    async def fetch_ticket(self, ticket_id: int, *, source: str = "zendesk") -> tuple[Ticket, list[str]]:
        """The redacted :class:`Ticket` and Zendesk's tags for it (to see ``casefile_investigated``)."""
        export = await self.fetch_export(ticket_id)
        tags = [t for t in export["ticket"].get("tags") or [] if isinstance(t, str)]
        ticket = parse_ticket(export, source_name=str(ticket_id), source=source)  # type: ignore[arg-type]
        return ticket, tags

    async def post_internal_note(self, ticket_id: int, body: str) -> None:
        """The only write casefile makes: a private comment plus the tag that stops re-triggering."""
        payload = {
            "ticket": {
                "comment": {"body": body, "public": False},
                "additional_tags": [INVESTIGATED_TAG],
            }
        }
        try:
            response = await self._client.put(f"/api/v2/tickets/{ticket_id}.json", json=payload)
        except httpx.HTTPError as exc:
            raise ZendeskError(f"Zendesk unreachable: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise ZendeskError(
                f"Zendesk refused the note: {response.status_code}", status=response.status_code
            )


def format_note(diagnosis: Diagnosis, *, investigation_id: str, public_url: str | None = None) -> str:
    """The internal note: what an agent reads at the top of the ticket."""
    d = diagnosis
    action = (
        "Escalate" + (f" to {d.escalation.team}" if d.escalation else "")
        if d.action == "escalate"
        else "Resolve"
    )
    lines = [
        f"casefile diagnosis ({d.model}, confidence {d.confidence.score:.2f})",
        "",
        f"Summary: {d.summary}",
        f"Root cause [{d.root_cause.category}]: {d.root_cause.statement}",
        f"Suggested action: {action}",
    ]
    if d.evidence:
        lines += ["", "Evidence:"]
        lines += [f"- {e.claim} ({e.tool or e.call_id}: {e.value})" for e in d.evidence]
    if d.related:
        lines += ["", "Related:"]
        lines += [f"- {r.kind} {r.id} {r.title}".rstrip() + (f" {r.url}" if r.url else "") for r in d.related]
    if d.unavailable_sources:
        lines += [
            "",
            "Could not check: " + "; ".join(f"{u.source} ({u.reason})" for u in d.unavailable_sources),
        ]
    lines += ["", "Draft reply:", d.customer_reply]
    if d.internal_note:
        lines += ["", d.internal_note]
    where = (
        f"{public_url.rstrip('/')}/v1/investigations/{investigation_id}" if public_url else investigation_id
    )
    lines += ["", f"Investigation: {where}"]
    return "\n".join(lines)
