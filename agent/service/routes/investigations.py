"""``/v1/investigations``: start one (a ticket or a helpdesk ticket id), list, read, stream its events,
read its audit log, run it again, confirm its candidate account."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from casefile.agent.events import Event
from casefile.agent.helpdesk.base import positive_id
from casefile.agent.intake import TicketError, parse_ticket
from casefile.agent.service.deps import Caller, Service, from_helpdesk, record_or_404
from casefile.agent.service.errors import ApiError, json_body
from casefile.agent.service.runtime import TERMINAL
from casefile.agent.service.schemas import (
    ConfirmAccountIn,
    InvestigationCreated,
    InvestigationView,
    investigation_links,
)
from casefile.agent.store import InvestigationRecord

__all__ = ["router"]

_MAX_SEQ = 2**62  # an event sequence number; larger values would not fit the store's integers

router = APIRouter(tags=["investigations"])


@router.post(
    "/v1/investigations",
    status_code=202,
    response_model=InvestigationCreated,
    # The body is read by hand (a ticket, or a helpdesk ticket id): described in openapi.py.
)
async def create(request: Request, principal: Caller, service: Service) -> InvestigationCreated:
    """Start an investigation (on-demand priority). The same ticket revision is not investigated twice at once."""
    payload = json_body(await request.body())
    desk = service.helpdesk
    key = desk.ticket_id_key()  # zendesk_ticket_id
    desk_id: int | None = None
    if isinstance(payload, dict) and key in payload:
        desk_id = positive_id(payload[key])
        if desk_id is None:
            raise ApiError(422, "invalid_request", f"{key} must be a positive integer")
        if principal.tenant != service.config.tenant:
            # The service's helpdesk is its own tenant's: another tenant may not read it.
            raise ApiError(
                403, "forbidden", f"this caller's tenant cannot read tickets from this {desk.label()}"
            )
        # The page only names the ticket; its content comes from the helpdesk itself.
        ticket = (await from_helpdesk(service, desk_id)).ticket
        source = desk.name
    else:
        try:
            # created_at is required, as on the command line: it is the investigation's "now".
            ticket = parse_ticket(payload, source_name="api", source="api")
        except TicketError as exc:
            raise ApiError(422, "invalid_ticket", str(exc)) from None
        source = "api"

    def stored() -> tuple[str, bool, InvestigationRecord | None]:
        inv, existing = service.submit(
            ticket, source=source, principal=principal, priority="on_demand", helpdesk_ticket_id=desk_id
        )
        return inv, existing, service.store.get(inv)

    inv, existing, record = await asyncio.to_thread(stored)  # the store waits off the event loop
    return InvestigationCreated(
        id=inv,
        status=record.status if record else "queued",
        ticket_id=ticket.id,
        existing=existing,
        links=investigation_links(inv),
    )


# Routes that only read or write the store are plain functions: FastAPI runs them in its thread pool,
# so a store that stops answering holds their request, not the event loop (every other request).


@router.get("/v1/investigations", response_model=list[InvestigationView])
def list_investigations(
    principal: Caller, service: Service, status: str | None = None, since: datetime | None = None
) -> list[InvestigationView]:
    """Recent investigations, newest first (at most 500)."""
    if since is not None and since.tzinfo is None:
        raise ApiError(422, "invalid_request", "since needs a timezone")
    try:
        since = since.astimezone(UTC) if since is not None else None
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before UTC's year 1
        raise ApiError(422, "invalid_request", "since is out of range") from None
    records = service.store.list(since=since, status=status, tenant=principal.tenant)
    return [service.view(r) for r in records[:500]]


@router.get("/v1/investigations/{inv}", response_model=InvestigationView)
def get_investigation(inv: str, principal: Caller, service: Service) -> InvestigationView:
    """Status and, once done, the Diagnosis with a link to each cited source."""
    return service.view(record_or_404(service, inv, principal))


@router.get("/v1/investigations/{inv}/audit")
def get_audit(inv: str, principal: Caller, service: Service) -> list[dict[str, Any]]:
    """Every tool call of the investigation: tool, arguments, duration, outcome, who asked."""
    record_or_404(service, inv, principal)
    return [row.model_dump(mode="json") for row in service.store.audit(inv)]


@router.get(
    "/v1/investigations/{inv}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "progress events (SSE)"}},
)
def get_events(
    request: Request,
    inv: str,
    principal: Caller,
    service: Service,
    after: Annotated[int, Query(ge=0, le=_MAX_SEQ)] = 0,
    format: Literal["sse", "json"] = "sse",
) -> Response:
    """Server-Sent Events: every stored event (id = sequence number), then live ones, then ``end``.

    ``?format=json`` returns the events stored so far and the status instead (for polling)."""
    record = record_or_404(service, inv, principal)
    last = request.headers.get("last-event-id", "").strip()
    if last and not re.fullmatch(r"[0-9]{1,18}", last):
        raise ApiError(400, "invalid_request", "Last-Event-ID must be an event's sequence number")
    start = int(last) if last else after
    if format == "json":
        # For clients that cannot stream (the Zendesk proxy): what is stored so far, and the status.
        events = [
            {"seq": seq, "event": e.model_dump(mode="json")} for seq, e in service.store.events(inv, start)
        ]
        return JSONResponse({"id": inv, "status": record.status, "events": events})
    return StreamingResponse(
        service.stream(inv, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/v1/investigations/{inv}/rerun",
    status_code=202,
    response_model=InvestigationCreated,
)
def rerun(inv: str, principal: Caller, service: Service) -> InvestigationCreated:
    """Investigate the same (stored, redacted) ticket again; the new investigation links back with rerun_of."""
    record = record_or_404(service, inv, principal)
    if record.status not in TERMINAL:
        raise ApiError(409, "still_active", f"investigation {inv} is {record.status}")
    ticket = service.store.ticket(inv)
    assert ticket is not None
    # A webhook investigation's re-run posts its own note, as the first one did.
    webhook = record.source == "webhook"
    new, existing = service.submit(
        ticket,
        source=record.source,
        principal=principal,
        priority="on_demand",
        rerun_of=inv,
        helpdesk_ticket_id=positive_id(ticket.id) if webhook else None,
        post_note=webhook,
    )
    return InvestigationCreated(
        id=new, status="queued", ticket_id=ticket.id, existing=existing, links=investigation_links(new)
    )


@router.post(
    "/v1/investigations/{inv}/confirm-account",
    status_code=202,
    response_model=InvestigationCreated,
)
def confirm_account(
    inv: str, principal: Caller, service: Service, body: ConfirmAccountIn | None = None
) -> InvestigationCreated:
    """An agent confirms the investigation's candidate account (or names the right one): the ticket is
    investigated again with that account named on it, so the new draft reply may use its data."""
    record = record_or_404(service, inv, principal)
    if record.status not in TERMINAL:
        raise ApiError(409, "still_active", f"investigation {inv} is {record.status}")
    diagnosis = record.diagnosis
    if diagnosis is not None and diagnosis.account_id is not None and not diagnosis.account_candidate:
        raise ApiError(
            409,
            "account_verified",
            f"investigation {inv}'s account is not a candidate: nothing to confirm",
        )
    wanted = (body.account_id if body else None) or (diagnosis.account_id if diagnosis else None)
    if not wanted or not wanted.strip():
        raise ApiError(422, "invalid_request", "account_id: this investigation has no candidate; name one")
    account_id = service.account_id(wanted)
    if account_id is None:
        raise ApiError(422, "unknown_account", f"no account {wanted[:60]!r} in the account directory")
    ticket = service.store.ticket(inv)
    assert ticket is not None
    new, existing = service.submit(
        ticket.model_copy(update={"account_id": account_id}),
        source=record.source,
        principal=principal,
        priority="on_demand",
        rerun_of=inv,
        helpdesk_ticket_id=positive_id(ticket.id)
        if record.source in (service.helpdesk.name, "webhook")
        else None,
    )
    service.record_event(
        inv,
        Event(kind="account_confirmed", data={"account_id": account_id, "by": principal.name, "rerun": new}),
    )
    return InvestigationCreated(
        id=new, status="queued", ticket_id=ticket.id, existing=existing, links=investigation_links(new)
    )
