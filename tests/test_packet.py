"""The escalation packet: every field traced to the tool results it came from; what is missing says why."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from outcomes import tool_outcome

from casefile.agent.ledger import CallLedger
from casefile.agent.packet import (
    FIELDS,
    FillContext,
    Packet,
    PacketField,
    Sources,
    build_fields,
    fill_calls,
    render_markdown,
)
from casefile.agent.routing import load_routing, route
from casefile.agent.ticket import Signals, Ticket
from casefile.tools.base import ToolOutcome
from casefile.tools.sqlguard import guard_sql

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def out(call_id: str, tool: str, data: Any, arguments: dict[str, Any] | None = None) -> ToolOutcome:
    return tool_outcome(call_id, tool, data, arguments=arguments, at=NOW)


def failed(call_id: str, tool: str, error: str) -> ToolOutcome:
    return tool_outcome(call_id, tool, ok=False, error=error, error_kind="timeout", at=NOW)


HEADERS_REQ = json.dumps({"user-agent": "hooli-sync/5.0.3", "authorization": "Bearer [REDACTED]"})
HEADERS_RESP = json.dumps({"x-request-id": "req_1", "x-ratelimit-remaining": "2944"})
OUTCOMES = [
    out(
        "c1",
        "logs_recent_requests",
        {
            "account_id": "hooli",
            "requests": [
                {
                    "ts": "2026-11-19T09:19:13Z",
                    "method": "GET",
                    "path": "/v2/orders/export",
                    "status": 500,
                    "error_code": "internal_error",
                    "latency_ms": 386.6,
                    "request_id": "req_1",
                    "trace_id": "tr_1",
                    "api_key_hash": "kh_7575",
                    "request_headers": HEADERS_REQ,
                    "response_headers": HEADERS_RESP,
                },
                {
                    "ts": "2026-11-19T09:18:00Z",
                    "method": "GET",
                    "path": "/v2/orders",
                    "status": 200,
                    "error_code": "",
                    "latency_ms": 40.0,
                    "request_id": "req_0",
                    "trace_id": "tr_0",
                    "api_key_hash": "kh_0000",
                    "request_headers": "{}",
                    "response_headers": "{}",
                },
            ],
            "status_counts": {"200": 1, "500": 1},
        },
    ),
    out(
        "c2",
        "logs_error_summary",
        {
            "window": {"start": "a", "end": "b"},
            "requests": 3214,
            "errors": 193,
            "error_rate": 0.06,
            "baseline": {"error_rate": 0.0192},
            "spike": {"start": "2026-11-18T14:15:00Z", "status": 500},
            "by_status": [{"status": 500, "count": 132}],
            "top_endpoints": [{"path": "/v2/orders/export"}],
            "top_error_codes": [{"error_code": "internal_error", "count": 132}],
        },
    ),
    out(
        "c3",
        "deploys_list",
        {
            "deployments": [
                {
                    "repo": "relayhq/api",
                    "ref": "v2.40.3",
                    "sha": "7dec52f",
                    "environment": "production",
                    "created_at": "2026-11-18T14:02:00Z",
                    "creator": "bot",
                    "status": "success",
                }
            ]
        },
    ),
    out(
        "c4",
        "deploys_compare",
        {
            "repo": "relayhq/api",
            "base": "3574d44",
            "head": "7dec52f",
            "html_url": "u",
            "files": [{"filename": "src/orders/export.py"}],
            "commits": [{"sha": "7dec52f", "message": "export: stream rows"}],
        },
    ),
    out(
        "c5",
        "logs_latency",
        {
            "scope": "account",
            "p50_ms": 40.0,
            "p95_ms": 900.0,
            "p99_ms": 1500.0,
            "baseline": {"p95_ms": 200.0},
            "by_endpoint": [],
            "slowest": [{"ts": "t", "trace_id": "tr_slow", "path": "/v2/orders", "latency_ms": 2500.0}],
        },
    ),
    out(
        "c6",
        "logs_latency",
        {
            "scope": "all",
            "accounts_compared": 2,
            "p95_ratios": [3.1, 1.1],
        },
    ),
    out(
        "c7",
        "logs_webhook_deliveries",
        {
            "attempts": 120,
            "failures": 110,
            "failure_rate": 0.9167,
            "failing_since": "2026-11-19T22:10:00Z",
            "last_success": None,
            "by_response_status": [{"status": 503, "count": 60}],
            "by_error": [{"error": "timeout", "count": 50}],
            "endpoint_urls": ["https://hooks.umbrella-health.com/relay"],
            "response_ms": {"p50": 10000.0, "p95": 10000.0, "max": 10000.0},
            "history": [{"hour": "2026-11-19T22:00:00Z", "attempts": 5, "failures": 5, "p95_ms": 10000.0}],
            "platform": {"attempts": 9000, "failures": 30, "failure_rate": 0.0033},
        },
    ),
    out(
        "c8",
        "logs_sql",
        {
            "sql": "SELECT ts, delivery_id, attempt FROM db.webhook_deliveries WHERE account_id = 'umbrella'",
            "columns": ["ts", "delivery_id", "attempt", "response_status", "error"],
            "rows": [["2026-11-19T22:10:01Z", "dl_1", 3, 0, "timeout"]],
            "row_count": 1,
        },
        {"sql": "SELECT ts, delivery_id, attempt FROM webhook_deliveries WHERE account_id = 'umbrella'"},
    ),
    out(
        "c9",
        "sso_check",
        {
            "vendor": "okta",
            "entity_id": "http://www.okta.com/exk1",
            "signing_cert_expired": True,
            "certificates": [{"use": "signing", "not_after": "2026-11-19T23:59:59Z", "expired": True}],
            "problems": ["signing certificate expired"],
        },
    ),
    out(
        "c10",
        "logs_sso_logins",
        {
            "attempts": 50,
            "failures": 44,
            "failing_since": "2026-11-20T06:48:00Z",
            "last_success": {"ts": "2026-11-20T06:40:00Z"},
            "top_errors": [{"error": "Signature validation failed", "count": 44}],
            "recent_failures": [],
        },
    ),
    out(
        "c11",
        "billing_account",
        {
            "customer": {"id": "cus_G"},
            "in_good_standing": False,
            "standing_reasons": ["past_due"],
            "subscriptions": [{"id": "sub_G", "status": "past_due", "plan": {"product": "Growth"}}],
            "open_invoices": [{"id": "in_1", "attempt_count": 3}],
            "recent_payment_failures": [],
        },
    ),
    out(
        "c12",
        "bugs_search",
        {
            "issues": [
                {
                    "identifier": "REL-482",
                    "title": "Gateway",
                    "state": "In Progress",
                    "url": "https://linear.app/x",
                    "workaround": "retry",
                    "eta": "2026-11-21",
                }
            ]
        },
    ),
    out(
        "c13",
        "tickets_similar",
        {
            "tickets": [
                {
                    "id": 887,
                    "external_id": "H-887",
                    "subject": "429 nightly sync",
                    "resolution": "upgraded plan",
                    "article_url": "https://help/a",
                    "solved_at": "2026-08-13T09:40:00Z",
                    "score": 3.2,
                }
            ]
        },
    ),
]
TICKET = Ticket(
    id="T-9",
    subject="Totals don't match in Safari",
    body=(
        "We ran GET /v2/orders?created_after=2026-11-01 and expected 120 orders but the dashboard shows 118. "
        "Our team is in America/New_York. In Safari 17.2 the console says: Uncaught TypeError: x is undefined."
    ),
    created_at=NOW,
)
SIGNALS = Signals(
    window_start=NOW - timedelta(hours=12),
    window_end=NOW,
    account_id="acme",
    endpoints=["/v2/orders"],
    browsers=["Safari 17.2"],
    areas=["data", "ui"],
)
ACCOUNT = {"id": "acme", "name": "Acme Logistics", "timezone": "America/Chicago"}


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


def test_every_field_is_collected_and_traced_to_its_source() -> None:
    src = Sources(OUTCOMES, TICKET, SIGNALS, ACCOUNT, {"latency_ratio": 1.5})
    fields, missing = build_fields(list(FIELDS), src)
    assert missing == []
    assert {f.name for f in fields} == set(FIELDS)
    by_id = {o.call_id: o for o in OUTCOMES}
    ticket_text = TICKET.full_text() + " " + " ".join(SIGNALS.browsers + SIGNALS.endpoints)
    for f in fields:
        assert f.sources, f.name
        haystack = ""
        for source in f.sources:
            if source == "ticket":
                haystack += ticket_text
            elif source == "accounts":
                haystack += json.dumps(ACCOUNT)
            else:
                assert source in by_id, f"{f.name} cites unknown call {source}"
                haystack += json.dumps(by_id[source].data)
        for leaf in _leaves(f.value):
            # Numbers may be re-typed (3 → "3"); every value must occur in what it cites.
            assert leaf in haystack or leaf.strip('"') in haystack, f"{f.name}: {leaf!r} not in {f.sources}"


def test_failing_requests_carry_full_headers_and_only_failures() -> None:
    fields, _ = build_fields(["failing_requests", "api_key_hash"], Sources(OUTCOMES))
    failing = fields[0].value
    assert [r["request_id"] for r in failing] == ["req_1"]
    assert failing[0]["request_headers"]["user-agent"] == "hooli-sync/5.0.3"
    assert failing[0]["response_headers"]["x-ratelimit-remaining"] == "2944"
    assert fields[1].value == ["kh_7575"]


def test_affected_accounts_apply_the_ratio_threshold() -> None:
    fields, _ = build_fields(["affected_accounts"], Sources(OUTCOMES, thresholds={"latency_ratio": 1.5}))
    assert fields[0].value == {"slower": 1, "compared": 2, "p95_ratios": [3.1]}


@pytest.mark.parametrize(
    ("outcomes", "field", "reason"),
    [
        ([], "failing_requests", "logs_recent_requests was not called"),
        (
            [failed("c1", "logs_recent_requests", "no answer within 30 s")],
            "failing_requests",
            "logs unavailable: no answer within 30 s",
        ),
        (
            [out("c1", "logs_recent_requests", {"requests": [{"status": 200, "request_id": "r"}]})],
            "failing_requests",
            "no failing request among the 1",
        ),
        ([], "webhook_retry_log", "logs_webhook_deliveries was not called"),
        ([failed("c1", "billing_account", "timeout")], "billing_status", "billing unavailable: timeout"),
        ([], "similar_tickets", "tickets_similar was not called"),
        ([out("c1", "tickets_similar", {"tickets": []})], "similar_tickets", "no similar resolved ticket"),
        ([], "browser", "names no browser"),
        ([], "affected_accounts", "whole platform"),
    ],
)
def test_missing_fields_say_why(outcomes: list[ToolOutcome], field: str, reason: str) -> None:
    fields, missing = build_fields([field], Sources(outcomes, Ticket(id="t", body="help", created_at=NOW)))
    assert fields == []
    assert len(missing) == 1 and reason in missing[0] and FIELDS[field].label in missing[0]


def test_fillers_build_valid_calls_for_missing_fields_only() -> None:
    src = Sources([OUTCOMES[1]], TICKET, SIGNALS, ACCOUNT)
    ctx = FillContext("umbrella", NOW - timedelta(hours=6), NOW, src)
    calls = dict(
        fill_calls(
            ["failing_requests", "error_summary", "webhook_retry_log", "similar_tickets"], ctx, lambda t: True
        )
    )
    assert "logs_error_summary" not in calls  # already collected
    assert calls["logs_recent_requests"] == {"account_id": "umbrella", "limit": 50, "status": 500}
    assert calls["tickets_similar"]["limit"] == 3 and "Safari" in calls["tickets_similar"]["text"]
    # The retry-log SQL passes the read-only guard as it is.
    guard_sql(calls["logs_sql"]["sql"], allowed_tables=["webhook_deliveries"], database="db", max_rows=100)
    # Account ids are interpolated into SQL: anything but an id gets no call.
    hostile = FillContext("x' OR 1=1 --", NOW - timedelta(hours=6), NOW, src)
    assert fill_calls(["webhook_retry_log"], hostile, lambda t: True) == []
    assert fill_calls(["similar_tickets"], ctx, lambda t: t != "tickets_similar") == []


async def test_packet_from_route_renders_markdown_and_json() -> None:
    config = load_routing()
    ticket = Ticket(
        id="T-5", subject="export returns 500", body="GET /v2/orders/export returns 500", created_at=NOW
    )
    signals = Signals(
        window_start=NOW - timedelta(days=1), window_end=NOW, account_id="hooli", statuses=[500]
    )
    from casefile.agent.diagnosis import Diagnosis

    diagnosis = Diagnosis.model_validate(
        {
            "ticket_id": "T-5",
            "summary": "Errors after deploy v2.40.3",
            "root_cause": {"category": "deploy_regression", "statement": "v2.40.3 broke export"},
            "evidence": [
                {"call_id": "c2", "tool": "logs_error_summary", "value": "2026-11-18T14:15:00Z", "claim": "c"}
            ],
            "confidence": {"score": 0.8},
            "customer_reply": "r",
            "action": "escalate",
            "account_id": "hooli",
            "unavailable_sources": [{"source": "tickets", "reason": "not configured"}],
        }
    )
    routed = await route(
        diagnosis, CallLedger.of(list(OUTCOMES[:4]), NOW), ticket=ticket, signals=signals, config=config
    )
    escalation = routed.escalation
    assert escalation is not None and escalation.team == "backend" and escalation.trigger == "http-5xx"
    packet = Packet.model_validate(escalation.packet)
    assert packet.field("failing_requests") is not None and packet.field("deploys") is not None
    assert any("Trace ids" not in m for m in packet.missing)
    assert any(
        m.startswith("Similar resolved tickets: tickets_similar was not called") for m in packet.missing
    )
    assert {c.call_id for c in packet.calls} == {"c1", "c2", "c3", "c4"}
    md = escalation.packet_markdown
    assert md == render_markdown(packet)
    assert md.startswith("### Escalation → Backend (`#eng-backend`, queue `BE`)")
    assert "**Trigger rule:** `http-5xx`" in md and "**Could not collect**" in md
    assert '"user-agent": "hooli-sync/5.0.3"' in md and "_(from c1)_" in md
    assert json.loads(packet.model_dump_json())["team"] == "backend"
    # The investigation's typed views read the same packet and decision, never by key.
    from casefile.agent.investigation import Investigation

    investigation = Investigation(routed, signals, [], list(OUTCOMES[:4]))
    assert investigation.packet == packet
    assert (investigation.decision.action, investigation.decision.team, investigation.decision.trigger) == (
        "escalate",
        "backend",
        "http-5xx",
    )
    assert investigation.unavailable_sources[0].source == "tickets"


def packet_of(fields: list[PacketField]) -> Packet:
    """A packet holding ``fields``, its other parts as routing fills them."""
    return Packet(
        ticket_id="T",
        team="backend",
        team_name="Backend",
        channel="#b",
        reason="r",
        routed_by="evidence",
        summary="s",
        root_cause={"category": "known_bug", "statement": "x"},
        confidence=0.5,
        fields=fields,
    )


def test_similar_tickets_render_with_resolution_and_article() -> None:
    fields, _ = build_fields(["similar_tickets"], Sources(OUTCOMES))
    md = render_markdown(packet_of(fields))
    assert "**#887 (H-887)** 429 nightly sync — article: https://help/a" in md
    assert "Resolution: upgraded plan" in md
