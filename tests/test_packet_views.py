"""The packet shows parts of results through the connectors' typed views (``tools/*_results.py``);
read from the demo world's real connector output, each part a packet shows whole must come out of
its view exactly as the connector sent it: every key, the same order, the same JSON types. A view
that drops a field, reorders fields (a shared base class puts its fields first) or turns 40 into
40.0 changes the packet people read, and fails here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from casefile.agent.packet.fill import retry_log
from casefile.agent.packet.sources import FillContext, Sources
from casefile.agent.pipeline import Environment
from casefile.tools.base import CallContext, ToolCall, ToolOutcome, parse_ts
from casefile.tools.billing_results import BillingAccount
from casefile.tools.logs_results import (
    ErrorSummary,
    Latency,
    RecentRequests,
    SqlResult,
    SsoLogins,
    WebhookDeliveries,
)
from casefile.tools.sso_results import SsoCheck

# tool → (its view, the parts of its result a packet field shows whole)
SHOWN: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {
    "logs_error_summary": (
        ErrorSummary,
        ("window", "spike", "by_status", "top_endpoints", "top_error_codes"),
    ),
    "logs_latency": (Latency, ("baseline", "by_endpoint", "slowest")),
    "logs_webhook_deliveries": (
        WebhookDeliveries,
        (
            "last_success",
            "by_response_status",
            "by_error",
            "endpoint_urls",
            "response_ms",
            "history",
            "platform",
        ),
    ),
    "logs_sso_logins": (SsoLogins, ("last_success", "top_errors", "recent_failures")),
    "sso_check": (SsoCheck, ("certificates", "diff_vs_last_working", "problems")),
    "billing_account": (BillingAccount, ("customer", "open_invoices", "recent_payment_failures")),
    "logs_sql": (SqlResult, ("columns", "rows", "row_count")),
    "logs_recent_requests": (RecentRequests, ("requests",)),
}
# Calls as the packet's fillers make them, on demo accounts whose results hold every part above.
CALLS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("hooli", "2026-11-19T09:30:00Z", "logs_error_summary", {"start": "2026-11-17T00:00:00Z"}),
    ("hooli", "2026-11-19T09:30:00Z", "logs_latency", {"start": "2026-11-17T00:00:00Z"}),
    ("hooli", "2026-11-19T09:30:00Z", "logs_latency", {"start": "2026-11-17T00:00:00Z", "account_id": None}),
    ("hooli", "2026-11-19T09:30:00Z", "logs_recent_requests", {"limit": 20}),
    ("initech", "2026-11-20T09:05:00Z", "logs_sso_logins", {"start": "2026-11-18T00:00:00Z"}),
    ("initech", "2026-11-20T09:05:00Z", "sso_check", {}),
    ("umbrella", "2026-11-20T14:30:00Z", "logs_webhook_deliveries", {"start": "2026-11-18T18:00:00Z"}),
    ("globex", "2026-11-20T10:15:00Z", "billing_account", {}),
]


def _differences(raw: Any, shown: Any, path: str) -> list[str]:
    if isinstance(raw, dict) and isinstance(shown, dict):
        if list(raw) != list(shown):
            return [f"{path}: keys {list(raw)} shown as {list(shown)}"]
        return [d for k in raw for d in _differences(raw[k], shown[k], f"{path}.{k}")]
    if isinstance(raw, list) and isinstance(shown, list) and len(raw) == len(shown):
        return [
            d
            for i, (a, b) in enumerate(zip(raw, shown, strict=True))
            for d in _differences(a, b, f"{path}[{i}]")
        ]
    if raw != shown or type(raw) is not type(shown):
        return [f"{path}: {raw!r} shown as {shown!r}"]
    return []


async def _outcomes(env: Environment) -> list[ToolOutcome]:
    directory = env.directory.as_mapping() if env.directory else {}
    outcomes = []
    for i, (account, now, tool, extra) in enumerate(CALLS):
        at = parse_ts(now)
        arguments = {"account_id": account, **({"end": now} if "start" in extra else {}), **extra}
        if tool == "logs_webhook_deliveries":  # and the retry log routing's filler reads beside it
            ctx = FillContext(account, parse_ts(extra["start"]) or at, at or datetime.now(UTC), Sources([]))
            sql = retry_log(ctx, account)
            assert sql is not None
            calls = [ToolCall(id=f"r{i}", tool=sql[0], arguments=sql[1])]
        else:
            calls = []
        for call in [ToolCall(id=f"v{i}", tool=tool, arguments=arguments), *calls]:
            context = CallContext.for_account(account, directory, now=at)
            outcomes.append(await env.toolbox.execute(call, context))
    return outcomes


async def test_the_parts_a_packet_shows_come_out_of_their_views_as_the_connector_sent_them(
    env: Environment,
) -> None:
    outcomes = await _outcomes(env)
    seen: set[str] = set()
    problems: list[str] = []
    for outcome in outcomes:
        if not outcome.ok or outcome.tool not in SHOWN:
            continue
        view, parts = SHOWN[outcome.tool]
        assert isinstance(outcome.data, dict)
        shown = outcome.view(view).model_dump(mode="json", exclude_unset=True)
        for part in parts:
            if part in outcome.data:
                seen.add(f"{outcome.tool}.{part}")
                problems += _differences(outcome.data[part], shown.get(part), f"{outcome.tool}.{part}")
    assert problems == []
    # Every part was read from a real result with something in it (the check ran on data).
    assert seen == {f"{tool}.{part}" for tool, (_, parts) in SHOWN.items() for part in parts}


def test_the_check_notices_order_type_and_lost_keys() -> None:
    raw = {"path": "/v1/a", "requests": 40, "p95_ms": 10.0}
    assert _differences(raw, {"requests": 40, "path": "/v1/a", "p95_ms": 10.0}, "x")  # reordered
    assert _differences(raw, {"path": "/v1/a", "requests": 40.0, "p95_ms": 10.0}, "x")  # 40 → 40.0
    assert _differences(raw, {"path": "/v1/a", "requests": 40}, "x")  # a key lost
    assert _differences(raw, dict(raw), "x") == []
