"""A live Zendesk for the hand-off: open tickets to investigate, and every write casefile makes to them.

The world's Zendesk (:mod:`casefile.tools.world.emulate_zendesk`) serves resolved
history, read-only, to the investigation's connectors. A :class:`ZendeskDesk` is the
helpdesk the *service* talks to: it holds the tickets agents are working on and
answers, in the Support API's wire format:

* ``GET /api/v2/tickets/{id}.json?include=users`` → ``{"ticket": {…}, "users": […]}``
* ``GET /api/v2/tickets/{id}/comments.json`` → ``{"comments": […], "next_page": null, …}``
* ``PUT /api/v2/tickets/{id}.json`` with ``{"ticket": {"comment", "group_id", "assignee_id",
  "priority", "tags" | "additional_tags"}}`` → ``{"ticket": {…updated}, "audit": {…}}``;
  an unknown priority is a 422 ``RecordInvalid`` as Zendesk sends it.

Every ``PUT`` is kept in :attr:`ZendeskDesk.writes` so tests can assert what was written;
:meth:`ZendeskDesk.fail_next` makes the next requests answer 503 (Zendesk down) or 429.
Any other request goes to ``fallback`` (the world's read-only Zendesk: search, help center).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, SecretStr

from casefile.tools.world.emulator import json_response

if TYPE_CHECKING:
    from casefile.agent.helpdesk.zendesk import ZendeskSettings

__all__ = ["TicketWrite", "ZendeskDesk", "desk_settings"]

_TICKET = re.compile(r"^/api/v2/tickets/(?P<id>\d+)\.json$")
_COMMENTS = re.compile(r"^/api/v2/tickets/(?P<id>\d+)/comments\.json$")
_PRIORITIES = {"low", "normal", "high", "urgent"}


class TicketWrite(BaseModel):
    """One ``PUT`` received: the ticket and the body's ``ticket`` object as sent."""

    ticket_id: int
    ticket: dict[str, Any]


class ZendeskDesk:
    def __init__(self, fallback: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self._fallback = fallback
        self._lock = threading.Lock()
        self._tickets: dict[int, dict[str, Any]] = {}
        self._comments: dict[int, list[dict[str, Any]]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._failures: list[tuple[int, float | None, tuple[str, ...]]] = []
        self.writes: list[TicketWrite] = []

    # ------------------------------------------------------------------ steering

    def open_ticket(self, ticket: dict[str, Any], ticket_id: int | None = None) -> int:
        """Add a ticket: a Zendesk export (``ticket``/``comments``/``users``) or casefile's own format."""
        if "ticket" in ticket:
            raw = dict(ticket["ticket"])
            tid = ticket_id or int(raw["id"])
            comments = [dict(c) for c in ticket.get("comments") or []]
            users = {int(u["id"]): dict(u) for u in ticket.get("users") or []}
        else:
            tid = ticket_id or 90000 + len(self._tickets) + 1
            requester = ticket.get("requester") or {}
            users = {
                7000 + tid: {"id": 7000 + tid, "name": requester.get("name"), "email": requester.get("email")}
            }
            raw = {
                "subject": ticket.get("subject") or "",
                "description": ticket.get("body") or "",
                "requester_id": 7000 + tid,
                "tags": list(ticket.get("tags") or []),
                "created_at": ticket.get("created_at"),
                "updated_at": ticket.get("created_at"),
            }
            comments = [
                {
                    "id": tid * 100 + 1,
                    "type": "Comment",
                    "author_id": 7000 + tid,
                    "body": raw["description"],
                    "plain_body": raw["description"],
                    "public": True,
                    "created_at": raw["created_at"],
                }
            ]
        raw.update(
            {
                "id": tid,
                "url": f"https://desk/api/v2/tickets/{tid}.json",
                "status": raw.get("status") or "open",
            }
        )
        raw.setdefault("group_id", None)
        raw.setdefault("assignee_id", None)
        raw.setdefault("priority", None)
        with self._lock:
            self._tickets[tid] = raw
            self._comments[tid] = comments
            self._users.update(users)
        return tid

    def ticket(self, tid: int) -> dict[str, Any]:
        with self._lock:
            return dict(self._tickets[tid])

    def notes(self, tid: int) -> list[str]:
        """The private comments on a ticket, oldest first."""
        with self._lock:
            return [str(c.get("body")) for c in self._comments.get(tid, []) if not c.get("public", True)]

    def fail_next(
        self,
        count: int,
        *,
        status: int = 503,
        retry_after: float | None = None,
        methods: tuple[str, ...] = ("GET", "PUT"),
    ) -> None:
        """The next ``count`` requests with one of ``methods`` answer ``status`` (503: Zendesk down)."""
        with self._lock:
            self._failures += [(status, retry_after, methods)] * count

    # ------------------------------------------------------------------ the wire

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        comments_match = _COMMENTS.match(path)
        found = _TICKET.match(path) or comments_match
        tid = int(found.group("id")) if found else None
        if tid is None or tid not in self._tickets:
            if self._fallback is not None:
                return self._fallback(request)
            return json_response(404, {"error": "RecordNotFound", "description": "Not found"})
        with self._lock:
            failure = (
                self._failures.pop(0) if self._failures and request.method in self._failures[0][2] else None
            )
        if failure is not None:
            status, retry_after, _ = failure
            headers = {"Retry-After": str(int(retry_after or 1))} if retry_after is not None else {}
            return json_response(
                status, {"error": "ServiceUnavailable" if status >= 500 else "TooManyRequests"}, headers
            )
        if not request.headers.get("authorization"):
            return json_response(401, {"error": "Couldn't authenticate you"})
        if comments_match:
            with self._lock:
                comments = list(self._comments[tid])
            return json_response(
                200,
                {
                    "comments": comments,
                    "users": [],
                    "next_page": None,
                    "previous_page": None,
                    "count": len(comments),
                },
            )
        if request.method == "GET":
            ticket = self.ticket(tid)
            user = self._users.get(int(ticket.get("requester_id") or 0))
            return json_response(200, {"ticket": ticket, "users": [user] if user else []})
        if request.method == "PUT":
            return self._update(tid, request)
        return json_response(405, {"error": "MethodNotAllowed"})

    def _update(self, tid: int, request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return json_response(400, {"error": "Unprocessable Entity", "description": "malformed JSON"})
        changes = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(changes, dict):
            return json_response(400, {"error": "Unprocessable Entity", "description": "ticket is required"})
        priority = changes.get("priority")
        if priority is not None and priority not in _PRIORITIES:
            return json_response(
                422,
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": {"priority": [{"description": f"Priority: {priority} is not valid"}]},
                },
            )
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        with self._lock:
            self.writes.append(TicketWrite(ticket_id=tid, ticket=changes))
            ticket = self._tickets[tid]
            for key in ("group_id", "assignee_id", "priority", "status"):
                if key in changes:
                    ticket[key] = changes[key]
            if "tags" in changes:
                ticket["tags"] = list(changes["tags"])
            for tag in changes.get("additional_tags") or []:
                if tag not in ticket["tags"]:
                    ticket["tags"].append(tag)
            comment = changes.get("comment")
            if isinstance(comment, dict) and comment.get("body"):
                self._comments[tid].append(
                    {
                        "id": tid * 100 + len(self._comments[tid]) + 1,
                        "type": "Comment",
                        "author_id": 1,
                        "body": comment["body"],
                        "plain_body": comment["body"],
                        "public": bool(comment.get("public", True)),
                        "created_at": now,
                    }
                )
            ticket["updated_at"] = now
            answer = dict(ticket)
        return json_response(
            200, {"ticket": answer, "audit": {"ticket_id": tid, "created_at": now, "events": []}}
        )


def desk_settings(url: str, webhook_secret: str) -> ZendeskSettings:
    """The service's Zendesk settings for a desk served at ``url`` (a :class:`ZendeskDesk` behind a
    ``LoopbackServer``): the desk accepts any credentials, the webhook is signed with ``webhook_secret``."""
    from casefile.agent.helpdesk.zendesk import ZendeskSettings

    return ZendeskSettings(
        base_url=url,
        email="casefile@example.test",
        api_token=SecretStr("desk-token"),
        webhook_secret=SecretStr(webhook_secret),
    )
