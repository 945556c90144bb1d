"""How each logs result reads to the model: short text, the figures that matter first."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "render_error_summary",
    "render_latency",
    "render_recent_requests",
    "render_schema",
    "render_sql",
    "render_sso",
    "render_top_errors",
    "render_webhooks",
]


def _table(
    header: str, rows: Sequence[Mapping[str, Any]], row: Callable[[Mapping[str, Any]], str]
) -> list[str]:
    """A table's header and one line a row; nothing when there are no rows."""
    return [header, *map(row, rows)] if rows else []


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _counts(c: Mapping[str, Any]) -> str:
    """A window's (or its baseline's) requests and errors."""
    return f"{c['requests']} requests, {c['errors']} errors ({_pct(c['error_rate'])})"


def render_error_summary(d: Mapping[str, Any]) -> str:
    b = d["baseline"]
    window = f"{d['account_id']} {d['window']['start']} → {d['window']['end']}"
    lines = [f"{window}: {_counts(d)}; baseline {b['start']} → {b['start'] and b['end']}: {_counts(b)}"]
    spike = d.get("spike")
    if spike:
        lines.append(
            f"SPIKE{' on ' + spike['path'] if spike.get('path') else ''} from {spike['start']} "
            f"(first error {spike['first_error_at']}, mostly {spike['status']}, "
            f"{spike['bucket_minutes']}-min buckets): error rate {_pct(spike['before_rate'])} before → "
            f"{_pct(spike['after_rate'])} after (peak {_pct(spike['peak_rate'])}), "
            f"{spike['errors_since']} errors since"
        )
    else:
        lines.append("no error spike in the window")
    lines += _table(
        "status | count | rate | baseline rate",
        d["by_status"],
        lambda s: f"{s['status']} | {s['count']} | {_pct(s['rate'])} | {_pct(s['baseline_rate'])}",
    )
    lines += _table(
        "endpoint | requests | errors | error rate | baseline rate",
        d["top_endpoints"],
        lambda e: (
            f"{e['path']} | {e['requests']} | {e['errors']} | {_pct(e['error_rate'])} | "
            f"{_pct(e.get('baseline_error_rate'))}"
        ),
    )
    if d["top_error_codes"]:
        lines.append(
            "error codes: " + ", ".join(f"{c['error_code']} ({c['count']})" for c in d["top_error_codes"])
        )
    return "\n".join(lines)


def render_top_errors(d: Mapping[str, Any]) -> str:
    lines = [
        f"{d['account_id']} {d['window']['start']} → {d['window']['end']}: {d['errors']} errors of "
        f"{d['requests']} requests"
    ]
    lines += _table(
        "count (7 days before) | share | status | error code | endpoint | API key | first → last | message",
        d["top"],
        lambda e: (
            f"{e['count']} (before: {e['before']}) | {_pct(e['share'])} | {e['status']} | "
            f"{e['error_code'] or '-'} | {e['path'] or '-'} | {e['api_key_hash'] or '-'} | "
            f"{e['first_at']} → {e['last_at']} | {e['message'] or '-'}"
        ),
    )
    if d["keys"]:
        lines.append(
            "API keys: "
            + "; ".join(f"{k['api_key_hash']} {k['errors']}/{k['requests']} failed" for k in d["keys"])
        )
    if any(o["count"] for o in d["others"]):
        lines.append(
            "the same errors at other accounts: "
            + "; ".join(
                f"{o['status']} {o['error_code'] or '-'}: {o['accounts']} accounts, {o['count']} errors"
                + (f" (7 days before: {o['before']})" if "before" in o else "")
                for o in d["others"]
                if o["count"]
            )
            + f" (of their {d.get('others_requests', 0)} requests"
            + (
                f"; {d['others_baseline_requests']} in the 7 days before)"
                if "others_baseline_requests" in d
                else ")"
            )
        )
    else:
        lines.append("no other account saw these errors in the window")
    return "\n".join(lines)


def render_latency(d: Mapping[str, Any]) -> str:
    b = d["baseline"]
    lines = [
        f"latency ({d['scope']}{' ' + d['account_id'] if d.get('account_id') else ''}), "
        f"{d['requests']} requests: "
        f"p50 {d['p50_ms']} ms, p95 {d['p95_ms']} ms, p99 {d['p99_ms']} ms; baseline p50 {b['p50_ms']}, "
        f"p95 {b['p95_ms']}, p99 {b['p99_ms']}"
    ]
    if d["by_endpoint"]:
        lines.append("endpoint | requests | p95 ms | baseline p95 ms")
        lines += [
            f"{e['path']} | {e['requests']} | {e['p95_ms']} | {e['baseline_p95_ms']}"
            for e in d["by_endpoint"]
        ]
    for r in d.get("by_region") or []:
        lines.append(
            f"region {r['region']}: {r['slow_accounts']} of {r['accounts']} accounts slower than their own "
            f"baseline (up to {r['top_ratio']}×)"
            if d["scope"] == "all"
            else f"region {r['region']} | {r['requests']} | {r['p95_ms']} | {r['baseline_p95_ms']}"
        )
    if d.get("accounts_compared"):
        lines.append(
            f"{d['accounts_compared']} accounts compared; p95 / own baseline p95, highest first: "
            + ", ".join(f"{r}×" for r in d["p95_ratios"])
        )
    if d["slowest"]:
        lines.append(
            "slowest: "
            + "; ".join(
                f"{s['ts']} {s['path']} {s['latency_ms']} ms trace {s['trace_id']}" for s in d["slowest"]
            )
        )
    return "\n".join(lines)


def render_recent_requests(d: Mapping[str, Any]) -> str:
    rows = d["requests"]
    counts = ", ".join(f"{k}: {v}" for k, v in d["status_counts"].items())
    lines = [f"{len(rows)} most recent requests of {d['account_id']} (status counts {counts or 'none'}):"]
    for r in rows:
        lines.append(
            f"{r['ts']} {r['method'] or ''} {r['path']} {r['status']} {r['error_code'] or '-'} "
            f"{r['latency_ms']}ms req={r['request_id']} key={r['api_key_hash']}"
        )
    errors = [r for r in rows if isinstance(r["status"], int) and (r["status"] >= 400 or r["error_code"])][:2]
    for r in errors:
        lines.append(f"headers of {r['request_id']}: request {str(r['request_headers'])[:300]}")
        lines.append(f"  response {str(r['response_headers'])[:300]}")
    return "\n".join(lines)


def render_webhooks(d: Mapping[str, Any]) -> str:
    p = d["platform"]
    last = d["last_success"]
    lines = [
        f"{d['account_id']} webhooks: {d['attempts']} attempts, {d['failures']} failures "
        f"({_pct(d['failure_rate'])}); "
        f"other accounts: {p['attempts']} attempts, {_pct(p['failure_rate'])} failing",
        f"last success: "
        f"{last['ts'] + ' status ' + str(last['response_status']) if last else 'none in the last 7 days'}; "
        f"failing since: {d['failing_since'] or 'not failing'}",
        f"endpoints: {', '.join(d['endpoint_urls']) or '-'}; response ms p50 {d['response_ms']['p50']}, "
        f"p95 {d['response_ms']['p95']}, max {d['response_ms']['max']}",
        "statuses: " + ", ".join(f"{s['status']} ({s['count']})" for s in d["by_response_status"]),
        "errors: " + (", ".join(f"{e['error']} ({e['count']})" for e in d["by_error"]) or "none"),
        "bucket | attempts | failures | p95 ms",
    ]
    lines += [f"{h['hour']} | {h['attempts']} | {h['failures']} | {h['p95_ms']}" for h in d["history"]]
    return "\n".join(lines)


def render_sso(d: Mapping[str, Any]) -> str:
    last = d["last_success"]
    lines = [
        f"{d['account_id']} SSO: {d['attempts']} attempts, {d['failures']} failures; last success: "
        + (
            f"{last['ts']} {last['user_email']} cert {last['cert_sha1']}"
            if last
            else "none in the last 7 days"
        )
        + f"; failing since: {d['failing_since'] or 'not failing'}",
        "errors: " + (", ".join(f"{e['error']} ({e['count']})" for e in d["top_errors"]) or "none"),
    ]
    lines += [
        f"{f['ts']} {f['user_email']} {f['error']} skew={f['clock_skew_s']}s cert {f['cert_sha1']}"
        for f in d["recent_failures"]
    ]
    lines += [
        f"changed since the last working login: {c['what']} {c['before']} -> {c['after']}"
        for c in d.get("config_changes") or []
    ]
    return "\n".join(lines)


def render_sql(d: Mapping[str, Any]) -> str:
    lines = [" | ".join(d["columns"])]
    lines += [" | ".join("" if v is None else str(v) for v in row) for row in d["rows"]]
    tail = f"{d['row_count']} rows" + (" (truncated: add filters or aggregate)" if d["truncated"] else "")
    return "\n".join([*lines, tail])


def render_schema(d: Mapping[str, Any]) -> str:
    return "\n".join(
        f"{name}: " + ", ".join(f"{c['name']} {c['type']}" for c in cols)
        for name, cols in d["tables"].items()
    )
