"""``POST /v1/webhooks/{helpdesk}``: the service's helpdesk's signed webhook (``/v1/webhooks/zendesk``)
starts a background investigation whose internal note is posted on the ticket."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from casefile.agent.helpdesk import WebhookRefused
from casefile.agent.service.auth import Principal
from casefile.agent.service.deps import Service, from_helpdesk
from casefile.agent.service.errors import ApiError, json_body
from casefile.agent.service.schemas import InvestigationCreated, Skipped, investigation_links

__all__ = ["router"]

log = logging.getLogger("casefile.service")


router = APIRouter(tags=["webhooks"])

WEBHOOK_PATH = "/v1/webhooks/{helpdesk}"


@router.post(
    WEBHOOK_PATH, status_code=202, responses={200: {"model": Skipped, "description": "nothing to do"}}
)
async def helpdesk_webhook(helpdesk: str, request: Request, service: Service) -> Response:
    """The helpdesk's webhook on a new ticket (Zendesk: a trigger, or the ticket.created event),
    signed with its secret. Only the service's own helpdesk has one: another name is a 404."""
    desk = service.helpdesk
    if helpdesk != desk.name:
        raise ApiError(
            404, "not_found", f"no webhook {helpdesk[:40]!r}: this service's helpdesk is {desk.name}"
        )
    raw = await request.body()
    try:
        desk.verify_webhook(request.headers, raw)
    except WebhookRefused as exc:
        raise ApiError(401, exc.code, exc.message) from None
    principal = Principal(
        name=f"{desk.name}:webhook", kind=f"{desk.name}_webhook", tenant=service.config.tenant
    )
    wait = service.limiter.check(principal.name)
    if wait:
        raise ApiError(429, "rate_limited", "rate limit exceeded", {"Retry-After": str(int(wait))})
    try:
        found = desk.webhook_ticket_id(json_body(raw))
    except ValueError as exc:
        raise ApiError(400, "invalid_payload", str(exc)) from None
    if isinstance(found, str):
        return JSONResponse({"skipped": found}, status_code=200)
    # Never trust the webhook body for content: read the ticket back from the helpdesk.
    fetched = await from_helpdesk(service, found)
    tag = desk.investigated_tag
    if tag in fetched.tags:
        return JSONResponse({"skipped": f"ticket {found} is already tagged {tag}"}, status_code=200)
    ticket = fetched.ticket.model_copy(update={"source": "webhook"})
    try:
        inv, existing = await asyncio.to_thread(  # the store waits off the event loop
            service.submit,
            ticket,
            source="webhook",
            principal=principal,
            priority="background",
            helpdesk_ticket_id=found,
            post_note=True,
        )
    except Exception as exc:  # not stored, so not accepted: an error status makes the helpdesk send it again
        service.store_health(exc)
        log.error("webhook for ticket %s not accepted: the store failed: %s", found, type(exc).__name__)
        raise ApiError(
            503, "store_unavailable", "the work could not be recorded; retry later", {"Retry-After": "30"}
        ) from None
    body = InvestigationCreated(
        id=inv, status="queued", ticket_id=ticket.id, existing=existing, links=investigation_links(inv)
    )
    return JSONResponse(body.model_dump(), status_code=202)
