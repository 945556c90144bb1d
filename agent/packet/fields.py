"""The packet fields by name (label, description, collector, filler), and the two operations on
them: collect the named fields, and the calls that would collect those still missing."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from casefile.agent.packet import collect as c
from casefile.agent.packet import ticket_fields as t
from casefile.agent.packet.fill import bugs, needs_account, recent_failing, retry_log, similar, window
from casefile.agent.packet.model import PacketField
from casefile.agent.packet.sources import FieldSpec, FillContext, Missing, Sources

__all__ = ["FIELDS", "build_fields", "fill_calls"]


FIELDS: dict[str, FieldSpec] = {
    "failing_requests": FieldSpec(
        "Failing requests (full headers)",
        "the account's recent failing API calls with request/response headers (logs_recent_requests)",
        c.failing_requests,
        needs_account(recent_failing),
    ),
    "api_key_hash": FieldSpec(
        "API key hash",
        "hash of the API key the failing calls used (logs_recent_requests)",
        c.api_key_hash,
        needs_account(recent_failing),
    ),
    "error_summary": FieldSpec(
        "Error rate and spike",
        "error rate vs baseline, spike start, top endpoints and error codes (logs_error_summary)",
        c.error_summary,
        needs_account(lambda c, a: ("logs_error_summary", {"account_id": a, **window(c)})),
    ),
    "deploys": FieldSpec(
        "Deploys around the incident",
        "production deployments in the window and the suspect compare (deploys_list, deploys_compare)",
        c.deploys,
        lambda c: ("deploys_list", window(c, days_before=2)),
    ),
    "trace_ids": FieldSpec(
        "Trace ids",
        "trace ids of the slowest or failing requests (logs_latency, logs_recent_requests)",
        c.trace_ids,
        needs_account(lambda c, a: ("logs_latency", {"account_id": a, **window(c)})),
    ),
    "latency": FieldSpec(
        "Latency vs baseline",
        "p50/p95/p99 against the baseline, per endpoint (logs_latency)",
        c.latency,
        needs_account(lambda c, a: ("logs_latency", {"account_id": a, **window(c)})),
    ),
    "affected_accounts": FieldSpec(
        "Accounts affected (p95 up against their baseline)",
        "how many accounts' p95 rose past the threshold and by how much, platform-wide, without names "
        "(logs_latency with account_id null)",
        c.affected_accounts,
        lambda c: ("logs_latency", {"account_id": None, **window(c)}),
    ),
    "webhook_retry_log": FieldSpec(
        "Webhook retry log",
        "failed delivery attempts with attempt numbers, statuses and errors (logs_sql, logs_webhook_deliveries)",
        c.webhook_retry_log,
        needs_account(retry_log),  # type: ignore[arg-type]
    ),
    "endpoint_response_times": FieldSpec(
        "Endpoint response-time history",
        "the customer endpoint's response times per hour and the platform's failure rate (logs_webhook_deliveries)",
        c.endpoint_response_times,
        needs_account(
            lambda c, a: ("logs_webhook_deliveries", {"account_id": a, **window(c, days_before=1)})
        ),
    ),
    "sso_metadata": FieldSpec(
        "IdP metadata and certificates",
        "the IdP's metadata: certificates, validity, diff against the last working snapshot (sso_check)",
        c.sso_metadata,
        needs_account(lambda c, a: ("sso_check", {"account_id": a})),
    ),
    "sso_failures": FieldSpec(
        "SSO login failures",
        "failing and last successful SSO logins (logs_sso_logins)",
        c.sso_failures,
        needs_account(lambda c, a: ("logs_sso_logins", {"account_id": a, **window(c, days_before=2)})),
    ),
    "billing_status": FieldSpec(
        "Billing status",
        "subscription, open invoices, payment failures, standing (billing_account)",
        c.billing_status,
        needs_account(lambda c, a: ("billing_account", {"account_id": a})),
    ),
    "related_bugs": FieldSpec(
        "Related bugs",
        "Linear issues found during the investigation (bugs_search, bugs_issue)",
        c.related_bugs,
        bugs,
    ),
    "similar_tickets": FieldSpec(
        "Similar resolved tickets",
        "the three most similar resolved helpdesk tickets and their resolutions (tickets_similar)",
        c.similar_tickets,
        similar,
    ),
    "customer_query": FieldSpec(
        "Customer's query",
        "the request or query the customer ran, as quoted in the ticket",
        t.customer_query,
    ),
    "expected_vs_actual": FieldSpec(
        "Expected vs actual",
        "what the customer expected and what they saw, as the ticket says",
        t.expected_vs_actual,
    ),
    "timezone": FieldSpec(
        "Timezone",
        "the account's timezone (account directory) and any the ticket mentions",
        t.timezone,
    ),
    "browser": FieldSpec("Browser and version", "browsers named in the ticket (signals)", t.browser),
    "console_errors": FieldSpec(
        "Console errors", "browser console errors quoted in the ticket", t.console_errors
    ),
}


def build_fields(names: Sequence[str], src: Sources) -> tuple[list[PacketField], list[str]]:
    """Collect the named fields; return what was collected and why the rest is missing."""
    fields: list[PacketField] = []
    missing: list[str] = []
    for name in dict.fromkeys(names):
        spec = FIELDS.get(name)
        if spec is None:
            missing.append(f"{name}: no such packet field")
            continue
        got = spec.collect(src)
        if isinstance(got, Missing):
            missing.append(f"{spec.label}: {got.reason}")
        else:
            fields.append(PacketField(name=name, label=spec.label, value=got.value, sources=got.sources))
    return fields, missing


def fill_calls(
    names: Sequence[str], ctx: FillContext, available: Callable[[str], bool]
) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls that would collect the named fields still missing, deduplicated."""
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    for name in dict.fromkeys(names):
        spec = FIELDS.get(name)
        if spec is None or spec.fill is None or not isinstance(spec.collect(ctx.sources), Missing):
            continue
        call = spec.fill(ctx)
        if call is None or not available(call[0]):
            continue
        calls.setdefault(call[0] + json.dumps(call[1], sort_keys=True, default=str), call)
    return list(calls.values())
