"""Collectors of the fields read from tool results: each reads its field out of the investigation's
outcomes and records the ``call_id`` of every result it used, or says why it cannot."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from casefile.agent.packet.sources import MAX_FAILING, MAX_ROWS, Collected, Missing, Sources
from casefile.tools.base import ToolOutcome

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


def _headers(value: Any) -> Any:
    """Headers are stored as JSON text in the logs; show them as objects when they parse."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _failing_rows(src: Sources) -> tuple[list[dict[str, Any]], list[str], int]:
    rows: list[dict[str, Any]] = []
    ids: list[str] = []
    seen = 0
    for outcome in reversed(src.ok("logs_recent_requests")):
        requests = [r for r in outcome.data.get("requests") or [] if isinstance(r, dict)]
        seen += len(requests)
        failing = [r for r in requests if int(r.get("status") or 0) >= 400]
        if failing:
            ids.append(outcome.call_id)
            for r in failing:
                if len(rows) < MAX_FAILING and r.get("request_id") not in {x.get("request_id") for x in rows}:
                    rows.append(r)
    return rows, ids, seen


def failing_requests(src: Sources) -> Collected | Missing:
    rows, ids, seen = _failing_rows(src)
    if not rows:
        if not src.ok("logs_recent_requests"):
            return Missing(src.why_not("logs_recent_requests"))
        return Missing(f"no failing request among the {seen} recent requests retrieved")
    keep = (
        "ts",
        "method",
        "path",
        "status",
        "error_code",
        "latency_ms",
        "request_id",
        "trace_id",
        "api_key_hash",
    )
    value = [
        {
            **{k: r.get(k) for k in keep if k in r},
            "request_headers": _headers(r.get("request_headers")),
            "response_headers": _headers(r.get("response_headers")),
        }
        for r in rows
    ]
    return Collected(value, ids)


def api_key_hash(src: Sources) -> Collected | Missing:
    rows, ids, _ = _failing_rows(src)
    if not rows:  # fall back to any request of the account: the key is the key
        outcomes = src.ok("logs_recent_requests")
        rows = [r for o in outcomes for r in o.data.get("requests") or [] if isinstance(r, dict)]
        ids = [o.call_id for o in outcomes]
    hashes = sorted({str(r["api_key_hash"]) for r in rows if r.get("api_key_hash")})
    if not hashes:
        return Missing(
            src.why_not("logs_recent_requests")
            if not src.ok("logs_recent_requests")
            else "no API key hash in the requests retrieved"
        )
    return Collected(hashes, ids)


def error_summary(src: Sources) -> Collected | Missing:
    outcomes = src.ok("logs_error_summary")
    if not outcomes:
        return Missing(src.why_not("logs_error_summary"))
    d = outcomes[-1].data
    value = {
        "window": d.get("window"),
        "requests": d.get("requests"),
        "errors": d.get("errors"),
        "error_rate": d.get("error_rate"),
        "baseline_error_rate": (d.get("baseline") or {}).get("error_rate"),
        "spike": d.get("spike"),
        "by_status": (d.get("by_status") or [])[:MAX_ROWS],
        "top_endpoints": (d.get("top_endpoints") or [])[:3],
        "top_error_codes": (d.get("top_error_codes") or [])[:3],
    }
    if d.get("status") is not None or outcomes[-1].arguments.get("status") is not None:
        value["status_filter"] = outcomes[-1].arguments.get("status")
    return Collected(value, [outcomes[-1].call_id])


def deploys(src: Sources) -> Collected | Missing:
    lists = src.ok("deploys_list")
    compares = src.ok("deploys_compare")
    if not lists and not compares:
        return Missing(src.why_not("deploys_list"))
    deployments: dict[str, dict[str, Any]] = {}
    for outcome in lists:
        for d in outcome.data.get("deployments") or []:
            if isinstance(d, dict) and d.get("environment", "production") == "production":
                key = f"{d.get('repo')}@{d.get('sha')}"
                deployments[key] = {
                    k: d.get(k) for k in ("repo", "ref", "sha", "created_at", "creator", "status")
                }
    recent = sorted(deployments.values(), key=lambda d: str(d.get("created_at") or ""), reverse=True)[
        :MAX_ROWS
    ]
    value: dict[str, Any] = {"deployments": recent}
    if compares:
        c = compares[-1].data
        value["compare"] = {
            "repo": c.get("repo"),
            "base": c.get("base"),
            "head": c.get("head"),
            "html_url": c.get("html_url"),
            "files": [f.get("filename") for f in c.get("files") or [] if isinstance(f, dict)][:20],
            "commits": [
                {
                    "sha": str(x.get("sha", ""))[:12],
                    "message": str(x.get("message", "")).splitlines()[0][:120],
                }
                for x in c.get("commits") or []
                if isinstance(x, dict)
            ][:10],
        }
    return Collected(value, [o.call_id for o in [*lists, *compares]])


def _account_latency(src: Sources) -> list[ToolOutcome]:
    return src.ok("logs_latency", lambda o: o.data.get("scope") == "account")


def _platform_latency(src: Sources) -> list[ToolOutcome]:
    return src.ok("logs_latency", lambda o: o.data.get("scope") == "all")


def trace_ids(src: Sources) -> Collected | Missing:
    latency = _account_latency(src)
    if latency:
        slowest = [
            s for s in latency[-1].data.get("slowest") or [] if isinstance(s, dict) and s.get("trace_id")
        ]
        if slowest:
            value = [
                {k: s.get(k) for k in ("trace_id", "ts", "path", "latency_ms")} for s in slowest[:MAX_ROWS]
            ]
            return Collected(value, [latency[-1].call_id])
    rows, ids, _ = _failing_rows(src)
    traced = [{k: r.get(k) for k in ("trace_id", "ts", "path", "status")} for r in rows if r.get("trace_id")]
    if traced:
        return Collected(traced, ids)
    return Missing(
        "no trace ids: " + (src.why_not("logs_latency") if not latency else "the slowest requests carry none")
    )


def _fields(
    found: Sequence[ToolOutcome], keys: Sequence[str], cut: Mapping[str, slice] | None = None
) -> Collected:
    """The named fields of the newest result (the lists in ``cut`` cut), cited by its call."""
    data = found[-1].data
    value = {k: (data.get(k) or [])[cut[k]] if cut and k in cut else data.get(k) for k in keys}
    return Collected(value, [found[-1].call_id])


def latency(src: Sources) -> Collected | Missing:
    latency = _account_latency(src) or _platform_latency(src)
    if not latency:
        return Missing(src.why_not("logs_latency"))
    keys = ("scope", "requests", "p50_ms", "p95_ms", "p99_ms", "baseline", "by_endpoint")
    return _fields(latency, keys, {"by_endpoint": slice(MAX_ROWS)})


def affected_accounts(src: Sources) -> Collected | Missing:
    platform = _platform_latency(src)
    if not platform:
        return Missing(src.why_not("logs_latency") + " for the whole platform (account_id null)")
    ratio = float(src.thresholds.get("latency_ratio", 1.5))
    data = platform[-1].data
    # The platform view names no other account: how many rose, out of how many, and by how much.
    slow = [float(r) for r in data.get("p95_ratios") or [] if isinstance(r, int | float) and r >= ratio]
    # Only values from the result: the threshold is the routing file's, not evidence.
    value = {"slower": len(slow), "compared": data.get("accounts_compared"), "p95_ratios": slow[:10]}
    return Collected(value, [platform[-1].call_id])


def _is_retry_log(outcome: ToolOutcome) -> bool:
    columns = outcome.data.get("columns") or []
    return "webhook_deliveries" in str(outcome.arguments.get("sql", "")) and "attempt" in columns


def webhook_retry_log(src: Sources) -> Collected | Missing:
    sql = src.ok("logs_sql", _is_retry_log)
    if sql:
        d = sql[-1].data
        rows = [dict(zip(d.get("columns") or [], r, strict=False)) for r in d.get("rows") or []]
        return Collected(
            {"attempts": rows[: MAX_ROWS * 4], "row_count": d.get("row_count")}, [sql[-1].call_id]
        )
    deliveries = src.ok("logs_webhook_deliveries")
    if not deliveries:
        return Missing(src.why_not("logs_webhook_deliveries"))
    keys = ("attempts", "failures", "failure_rate", "failing_since", "last_success")
    return _fields(deliveries, (*keys, "by_response_status", "by_error"))


def endpoint_response_times(src: Sources) -> Collected | Missing:
    deliveries = src.ok("logs_webhook_deliveries")
    if not deliveries:
        return Missing(src.why_not("logs_webhook_deliveries"))
    keys = ("endpoint_urls", "response_ms", "history", "platform")
    return _fields(deliveries, keys, {"history": slice(-24, None)})


def sso_metadata(src: Sources) -> Collected | Missing:
    checks = src.ok("sso_check")
    if not checks:
        return Missing(src.why_not("sso_check"))
    d = checks[-1].data
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
    return Collected({k: d.get(k) for k in keys if k in d}, [checks[-1].call_id])


def sso_failures(src: Sources) -> Collected | Missing:
    logins = src.ok("logs_sso_logins")
    if not logins:
        return Missing(src.why_not("logs_sso_logins"))
    keys = ("attempts", "failures", "failing_since", "last_success", "top_errors", "recent_failures")
    return _fields(logins, keys, {"recent_failures": slice(MAX_ROWS)})


def billing_status(src: Sources) -> Collected | Missing:
    billing = src.ok("billing_account")
    if not billing:
        return Missing(src.why_not("billing_account"))
    d = billing[-1].data
    subs = [
        {k: s.get(k) for k in ("id", "status", "cancel_at_period_end", "current_period_end", "plan")}
        for s in d.get("subscriptions") or []
        if isinstance(s, dict)
    ]
    value = {
        "customer": d.get("customer"),
        "in_good_standing": d.get("in_good_standing"),
        "standing_reasons": d.get("standing_reasons"),
        "subscriptions": subs,
        "open_invoices": d.get("open_invoices"),
        "recent_payment_failures": d.get("recent_payment_failures"),
    }
    return Collected(value, [billing[-1].call_id])


def related_bugs(src: Sources) -> Collected | Missing:
    searches = src.ok("bugs_search")
    details = src.ok("bugs_issue")
    if not searches and not details:
        return Missing(src.why_not("bugs_search"))
    keys = ("identifier", "title", "state", "url", "workaround", "eta")
    bugs: dict[str, dict[str, Any]] = {}
    for outcome in searches:
        for issue in outcome.data.get("issues") or []:
            if isinstance(issue, dict) and issue.get("identifier"):
                bugs.setdefault(str(issue["identifier"]), {k: issue.get(k) for k in keys})
    for outcome in details:
        if outcome.data.get("identifier"):
            bugs[str(outcome.data["identifier"])] = {k: outcome.data.get(k) for k in keys}
    if not bugs:
        return Missing("the bug searches found no issue")
    return Collected(list(bugs.values())[:MAX_ROWS], [o.call_id for o in [*searches, *details]])


def similar_tickets(src: Sources) -> Collected | Missing:
    found = src.ok("tickets_similar")
    if not found:
        return Missing(src.why_not("tickets_similar"))
    tickets = [t for t in found[-1].data.get("tickets") or [] if isinstance(t, dict)]
    if not tickets:
        return Missing("no similar resolved ticket")
    keys = ("id", "external_id", "subject", "resolution", "article_url", "solved_at", "score")
    return Collected([{k: t.get(k) for k in keys} for t in tickets[:3]], [found[-1].call_id])
