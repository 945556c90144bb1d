"""Feedback on investigations: a bounce-back, and the weekly escalation review built from them
(the shared causes are in :mod:`.clusters`)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from casefile.agent.errors import UsageError
from casefile.agent.handoff.bounce import InvalidBounce, NotEscalated, record_feedback
from casefile.agent.metrics.escalations import escalation_report
from casefile.agent.routing_cli import parse_since
from casefile.agent.service.deps import Caller, Service, record_or_404
from casefile.agent.service.errors import ApiError
from casefile.agent.service.schemas import FeedbackIn
from casefile.agent.similar.review import measure_docs_gap

__all__ = ["router"]

router = APIRouter(tags=["feedback"])


@router.post("/v1/investigations/{inv}/feedback", status_code=201)
def post_feedback(inv: str, body: FeedbackIn, principal: Caller, service: Service) -> dict[str, Any]:
    """Record that an escalation bounced back (or was right), with the article that should have prevented it."""
    record = record_or_404(service, inv, principal)
    try:
        entry = record_feedback(service.store, record, body, by=principal.name, via=body.via)
    except InvalidBounce as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    except NotEscalated as exc:
        raise ApiError(409, "not_escalated", str(exc)) from None
    if body.bounced:
        service.bounced(record, entry)
    return {"id": inv, "bounced": body.bounced, "recorded_by": principal.name}


@router.get("/v1/reports/escalations")
async def escalations_report(principal: Caller, service: Service, since: str = "7d") -> dict[str, Any]:
    """The weekly escalation review: by team, bounce rate, preventable ones, time to escalation, what to change."""

    try:
        start = parse_since(since)
    except UsageError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    records, feedback = await asyncio.to_thread(
        lambda: (
            service.store.list(since=start, tenant=principal.tenant),
            service.store.feedback(since=start, tenant=principal.tenant),
        )
    )
    report = escalation_report(records, feedback, since=start)
    gap = await measure_docs_gap(
        report.preventable,
        service.store,
        service.env.toolbox,
        tenant=principal.tenant,
        helpdesk_tenant=service.settings.service.tenant,  # the help center is its helpdesk's
    )
    report.docs_gap = gap.model_dump(mode="json") if gap else None
    return report.as_dict()
