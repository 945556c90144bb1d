"""The escalation packet: the context a team needs, taken from tool results, never from prose.

A packet is a list of named fields (``failing_requests``, ``webhook_retry_log``,
``sso_metadata`` …). Each field has a *collector* that reads it out of the
investigation's tool outcomes (or, for a few, out of the ticket or the account
directory) and records where every value came from: the ``call_id`` of each
tool call it was read from, or ``ticket`` / ``accounts``. A field that cannot be
collected says why ("logs unavailable: timeout", "logs_recent_requests was not
called") and the packet lists it under ``missing``.

Most fields also have a *filler*: the tool call that would collect them.
Routing runs the fillers of the fields an escalation still lacks, through the
toolbox (so the calls are audited like any other), before building the packet.

Rendering: :func:`render_markdown` (paste into Slack or Linear) and
:meth:`Packet.model_dump_json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from casefile.agent.ticket import Signals, Ticket
from casefile.tools.base import ToolOutcome, iso

__all__ = [
    "FIELDS",
    "Collected",
    "FieldSpec",
    "Missing",
    "Packet",
    "PacketField",
    "Sources",
    "build_fields",
    "fill_calls",
    "render_markdown",
]

# How many failing requests, retry-log rows, similar tickets a packet carries.
MAX_ROWS = 5
# Failing requests carry full headers: fewer of them keep a Slack message readable.
MAX_FAILING = 3
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class PacketField(BaseModel):
    """One piece of context, with the calls (or ``ticket`` / ``accounts``) it was read from."""

    name: str
    label: str
    value: Any
    sources: list[str] = Field(
        description="call ids of the tool results this came from, or 'ticket'/'accounts'"
    )


class PacketCall(BaseModel):
    call_id: str
    tool: str
    arguments: dict[str, Any]
    ok: bool
    origin: str
    error: str | None = None


class Packet(BaseModel):
    """What an escalated ticket carries to its team: JSON for tools, Markdown for people."""

    ticket_id: str
    account_id: str | None = None
    account_name: str | None = None
    team: str
    team_name: str
    channel: str
    queue: str | None = None
    reason: str = Field(description="why this ticket is escalated (trigger rule, decision rule)")
    trigger: str | None = None
    symptom: str | None = None
    routed_by: str = Field(description="trigger | evidence | model | category | words | fallback")
    why: list[str] = Field(
        default_factory=list, description="how the team was chosen, evidence against words"
    )
    summary: str
    root_cause: dict[str, Any]
    confidence: float
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, description="the diagnosis' grounded evidence"
    )
    fields: list[PacketField] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    calls: list[PacketCall] = Field(default_factory=list)

    def field(self, name: str) -> PacketField | None:
        return next((f for f in self.fields if f.name == name), None)


# ---------------------------------------------------------------- what collectors see


@dataclass
class Sources:
    """Everything a collector may read: tool outcomes first, then the ticket and the account."""

    outcomes: Sequence[ToolOutcome]
    ticket: Ticket | None = None
    signals: Signals | None = None
    account: Mapping[str, Any] | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)

    def ok(self, tool: str, where: Callable[[ToolOutcome], bool] | None = None) -> list[ToolOutcome]:
        """Successful outcomes of ``tool`` with dict data, newest call last."""
        return [
            o
            for o in self.outcomes
            if o.tool == tool and o.ok and isinstance(o.data, dict) and (where is None or where(o))
        ]

    def why_not(self, tool: str) -> str:
        """Why no result of ``tool`` is available: it failed, or nobody called it."""
        failed = [o for o in self.outcomes if o.tool == tool and not o.ok]
        if failed:
            return f"{failed[-1].source} unavailable: {failed[-1].error}"
        return f"{tool} was not called"


@dataclass
class Collected:
    value: Any
    sources: list[str]


@dataclass
class Missing:
    reason: str


Collector = Callable[[Sources], Collected | Missing]


@dataclass
class FillContext:
    """What a filler needs to build its tool call."""

    account_id: str | None
    start: datetime
    end: datetime
    sources: Sources


Filler = Callable[[FillContext], tuple[str, dict[str, Any]] | None]


@dataclass(frozen=True)
class FieldSpec:
    label: str
    description: str
    collect: Collector
    fill: Filler | None = None


# ---------------------------------------------------------------- collectors


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


def _collect_failing_requests(src: Sources) -> Collected | Missing:
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


def _collect_api_key_hash(src: Sources) -> Collected | Missing:
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


def _collect_error_summary(src: Sources) -> Collected | Missing:
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


def _collect_deploys(src: Sources) -> Collected | Missing:
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


def _collect_trace_ids(src: Sources) -> Collected | Missing:
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


def _collect_latency(src: Sources) -> Collected | Missing:
    latency = _account_latency(src) or _platform_latency(src)
    if not latency:
        return Missing(src.why_not("logs_latency"))
    d = latency[-1].data
    value = {
        "scope": d.get("scope"),
        "requests": d.get("requests"),
        "p50_ms": d.get("p50_ms"),
        "p95_ms": d.get("p95_ms"),
        "p99_ms": d.get("p99_ms"),
        "baseline": d.get("baseline"),
        "by_endpoint": (d.get("by_endpoint") or [])[:MAX_ROWS],
    }
    return Collected(value, [latency[-1].call_id])


def _collect_affected_accounts(src: Sources) -> Collected | Missing:
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


def _collect_webhook_retry_log(src: Sources) -> Collected | Missing:
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
    d = deliveries[-1].data
    value = {
        "attempts": d.get("attempts"),
        "failures": d.get("failures"),
        "failure_rate": d.get("failure_rate"),
        "failing_since": d.get("failing_since"),
        "last_success": d.get("last_success"),
        "by_response_status": d.get("by_response_status"),
        "by_error": d.get("by_error"),
    }
    return Collected(value, [deliveries[-1].call_id])


def _collect_endpoint_response_times(src: Sources) -> Collected | Missing:
    deliveries = src.ok("logs_webhook_deliveries")
    if not deliveries:
        return Missing(src.why_not("logs_webhook_deliveries"))
    d = deliveries[-1].data
    value = {
        "endpoint_urls": d.get("endpoint_urls"),
        "response_ms": d.get("response_ms"),
        "history": (d.get("history") or [])[-24:],
        "platform": d.get("platform"),
    }
    return Collected(value, [deliveries[-1].call_id])


def _collect_sso_metadata(src: Sources) -> Collected | Missing:
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


def _collect_sso_failures(src: Sources) -> Collected | Missing:
    logins = src.ok("logs_sso_logins")
    if not logins:
        return Missing(src.why_not("logs_sso_logins"))
    d = logins[-1].data
    value = {
        "attempts": d.get("attempts"),
        "failures": d.get("failures"),
        "failing_since": d.get("failing_since"),
        "last_success": d.get("last_success"),
        "top_errors": d.get("top_errors"),
        "recent_failures": (d.get("recent_failures") or [])[:MAX_ROWS],
    }
    return Collected(value, [logins[-1].call_id])


def _collect_billing_status(src: Sources) -> Collected | Missing:
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


def _collect_related_bugs(src: Sources) -> Collected | Missing:
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


def _collect_similar_tickets(src: Sources) -> Collected | Missing:
    found = src.ok("tickets_similar")
    if not found:
        return Missing(src.why_not("tickets_similar"))
    tickets = [t for t in found[-1].data.get("tickets") or [] if isinstance(t, dict)]
    if not tickets:
        return Missing("no similar resolved ticket")
    keys = ("id", "external_id", "subject", "resolution", "article_url", "solved_at", "score")
    return Collected([{k: t.get(k) for k in keys} for t in tickets[:3]], [found[-1].call_id])


# --- fields read from the ticket or the account directory (sources "ticket" / "accounts")

_QUERYISH = re.compile(
    r"(?:\b(?:GET|POST|PUT|PATCH|DELETE)\s+\S+|/v\d+/\S+|\bSELECT\b.+\bFROM\b|\bfilter(?:ed|ing)? by\b|\bquery\b)",
    re.IGNORECASE,
)
_EXPECTATION = re.compile(
    r"\b(?:expected?|expecting|should (?:be|show|have|return)|actual(?:ly)?|instead|but (?:we|it|the) "
    r"(?:see|get|got|shows?|returns?)|shows? only|off by|doesn'?t match|does not match)\b",
    re.IGNORECASE,
)
_TIMEZONE = re.compile(
    r"\b(?:UTC|GMT)(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?\b|\b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b"
    r"|\b(?:PST|PDT|EST|EDT|CST|CDT|MST|MDT|CET|CEST|BST|IST|JST|AEST|AEDT)\b|\btime ?zones?\b",
)
_CONSOLE = re.compile(
    r"(?:\bUncaught\b|\b(?:TypeError|ReferenceError|SyntaxError|RangeError|ChunkLoadError)\b|\bconsole\b"
    r"|\bCORS\b|Failed to load resource|net::ERR_[A-Z_]+)",
)


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [" ".join(p.split()) for p in parts if p.strip()]


def _ticket_lines(src: Sources, pattern: re.Pattern[str], limit: int = 6) -> list[str]:
    if src.ticket is None:
        return []
    return [s[:300] for s in _sentences(src.ticket.full_text()) if pattern.search(s)][:limit]


def _collect_customer_query(src: Sources) -> Collected | Missing:
    lines = _ticket_lines(src, _QUERYISH)
    endpoints = list(src.signals.endpoints) if src.signals else []
    if not lines and not endpoints:
        return Missing("the ticket does not show the customer's query or request")
    return Collected({"endpoints": endpoints, "quoted": lines}, ["ticket"])


def _collect_expected_vs_actual(src: Sources) -> Collected | Missing:
    lines = _ticket_lines(src, _EXPECTATION)
    if not lines:
        return Missing("the ticket does not say what was expected and what was seen")
    return Collected(lines, ["ticket"])


def _collect_timezone(src: Sources) -> Collected | Missing:
    value: dict[str, Any] = {}
    sources: list[str] = []
    if src.account and src.account.get("timezone"):
        value["account_timezone"] = src.account["timezone"]
        sources.append("accounts")
    mentioned = _ticket_lines(src, _TIMEZONE, limit=3)
    if mentioned:
        value["mentioned_in_ticket"] = mentioned
        sources.append("ticket")
    if not value:
        return Missing("no timezone in the account directory or the ticket")
    return Collected(value, sources)


def _collect_browser(src: Sources) -> Collected | Missing:
    browsers = list(src.signals.browsers) if src.signals else []
    if not browsers:
        return Missing("the ticket names no browser and version")
    return Collected(browsers, ["ticket"])


def _collect_console_errors(src: Sources) -> Collected | Missing:
    lines = _ticket_lines(src, _CONSOLE)
    if not lines:
        return Missing("the ticket quotes no console errors")
    return Collected(lines, ["ticket"])


# ---------------------------------------------------------------- fillers


def _window(ctx: FillContext, days_before: int = 0) -> dict[str, str]:
    start = ctx.start - timedelta(days=days_before)
    return {"start": iso(start), "end": iso(ctx.end)}


def _needs_account(build: Callable[[FillContext, str], tuple[str, dict[str, Any]]]) -> Filler:
    def filler(ctx: FillContext) -> tuple[str, dict[str, Any]] | None:
        return build(ctx, ctx.account_id) if ctx.account_id else None

    return filler


def _recent_failing(ctx: FillContext, account_id: str) -> tuple[str, dict[str, Any]]:
    """The account's recent requests, narrowed to the status the error summary says fails most."""
    args: dict[str, Any] = {"account_id": account_id, "limit": 50}
    for outcome in reversed(ctx.sources.ok("logs_error_summary")):
        spike = outcome.data.get("spike") or {}
        statuses = [s for s in outcome.data.get("by_status") or [] if isinstance(s, dict) and s.get("count")]
        status = spike.get("status") or (
            max(statuses, key=lambda s: s["count"])["status"] if statuses else None
        )
        if status:
            args["status"] = int(status)
            break
    return "logs_recent_requests", args


def _retry_log(ctx: FillContext, account_id: str) -> tuple[str, dict[str, Any]] | None:
    if not _ACCOUNT_ID.match(account_id):  # it is interpolated into SQL: ids only
        return None
    w = _window(ctx, days_before=1)
    sql = (
        "SELECT ts, delivery_id, event_type, endpoint_url, attempt, response_status, response_ms, error "
        f"FROM webhook_deliveries WHERE account_id = '{account_id}' "
        f"AND ts >= parseDateTime64BestEffort('{w['start']}') AND ts < parseDateTime64BestEffort('{w['end']}') "
        "AND (response_status < 200 OR response_status >= 300 OR error != '') "
        "ORDER BY ts DESC LIMIT 20"
    )
    return "logs_sql", {"sql": sql}


def _similar(ctx: FillContext) -> tuple[str, dict[str, Any]] | None:
    ticket = ctx.sources.ticket
    if ticket is None:
        return None
    text = f"{ticket.subject}\n{ticket.body}".strip()[:2000]
    return "tickets_similar", {"text": text, "limit": 3}


def _bugs(ctx: FillContext) -> tuple[str, dict[str, Any]] | None:
    ticket = ctx.sources.ticket
    query = (ticket.subject if ticket else "").strip()[:200]
    return ("bugs_search", {"query": query}) if len(query) >= 2 else None


FIELDS: dict[str, FieldSpec] = {
    "failing_requests": FieldSpec(
        "Failing requests (full headers)",
        "the account's recent failing API calls with request/response headers (logs_recent_requests)",
        _collect_failing_requests,
        _needs_account(_recent_failing),
    ),
    "api_key_hash": FieldSpec(
        "API key hash",
        "hash of the API key the failing calls used (logs_recent_requests)",
        _collect_api_key_hash,
        _needs_account(_recent_failing),
    ),
    "error_summary": FieldSpec(
        "Error rate and spike",
        "error rate vs baseline, spike start, top endpoints and error codes (logs_error_summary)",
        _collect_error_summary,
        _needs_account(lambda c, a: ("logs_error_summary", {"account_id": a, **_window(c)})),
    ),
    "deploys": FieldSpec(
        "Deploys around the incident",
        "production deployments in the window and the suspect compare (deploys_list, deploys_compare)",
        _collect_deploys,
        lambda c: ("deploys_list", _window(c, days_before=2)),
    ),
    "trace_ids": FieldSpec(
        "Trace ids",
        "trace ids of the slowest or failing requests (logs_latency, logs_recent_requests)",
        _collect_trace_ids,
        _needs_account(lambda c, a: ("logs_latency", {"account_id": a, **_window(c)})),
    ),
    "latency": FieldSpec(
        "Latency vs baseline",
        "p50/p95/p99 against the baseline, per endpoint (logs_latency)",
        _collect_latency,
        _needs_account(lambda c, a: ("logs_latency", {"account_id": a, **_window(c)})),
    ),
    "affected_accounts": FieldSpec(
        "Accounts affected (p95 up against their baseline)",
        "how many accounts' p95 rose past the threshold and by how much, platform-wide, without names "
        "(logs_latency with account_id null)",
        _collect_affected_accounts,
        lambda c: ("logs_latency", {"account_id": None, **_window(c)}),
    ),
    "webhook_retry_log": FieldSpec(
        "Webhook retry log",
        "failed delivery attempts with attempt numbers, statuses and errors (logs_sql, logs_webhook_deliveries)",
        _collect_webhook_retry_log,
        _needs_account(_retry_log),  # type: ignore[arg-type]
    ),
    "endpoint_response_times": FieldSpec(
        "Endpoint response-time history",
        "the customer endpoint's response times per hour and the platform's failure rate (logs_webhook_deliveries)",
        _collect_endpoint_response_times,
        _needs_account(
            lambda c, a: ("logs_webhook_deliveries", {"account_id": a, **_window(c, days_before=1)})
        ),
    ),
    "sso_metadata": FieldSpec(
        "IdP metadata and certificates",
        "the IdP's metadata: certificates, validity, diff against the last working snapshot (sso_check)",
        _collect_sso_metadata,
        _needs_account(lambda c, a: ("sso_check", {"account_id": a})),
    ),
    "sso_failures": FieldSpec(
        "SSO login failures",
        "failing and last successful SSO logins (logs_sso_logins)",
        _collect_sso_failures,
        _needs_account(lambda c, a: ("logs_sso_logins", {"account_id": a, **_window(c, days_before=2)})),
    ),
    "billing_status": FieldSpec(
        "Billing status",
        "subscription, open invoices, payment failures, standing (billing_account)",
        _collect_billing_status,
        _needs_account(lambda c, a: ("billing_account", {"account_id": a})),
    ),
    "related_bugs": FieldSpec(
        "Related bugs",
        "Linear issues found during the investigation (bugs_search, bugs_issue)",
        _collect_related_bugs,
        _bugs,
    ),
    "similar_tickets": FieldSpec(
        "Similar resolved tickets",
        "the three most similar resolved helpdesk tickets and their resolutions (tickets_similar)",
        _collect_similar_tickets,
        _similar,
    ),
    "customer_query": FieldSpec(
        "Customer's query",
        "the request or query the customer ran, as quoted in the ticket",
        _collect_customer_query,
    ),
    "expected_vs_actual": FieldSpec(
        "Expected vs actual",
        "what the customer expected and what they saw, as the ticket says",
        _collect_expected_vs_actual,
    ),
    "timezone": FieldSpec(
        "Timezone",
        "the account's timezone (account directory) and any the ticket mentions",
        _collect_timezone,
    ),
    "browser": FieldSpec("Browser and version", "browsers named in the ticket (signals)", _collect_browser),
    "console_errors": FieldSpec(
        "Console errors", "browser console errors quoted in the ticket", _collect_console_errors
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


# ---------------------------------------------------------------- Markdown


def _code(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=1, ensure_ascii=False, default=str) + "\n```"


def _similar_md(value: list[dict[str, Any]]) -> str:
    lines = []
    for i, t in enumerate(value, 1):
        article = f" — article: {t['article_url']}" if t.get("article_url") else ""
        ref = f"#{t.get('id')}" + (f" ({t['external_id']})" if t.get("external_id") else "")
        lines.append(f"{i}. **{ref}** {t.get('subject', '')}{article}")
        if t.get("resolution"):
            lines.append(f"   Resolution: {' '.join(str(t['resolution']).split())[:500]}")
    return "\n".join(lines)


def render_markdown(packet: Packet) -> str:
    """The packet as Markdown, ready to paste into Slack or a Linear issue."""
    who = packet.account_name or packet.account_id or "unknown account"
    queue = f", queue `{packet.queue}`" if packet.queue else ""
    out = [
        f"### Escalation → {packet.team_name} (`{packet.channel}`{queue})",
        f"**Ticket** {packet.ticket_id} · **Account** {who}"
        + (f" (`{packet.account_id}`)" if packet.account_name and packet.account_id else ""),
        f"**Why escalated:** {packet.reason}",
    ]
    if packet.trigger:
        out.append(f"**Trigger rule:** `{packet.trigger}`")
    out += [f"- {line}" for line in packet.why]
    rc = packet.root_cause
    out += [
        "",
        f"**Diagnosis** (confidence {packet.confidence:.2f}): [{rc.get('category')}] {rc.get('statement')}",
        f"_{packet.summary}_",
    ]
    if packet.evidence:
        out += ["", "**Evidence** (each value checked against the cited tool result)"]
        out += [
            f"- `{e.get('call_id')}` {e.get('tool')}: {e.get('claim')} — `{e.get('value')}`"
            for e in packet.evidence
        ]
    for f in packet.fields:
        out += ["", f"**{f.label}** _(from {', '.join(f.sources)})_"]
        out.append(_similar_md(f.value) if f.name == "similar_tickets" else _code(f.value))
    if packet.missing:
        out += ["", "**Could not collect**"]
        out += [f"- {m}" for m in packet.missing]
    if packet.calls:
        calls = ", ".join(f"`{c.call_id}` {c.tool}{'' if c.ok else ' (failed)'}" for c in packet.calls)
        out += ["", f"**Tool calls:** {calls}"]
    return "\n".join(out)
