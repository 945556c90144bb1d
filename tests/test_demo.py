"""The spine end to end on the demo world: each example ticket to its diagnosis, offline."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from casefile.agent.config import load_settings
from casefile.agent.intake import load_ticket
from casefile.agent.investigation import Investigation
from casefile.agent.pipeline import Environment, run_investigation
from casefile.agent.ticket import Requester, Ticket
from casefile.tools import retry as tools_retry
from casefile.tools.shapes import result_shapes, shape_of, undeclared

ROOT = Path(__file__).resolve().parent.parent
TICKETS = ROOT / "examples" / "tickets"

EXPECTED: dict[str, dict[str, Any]] = {
    "429-spike.json": {
        "category": "known_bug",
        "action": "resolve",
        "cite": ["2026-11-20T08:12:05", "c72d4320384f7a5320d7415ef5f0ae61bc5b15e2", "REL-482", "active"],
        "reply": ["REL-482", "Idempotency-Key"],
    },
    "billing-past-due.json": {
        "category": "billing_past_due",
        "action": "resolve",
        "cite": ["past_due", "in_1QbgbcshE1Y9xeiB0xgJmLwo", "card_declined", "subscription_past_due"],
        "reply": ["Our API is up"],
    },
    "saml-expired-cert.json": {
        "category": "sso_certificate_expired",
        "action": "resolve",
        "cite": ["2026-11-19T23:59:59Z", "57:5D:A4:4D:83:F5:C9:C3:BD:90:9B:CB:B7:DB:46:DC:DC:A1:30:D4"],
        "reply": ["expired", "certificate"],
    },
    "webhook-endpoint-down.json": {
        "category": "webhook_customer_endpoint",
        "action": "resolve",
        "cite": ["https://hooks.umbrella-health.com/relay", "2026-11-19T22:10"],
        "reply": ["your endpoint"],
    },
    "export-regression.json": {
        "category": "deploy_regression",
        "action": "escalate",
        "team": "backend",
        "cite": [
            "7dec52f6778705434749704d9a80be74bdae366c",
            "src/orders/export.py",
            "/v2/orders/export",
            "2026-11-18T14:07:16",
        ],
        "reply": ["/v2/orders/export"],
    },
}


def investigate(env: Environment, ticket: Ticket) -> Investigation:
    async def run() -> Investigation:
        return await run_investigation(ticket, env, load_settings(env={}))

    return asyncio.run(run())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_demo_ticket_diagnosis(env: Environment, name: str) -> None:
    expected = EXPECTED[name]
    result = investigate(env, load_ticket(TICKETS / name))
    d = result.diagnosis
    assert d.root_cause.category == expected["category"], d.root_cause.statement
    assert d.action == expected["action"]
    if "team" in expected:
        assert d.escalation is not None and d.escalation.team == expected["team"]
    cited = " ".join(e.value for e in d.evidence)
    for fact in expected["cite"]:
        assert fact in cited, f"{fact} not cited: {cited}"
    for phrase in expected["reply"]:
        assert phrase in d.customer_reply
    # every evidence item was verified against the call it cites
    assert d.grounding.rejected == [] and d.grounding.verified == len(d.evidence) >= 1
    calls = {o.call_id: o for o in result.outcomes}
    for item in d.evidence:
        assert item.value in json.dumps(calls[item.call_id].data)
    assert d.unavailable_sources == []
    assert d.usage.tool_calls == len(result.outcomes) > 0
    # Every field a tool returned is declared in its connector's result shapes (runbooks check uses them).
    shapes = result_shapes()
    for outcome in result.outcomes:
        if outcome.ok and isinstance(outcome.data, dict):
            assert undeclared(shapes.get(outcome.tool), shape_of(outcome.data)) == [], (
                f"{outcome.tool}: declare these fields in {outcome.source}'s .results.json "
                "(python -m casefile.tools.shapes)"
            )
    # Runbook templates are rendered everywhere, the component and the packet included.
    assert "{{" not in d.model_dump_json() and "{%" not in d.model_dump_json()


def test_a_source_down_still_finishes_and_says_so(env: Environment, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stripe answers 503 to everything: the investigation completes and names billing as unavailable."""

    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr(tools_retry, "sleep", no_sleep)
    transport = env.world.transport  # type: ignore[union-attr]
    monkeypatch.setitem(
        transport.handlers,
        "api.stripe.com",
        lambda request: httpx.Response(503, json={"error": {"type": "api_error", "message": "down"}}),
    )
    d = investigate(env, load_ticket(TICKETS / "429-spike.json")).diagnosis
    assert [u.source for u in d.unavailable_sources] == ["billing"]
    assert d.root_cause.category == "known_bug"  # the logs, deploys and bug tracker still tell the story
    assert "Billing could not be checked" in d.root_cause.statement
    assert d.confidence.score < 0.85 and any("billing was unavailable" in r for r in d.confidence.reasons)


def test_unknown_account_diagnosis_says_so(env: Environment) -> None:
    ticket = load_ticket(TICKETS / "429-spike.json").model_copy(
        update={
            "requester": Requester(name="X", email="x@unknown-company.example"),
            "body": "API fails with 429.",
        }
    )
    d = investigate(env, ticket).diagnosis
    assert d.account_id is None
    assert d.root_cause.category == "insufficient_evidence"
    assert "could not be resolved" in d.root_cause.statement
    # Confidence is the chance the conclusion is right: that nothing could be checked is certain.
    assert d.confidence.score >= 0.75 and d.action == "escalate"
