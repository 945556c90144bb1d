"""Fillers: the tool call that would collect a field an escalation still lacks (routing runs them
through the toolbox, so they are audited like any other call)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from casefile.agent.packet.sources import FillContext, Filler
from casefile.agent.similar.observed import failing_codes, observed_codes
from casefile.agent.similar.past import cited_values
from casefile.agent.similar.query import investigation_query
from casefile.tools.base import iso
from casefile.tools.logs_results import ErrorSummary

__all__ = ["bugs", "needs_account", "recent_failing", "retry_log", "similar", "window"]

_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def window(ctx: FillContext, days_before: int = 0) -> dict[str, str]:
    start = ctx.start - timedelta(days=days_before)
    return {"start": iso(start), "end": iso(ctx.end)}


def needs_account(build: Callable[[FillContext, str], tuple[str, dict[str, Any]]]) -> Filler:
    def filler(ctx: FillContext) -> tuple[str, dict[str, Any]] | None:
        return build(ctx, ctx.account_id) if ctx.account_id else None

    return filler


def recent_failing(ctx: FillContext, account_id: str) -> tuple[str, dict[str, Any]]:
    """The account's recent requests, narrowed to the status the error summary says fails most."""
    args: dict[str, Any] = {"account_id": account_id, "limit": 50}
    for read in reversed(ctx.sources.read("logs_error_summary", ErrorSummary).reads):
        summary = read.view
        counted = [s for s in summary.by_status if s.count]
        status = (summary.spike.status if summary.spike else None) or (
            max(counted, key=lambda s: s.count).status if counted else None
        )
        if status:
            args["status"] = status
            break
    return "logs_recent_requests", args


def retry_log(ctx: FillContext, account_id: str) -> tuple[str, dict[str, Any]] | None:
    if not _ACCOUNT_ID.match(account_id):  # it is interpolated into SQL: ids only
        return None
    w = window(ctx, days_before=1)
    sql = (
        "SELECT ts, delivery_id, event_type, endpoint_url, attempt, response_status, response_ms, error "
        f"FROM webhook_deliveries WHERE account_id = '{account_id}' "
        f"AND ts >= parseDateTime64BestEffort('{w['start']}') AND ts < parseDateTime64BestEffort('{w['end']}') "
        "AND (response_status < 200 OR response_status >= 300 OR error != '') "
        "ORDER BY ts DESC LIMIT 20"
    )
    return "logs_sql", {"sql": sql}


def similar(ctx: FillContext) -> tuple[str, dict[str, Any]] | None:
    ticket = ctx.sources.ticket
    if ticket is None:
        return None
    d = ctx.diagnosis
    query = (
        investigation_query(
            ticket.subject,
            ticket.body,
            d.root_cause.category,
            d.summary,
            cited_values(d),
            d.confidence.score,
            failing_codes(observed_codes(ctx.sources.outcomes)),
        )
        if d is not None
        else investigation_query(ticket.subject, ticket.body)
    )
    return "tickets_similar", {**query.model_dump(exclude_defaults=True), "limit": 3}


def bugs(ctx: FillContext) -> tuple[str, dict[str, Any]] | None:
    ticket = ctx.sources.ticket
    query = (ticket.subject if ticket else "").strip()[:200]
    return ("bugs_search", {"query": query}) if len(query) >= 2 else None
