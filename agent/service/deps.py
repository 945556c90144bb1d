"""What every route needs: the service, the authenticated caller (FastAPI dependencies), an
investigation the caller may see, and a ticket read back from the service's helpdesk."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request

from casefile.agent.helpdesk import FetchedTicket, HelpdeskError
from casefile.agent.intake import TicketError
from casefile.agent.service.auth import AuthError, Principal
from casefile.agent.service.errors import ApiError
from casefile.agent.service.runtime import InvestigationService
from casefile.agent.store import InvestigationRecord

__all__ = ["Caller", "Service", "caller", "from_helpdesk", "record_or_404"]

_ID_RE = re.compile(r"^inv_[0-9a-f]{16}$")


def _service(request: Request) -> InvestigationService:
    service: InvestigationService = request.app.state.service
    return service


Service = Annotated[InvestigationService, Depends(_service)]


def caller(request: Request) -> Principal:
    """The authenticated, rate-limited caller of a ``/v1`` route (a FastAPI dependency)."""
    service = _service(request)
    try:
        principal = service.auth.authenticate(request.headers.get("authorization"))
    except AuthError as exc:
        # Failed attempts are limited per address, so tokens cannot be guessed at speed.
        client = request.client.host if request.client else "unknown"
        wait = service.limiter.check(f"anonymous:{client}")
        if wait:
            raise ApiError(
                429, "rate_limited", "too many failed attempts", {"Retry-After": str(int(wait))}
            ) from None
        raise ApiError(401, exc.code, exc.message, {"WWW-Authenticate": "Bearer"}) from None
    wait = service.limiter.check(principal.name)
    if wait:
        raise ApiError(
            429,
            "rate_limited",
            f"rate limit exceeded; retry in {int(wait)} s",
            {"Retry-After": str(int(wait))},
        )
    return principal


Caller = Annotated[Principal, Depends(caller)]


def record_or_404(service: InvestigationService, inv: str, principal: Principal) -> InvestigationRecord:
    """The caller's investigation ``inv``; another tenant's answers exactly like one that does not exist."""
    record = service.store.get(inv, tenant=principal.tenant) if _ID_RE.match(inv) else None
    if record is None:
        raise ApiError(404, "not_found", f"no investigation {inv[:40]!r}")
    return record


async def from_helpdesk(service: InvestigationService, ticket_id: int) -> FetchedTicket:
    """The helpdesk's ticket ``ticket_id`` and its tags; the helpdesk's failures become the service's
    4xx/502 (codes prefixed with its name: ``zendesk_ticket_not_found``)."""
    desk = service.helpdesk
    name, label = desk.name, desk.label()
    if not desk.configured:
        raise ApiError(400, f"{name}_not_configured", f"this service has no {label} configured")
    try:
        return await desk.fetch_ticket(ticket_id)
    except HelpdeskError as exc:
        if exc.status == 404:
            raise ApiError(404, f"{name}_ticket_not_found", f"{label} has no ticket {ticket_id}") from None
        raise ApiError(502, f"{name}_unavailable", str(exc)) from None
    except TicketError as exc:
        raise ApiError(422, "invalid_ticket", f"{label} ticket {ticket_id}: {exc}") from None
