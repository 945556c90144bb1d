"""Reading back from the helpdesk what became of the tickets casefile resolved.

First-contact resolution needs two facts only the helpdesk has: is the ticket solved, and was
it ever reopened. Zendesk gives both in one call per 100 tickets:
``GET /api/v2/tickets/show_many.json?ids=1,2,…&include=metric_sets`` answers ``tickets`` (each
with its ``status``) and the sideloaded ``metric_sets`` (each ticket's metrics, with
``ticket_id`` and ``reopens``). Tickets Zendesk does not return (deleted, another account's)
stay unknown. A helpdesk that cannot be read raises :class:`OutcomesUnavailable`; the metrics
are then computed without those outcomes and say so.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ValidationError

from casefile.agent.helpdesk import HelpdeskError
from casefile.agent.helpdesk.zendesk import ZendeskHelpdesk, ZendeskSettings
from casefile.agent.metrics.model import TicketOutcome

__all__ = ["BATCH", "OutcomeReader", "OutcomesUnavailable", "ZendeskOutcomes", "outcome_reader"]

BATCH = 100
"""Zendesk's show_many limit."""


class OutcomesUnavailable(Exception):
    """The helpdesk could not be read; the message is safe to show (no credentials)."""


class OutcomeReader(Protocol):
    """A helpdesk that tells what became of tickets."""

    async def read(self, ticket_ids: list[int]) -> dict[int, TicketOutcome]: ...

    async def aclose(self) -> None: ...


class _Ticket(BaseModel):
    id: int
    status: str


class _MetricSet(BaseModel):
    ticket_id: int
    reopens: int | None = None


class _ShowMany(BaseModel):
    tickets: list[_Ticket] = []
    metric_sets: list[_MetricSet] = []


class ZendeskOutcomes(ZendeskHelpdesk):
    """Ticket statuses and reopen counts from Zendesk Support (read-only)."""

    async def read(self, ticket_ids: list[int]) -> dict[int, TicketOutcome]:
        out: dict[int, TicketOutcome] = {}
        wanted = sorted(set(ticket_ids))
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            page = await self._page(batch)
            reopens = {m.ticket_id: m.reopens for m in page.metric_sets}
            for ticket in page.tickets:
                if ticket.id in batch:
                    out[ticket.id] = TicketOutcome(
                        ticket_id=ticket.id, status=ticket.status, reopens=reopens.get(ticket.id)
                    )
        return out

    async def _page(self, ids: list[int]) -> _ShowMany:
        params = {"ids": ",".join(map(str, ids)), "include": "metric_sets"}
        try:
            data: dict[str, Any] = await self._get("/api/v2/tickets/show_many.json", params)
            return _ShowMany.model_validate(data)
        except HelpdeskError as exc:
            raise OutcomesUnavailable(str(exc)) from None
        except ValidationError as exc:
            raise OutcomesUnavailable(
                f"Zendesk answered show_many with an unexpected shape: {exc.errors()[0]['msg']}"
            ) from None


def outcome_reader(
    settings: ZendeskSettings, world: Any | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> ZendeskOutcomes | None:
    """The helpdesk to read outcomes from: the configured Zendesk, else a world's Zendesk stand-in
    (``world`` is a loaded :class:`~casefile.tools.world.loader.World`), else None."""
    if settings.api_base():
        return ZendeskOutcomes(settings, transport=transport)
    if world is None:
        return None
    from pydantic import SecretStr

    from casefile.tools.world.emulate_zendesk import SUBDOMAIN

    stand_in = ZendeskSettings(
        subdomain=SUBDOMAIN, email="casefile@world.invalid", api_token=SecretStr("world")
    )
    return ZendeskOutcomes(stand_in, transport=transport or world.transport)
