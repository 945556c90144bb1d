"""The hand-off's ticket update on Zendesk: ``PUT /api/v2/tickets/{id}.json``, as Zendesk takes it.

One request carries the internal note and the team's fields, so they land together or
not at all::

    {"ticket": {"comment": {"body": "…", "public": false},
                "group_id": 360001234567, "assignee_id": 42, "priority": "high",
                "additional_tags": ["casefile_investigated", "escalated_backend"]}}

``additional_tags`` adds to the ticket's tags instead of replacing them (``tags``
would), so repeating the update changes nothing. A 429 or 5xx (with Zendesk's
``Retry-After``) or an unreachable Zendesk is worth another try; other refusals are not.
(This lives beside the hand-off until the helpdesk seam takes ticket updates.)
"""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import BaseModel, Field

from casefile.agent.service.zendesk import INVESTIGATED_TAG, ZendeskClient, ZendeskError
from casefile.tools.retry import RetryPolicy, is_retryable_status, parse_retry_after, run_with_retries

__all__ = ["ZENDESK_WRITE_POLICY", "TicketUpdate", "ZendeskWriteError", "update_ticket"]

ZENDESK_WRITE_POLICY = RetryPolicy(attempts=3, total_wait_s=20.0, max_wait_s=10.0)


class TicketUpdate(BaseModel):
    """What one update sets; unset fields are left as they are on the ticket."""

    note: str = Field(description="the internal (private) comment")
    group_id: int | None = None
    assignee_id: int | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    tags: list[str] = Field(default_factory=list, description="added to the ticket's tags")

    def payload(self) -> dict[str, object]:
        ticket: dict[str, object] = {
            "comment": {"body": self.note, "public": False},
            "additional_tags": list(dict.fromkeys([INVESTIGATED_TAG, *self.tags])),
        }
        for key in ("group_id", "assignee_id", "priority"):
            value = getattr(self, key)
            if value is not None:
                ticket[key] = value
        return {"ticket": ticket}


class ZendeskWriteError(ZendeskError):
    """Zendesk refused or could not take the update; ``transient`` says whether to try again."""

    def __init__(
        self, message: str, *, status: int | None, transient: bool, retry_after: float | None
    ) -> None:
        super().__init__(message, status=status)
        self.transient = transient
        self.retry_after = retry_after


async def _put_once(client: ZendeskClient, ticket_id: int, update: TicketUpdate) -> None:
    try:
        response = await client._client.put(f"/api/v2/tickets/{ticket_id}.json", json=update.payload())
    except httpx.HTTPError as exc:
        raise ZendeskWriteError(
            f"Zendesk unreachable: {type(exc).__name__}", status=None, transient=True, retry_after=None
        ) from None
    if response.status_code >= 400:
        raise ZendeskWriteError(
            f"Zendesk refused the update: {response.status_code}",
            status=response.status_code,
            transient=is_retryable_status(response.status_code),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )


def _retry_after(exc: BaseException) -> float | bool | None:
    if isinstance(exc, ZendeskWriteError) and exc.transient:
        return exc.retry_after
    return False


async def update_ticket(
    client: ZendeskClient, ticket_id: int, update: TicketUpdate, *, policy: RetryPolicy = ZENDESK_WRITE_POLICY
) -> None:
    """Apply ``update`` to the ticket, retrying what is transient; :class:`ZendeskWriteError` otherwise."""
    await run_with_retries(
        lambda: _put_once(client, ticket_id, update), policy=policy, retry_after=_retry_after
    )
