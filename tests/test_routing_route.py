"""route(), end to end: evidence over the ticket's words, triggers over a confident resolution, and
the facts routing collects itself through the toolbox (audited as routing's calls)."""

from __future__ import annotations

from typing import Any

import pytest
from test_routing import BILLING_PAST_DUE, CONFIG, NOW, WEBHOOK_CUSTOMER, diag, sig, tkt

from casefile.agent.ledger import CallLedger
from casefile.agent.routing import route
from casefile.tools.base import CallContext, Connector, Toolbox, ToolOutcome, operation
from casefile.tools.billing import BillingAccountArgs
from casefile.tools.logs.args import LatencyArgs
from casefile.tools.tickets import TicketsSimilarArgs


async def test_words_say_rate_limit_but_evidence_says_billing() -> None:
    """The customer blames our rate limit; billing is past due. The evidence wins and the packet says why."""
    ticket = tkt("We keep hitting your rate limit, 429 Too Many Requests on every call", "rate limit")
    signals = sig(statuses=[429], areas=["api"])
    d = diag("rate_limit", "escalate", 0.5, team="backend")
    routed = await route(
        d, CallLedger.of([BILLING_PAST_DUE], NOW), ticket=ticket, signals=signals, config=CONFIG
    )
    assert routed.action == "escalate" and routed.escalation is not None
    assert routed.escalation.team == "billing"
    packet = routed.escalation.packet
    assert packet["routed_by"] == "evidence"
    why = " ".join(packet["why"])
    assert "billing_not_in_good_standing" in why and "(b1)" in why
    assert "ticket's words point to api-errors" in why
    assert "named backend" in why
    assert "Billing" in routed.escalation.packet_markdown and "rate limit" not in routed.escalation.reason


async def test_resolved_diagnosis_has_no_escalation() -> None:
    d = diag("billing_past_due", "resolve", 0.9, team="billing")
    routed = await route(
        d, CallLedger.of([BILLING_PAST_DUE], NOW), ticket=tkt("invoice?"), signals=sig(), config=CONFIG
    )
    assert routed.action == "resolve" and routed.escalation is None


async def test_trigger_overrides_a_confident_resolution_and_is_recorded() -> None:
    d = diag("webhook_customer_endpoint", "resolve", 0.9)
    ticket = tkt("Webhooks stopped. Also: I want to report a security vulnerability in your dashboard")
    routed = await route(
        d,
        CallLedger.of([WEBHOOK_CUSTOMER], NOW),
        ticket=ticket,
        signals=sig(areas=["webhook"]),
        config=CONFIG,
    )
    assert routed.action == "escalate" and routed.escalation is not None
    assert routed.escalation.team == "security"
    assert routed.escalation.trigger == "security-report"
    # The reason is for the agent: the rule's description and the words that fired it, not its id.
    assert routed.escalation.reason == (
        "A security issue reported by a customer: the ticket mentions 'security vulnerability'"
        " and 'vulnerability'"
    )


# --- a fake toolbox: routing collects through it, audited


class FakeSystems(Connector):
    """Canned answers for the tools routing calls, whose arguments the real tools' models check; records every call."""

    source = "fake"

    def __init__(self, billing: dict[str, Any], platform_accounts: int) -> None:
        self.billing = billing
        self.platform_accounts = platform_accounts
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @operation("billing_account", BillingAccountArgs)
    async def billing_account(self, args: BillingAccountArgs, ctx: CallContext) -> dict[str, Any]:
        self.calls.append(("billing_account", args.model_dump(exclude_none=True)))
        return self.billing

    @operation("logs_latency", LatencyArgs)
    async def logs_latency(self, args: LatencyArgs, ctx: CallContext) -> dict[str, Any]:
        self.calls.append(("logs_latency", args.model_dump(exclude_none=True)))
        if args.account_id is None:
            return {
                "scope": "all",
                "p95_ms": 800,
                "baseline": {"p95_ms": 200},
                "accounts_compared": self.platform_accounts + 2,
                "p95_ratios": [3.0] * self.platform_accounts + [1.0, 1.0],
                "slowest": [],
            }
        return {
            "scope": "account",
            "p95_ms": 800,
            "baseline": {"p95_ms": 200},
            "by_endpoint": [],
            "slowest": [
                {"trace_id": "tr-123", "ts": "2026-11-20T10:00:00Z", "path": "/v2/orders", "latency_ms": 2500}
            ],
        }

    @operation("tickets_similar", TicketsSimilarArgs)
    async def tickets_similar(self, args: TicketsSimilarArgs, ctx: CallContext) -> dict[str, Any]:
        self.calls.append(("tickets_similar", args.model_dump(exclude_none=True)))
        return {
            "tickets": [{"id": 7, "subject": "slow dashboard", "resolution": "index added", "score": 2.0}]
        }


@pytest.mark.parametrize(("platform_accounts", "team"), [(6, "sre"), (0, "backend")])
async def test_slowness_goes_to_sre_when_widespread_else_backend(platform_accounts: int, team: str) -> None:
    systems = FakeSystems({"in_good_standing": True}, platform_accounts)
    toolbox = Toolbox([systems])
    outcomes: list[ToolOutcome] = []
    d = diag("insufficient_evidence", "escalate", 0.3)
    ticket = tkt("the dashboard and API are really slow today")
    routed = await route(
        d,
        CallLedger(toolbox, CallContext.for_account("acme", now=NOW), budget=30, record=outcomes),
        ticket=ticket,
        signals=sig(areas=["performance"]),
        config=CONFIG,
    )
    assert routed.escalation is not None and routed.escalation.team == team
    assert any(t == "logs_latency" and "account_id" not in a for t, a in systems.calls)  # the platform view
    packet = routed.escalation.packet
    names = {f["name"] for f in packet["fields"]}
    assert {"affected_accounts", "similar_tickets"} <= names
    trace = next(f for f in packet["fields"] if f["name"] == "trace_ids")
    assert trace["value"][0]["trace_id"] == "tr-123"
    # Every call routing made is in the outcomes (the audit log), labelled as routing's.
    assert outcomes and all(o.origin == "routing" for o in outcomes)
    assert {f["sources"][0] for f in packet["fields"]} <= {o.call_id for o in outcomes}


async def test_routing_checks_the_silencing_evidence_before_firing() -> None:
    """'Is your API down?' would page SRE; routing first asks billing, which explains it."""
    systems = FakeSystems({"in_good_standing": False, "standing_reasons": ["past_due"]}, 0)
    outcomes: list[ToolOutcome] = []
    d = diag("billing_past_due", "resolve", 0.9)
    routed = await route(
        d,
        CallLedger(Toolbox([systems]), CallContext.for_account("acme", now=NOW), budget=30, record=outcomes),
        ticket=tkt("can't create orders, is your API down?"),
        signals=sig(),
        config=CONFIG,
    )
    assert ("billing_account", {"account_id": "acme"}) in systems.calls
    assert routed.action == "resolve"
