"""Collectors of the fields read from tool results: each reads its field out of the investigation's
outcomes through the connector's typed view (``tools/*_results.py``) and records the ``call_id`` of
every result it used, or says why it cannot (not called, unavailable, garbled)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from casefile.agent.packet.show import given, show
from casefile.agent.packet.sources import (
    MAX_FAILING,
    MAX_ROWS,
    Collected,
    Missing,
    Results,
    Sources,
    why_none,
)
from casefile.tools.billing_results import BillingAccount
from casefile.tools.bugs_results import BugSearch, Issue
from casefile.tools.deploys_results import Compare, Deployment, DeploysList
from casefile.tools.logs_results import (
    ErrorSummary,
    Latency,
    RecentRequests,
    RequestRow,
    SqlResult,
    SsoLogins,
    WebhookDeliveries,
)
from casefile.tools.sso_results import SsoCheck
from casefile.tools.tickets import SimilarTickets

__all__ = [
    "affected_accounts",
    "api_key_hash",
    "billing_status",
    "deploys",
    "endpoint_response_times",
    "error_summary",
    "failing_requests",
    "latency",
    "related_bugs",
    "similar_tickets",
    "sso_failures",
    "sso_metadata",
    "trace_ids",
    "webhook_retry_log",
]

# A request as the logs keep it; its headers are parsed apart.
_REQUEST_FIELDS = [n for n in RequestRow.model_fields if not n.endswith("_headers")]


def _headers(value: str | dict[str, Any] | None) -> Any:
    """Headers are stored as JSON text in the logs; show them as objects when they parse."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _recent(src: Sources) -> Results[RecentRequests]:
    return src.read("logs_recent_requests", RecentRequests)


def _failing_rows(recent: Results[RecentRequests]) -> tuple[list[RequestRow], list[str], int]:
    rows: list[RequestRow] = []
    ids: list[str] = []
    seen = 0
    for read in reversed(recent.reads):
        seen += len(read.view.requests)
        failing = [r for r in read.view.requests if r.status >= 400]
        if failing:
            ids.append(read.call_id)
            for r in failing:
                if len(rows) < MAX_FAILING and r.request_id not in {x.request_id for x in rows}:
                    rows.append(r)
    return rows, ids, seen


def failing_requests(src: Sources) -> Collected | Missing:
    recent = _recent(src)
    rows, ids, seen = _failing_rows(recent)
    if not rows:
        if not recent:
            return Missing(recent.why_not)
        return Missing(f"no failing request among the {seen} recent requests retrieved")
    value = [
        {
            **show(r, _REQUEST_FIELDS, carried_only=True),
            "request_headers": _headers(r.request_headers),
            "response_headers": _headers(r.response_headers),
        }
        for r in rows
    ]
    return Collected(value, ids)


def api_key_hash(src: Sources) -> Collected | Missing:
    recent = _recent(src)
    rows, ids, _ = _failing_rows(recent)
    if not rows:  # fall back to any request of the account: the key is the key
        rows = [r for read in recent.reads for r in read.view.requests]
        ids = recent.call_ids
    hashes = sorted({r.api_key_hash for r in rows if r.api_key_hash})
    if not hashes:
        return Missing(recent.why_not if not recent else "no API key hash in the requests retrieved")
    return Collected(hashes, ids)


def error_summary(src: Sources) -> Collected | Missing:
    found = src.read("logs_error_summary", ErrorSummary)
    if not found:
        return Missing(found.why_not)
    d = found.last.view
    value = {
        **show(d, ("window", "requests", "errors", "error_rate")),
        "baseline_error_rate": given(d.baseline, "error_rate"),
        **show(
            d,
            ("spike", "by_status", "top_endpoints", "top_error_codes"),
            cuts={"by_status": slice(MAX_ROWS), "top_endpoints": slice(3), "top_error_codes": slice(3)},
        ),
    }
    status = found.last.arguments.get("status")  # the call's own filter, not its result
    if status is not None:
        value["status_filter"] = status
    return Collected(value, [found.last.call_id])


def _deployment(d: Deployment) -> dict[str, Any]:
    return show(d, ("repo", "ref", "sha", "created_at", "creator", "status"))


def _compare(c: Compare) -> dict[str, Any]:
    return {
        **show(c, ("repo", "base", "head", "html_url")),
        "files": [f.filename for f in c.files][:20],
        "commits": [
            {"sha": (x.sha or "")[:12], "message": (x.message.splitlines() or [""])[0][:120]}
            for x in c.commits
        ][:10],
    }


def deploys(src: Sources) -> Collected | Missing:
    lists = src.read("deploys_list", DeploysList)
    compares = src.read("deploys_compare", Compare)
    if not lists and not compares:
        return Missing(why_none(lists, compares))
    deployments: dict[str, Deployment] = {}
    for read in lists.reads:
        for d in read.view.deployments:
            if d.production:
                deployments[f"{d.repo}@{d.sha}"] = d
    recent = sorted(deployments.values(), key=lambda d: d.created_at, reverse=True)[:MAX_ROWS]
    value: dict[str, Any] = {"deployments": [_deployment(d) for d in recent]}
    if compares:
        value["compare"] = _compare(compares.last.view)
    return Collected(value, [*lists.call_ids, *compares.call_ids])


def _newest(found: Results[Any], names: Sequence[str], cuts: Mapping[str, slice] | None = None) -> Collected:
    """The named fields of the newest result (the lists in ``cuts`` cut), cited by its call."""
    return Collected(show(found.last.view, names, cuts=cuts), [found.last.call_id])


def _latency(src: Sources, scope: str) -> Results[Latency]:
    return src.read("logs_latency", Latency, lambda v: v.scope == scope)


def trace_ids(src: Sources) -> Collected | Missing:
    latency = _latency(src, "account")
    if latency:
        slowest = [s for s in latency.last.view.slowest if s.trace_id]
        if slowest:
            value = [show(s, ("trace_id", "ts", "path", "latency_ms")) for s in slowest[:MAX_ROWS]]
            return Collected(value, [latency.last.call_id])
    rows, ids, _ = _failing_rows(_recent(src))
    traced = [show(r, ("trace_id", "ts", "path", "status")) for r in rows if r.trace_id]
    if traced:
        return Collected(traced, ids)
    return Missing("no trace ids: " + (latency.why_not if not latency else "the slowest requests carry none"))


def latency(src: Sources) -> Collected | Missing:
    found = _latency(src, "account") or _latency(src, "all")
    if not found:
        return Missing(found.why_not)
    keys = ("scope", "requests", "p50_ms", "p95_ms", "p99_ms", "baseline", "by_endpoint")
    return _newest(found, keys, {"by_endpoint": slice(MAX_ROWS)})


def affected_accounts(src: Sources) -> Collected | Missing:
    platform = _latency(src, "all")
    if not platform:
        return Missing(platform.why_not + " for the whole platform (account_id null)")
    ratio = float(src.thresholds.get("latency_ratio", 1.5))
    v = platform.last.view
    # The platform view names no other account: how many rose, out of how many, and by how much.
    slow = [r for r in v.p95_ratios if r >= ratio]
    # Only values from the result: the threshold is the routing file's, not evidence.
    value = {"slower": len(slow), "compared": given(v, "accounts_compared"), "p95_ratios": slow[:10]}
    return Collected(value, [platform.last.call_id])


def _is_retry_log(result: SqlResult) -> bool:
    return "webhook_deliveries" in result.sql and "attempt" in result.columns


def webhook_retry_log(src: Sources) -> Collected | Missing:
    sql = src.read("logs_sql", SqlResult, _is_retry_log)
    if sql:
        d = sql.last.view
        value = {"attempts": d.records()[: MAX_ROWS * 4], **show(d, ("row_count",))}
        return Collected(value, [sql.last.call_id])
    deliveries = src.read("logs_webhook_deliveries", WebhookDeliveries)
    if not deliveries:
        return Missing(deliveries.why_not)
    keys = ("attempts", "failures", "failure_rate", "failing_since", "last_success")
    return _newest(deliveries, (*keys, "by_response_status", "by_error"))


def endpoint_response_times(src: Sources) -> Collected | Missing:
    deliveries = src.read("logs_webhook_deliveries", WebhookDeliveries)
    if not deliveries:
        return Missing(deliveries.why_not)
    keys = ("endpoint_urls", "response_ms", "history", "platform")
    return _newest(deliveries, keys, {"history": slice(-24, None)})


def sso_metadata(src: Sources) -> Collected | Missing:
    checks = src.read("sso_check", SsoCheck)
    if not checks:
        return Missing(checks.why_not)
    keys = (
        "vendor",
        "entity_id",
        "metadata_url",
        "valid_until",
        "certificates",
        "configured_cert_sha1",
        "configured_cert_present",
        "signing_cert_expired",
        "diff_vs_last_working",
        "problems",
    )
    return Collected(show(checks.last.view, keys, carried_only=True), [checks.last.call_id])


def sso_failures(src: Sources) -> Collected | Missing:
    logins = src.read("logs_sso_logins", SsoLogins)
    if not logins:
        return Missing(logins.why_not)
    keys = ("attempts", "failures", "failing_since", "last_success", "top_errors", "recent_failures")
    return _newest(logins, keys, {"recent_failures": slice(MAX_ROWS)})


def billing_status(src: Sources) -> Collected | Missing:
    billing = src.read("billing_account", BillingAccount)
    if not billing:
        return Missing(billing.why_not)
    d = billing.last.view
    subscription = ("id", "status", "cancel_at_period_end", "current_period_end", "plan")
    value = {
        **show(d, ("customer", "in_good_standing", "standing_reasons")),
        "subscriptions": [show(s, subscription) for s in d.subscriptions],
        **show(d, ("open_invoices", "recent_payment_failures")),
    }
    return Collected(value, [billing.last.call_id])


_BUG_FIELDS = ("identifier", "title", "state", "url", "workaround", "eta")


def related_bugs(src: Sources) -> Collected | Missing:
    searches = src.read("bugs_search", BugSearch)
    details = src.read("bugs_issue", Issue)
    if not searches and not details:
        return Missing(why_none(searches, details))
    bugs: dict[str, dict[str, Any]] = {}
    for read in searches.reads:
        for issue in read.view.issues:
            if issue.identifier:
                bugs.setdefault(issue.identifier, show(issue, _BUG_FIELDS))
    for detail in details.reads:
        if detail.view.identifier:
            bugs[detail.view.identifier] = show(detail.view, _BUG_FIELDS)
    if not bugs:
        return Missing("the bug searches found no issue")
    return Collected(list(bugs.values())[:MAX_ROWS], [*searches.call_ids, *details.call_ids])


def similar_tickets(src: Sources) -> Collected | Missing:
    found = src.read("tickets_similar", SimilarTickets)
    if not found:
        return Missing(found.why_not)
    tickets = found.last.view.tickets
    if not tickets:
        return Missing("no similar resolved ticket")
    keys = ("id", "external_id", "subject", "resolution", "article_url", "solved_at", "score")
    return Collected([show(t, keys) for t in tickets[:3]], [found.last.call_id])
