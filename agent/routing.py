"""Routing: who gets an escalated diagnosis, and the context packet they need.

Runs after every diagnosis, whatever model wrote it. The packet is filled from
the investigation's tool results, never from the model's prose.
"""

from __future__ import annotations

from typing import Any

from agent.diagnosis import Diagnosis, Escalation
from tools.base import ToolOutcome

__all__ = ["CATEGORY_TEAMS", "route"]

# Symptom → team, when neither the model nor the runbook named one.
CATEGORY_TEAMS: dict[str, str] = {
    "rate_limit": "backend",
    "known_bug": "backend",
    "deploy_regression": "backend",
    "platform_incident": "sre",
    "billing_past_due": "billing",
    "billing_canceled": "billing",
    "billing_plan_limit": "billing",
    "billing_card_declined": "billing",
    "sso_certificate_expired": "identity",
    "sso_certificate_mismatch": "identity",
    "sso_config": "identity",
    "sso_clock_skew": "identity",
    "webhook_customer_endpoint": "integrations",
    "webhook_platform": "integrations",
    "data_timezone": "data",
    "ui_browser": "frontend",
    "performance_account": "backend",
    "performance_platform": "sre",
    "customer_error": "backend",
    "no_issue_found": "support-l2",
    "insufficient_evidence": "support-l2",
}


def _failing_requests(outcomes: list[ToolOutcome]) -> list[dict[str, Any]]:
    for outcome in outcomes:
        if outcome.ok and outcome.tool == "logs_recent_requests" and isinstance(outcome.data, dict):
            rows = [r for r in outcome.data.get("requests", []) if int(r.get("status", 0)) >= 400]
            return rows[:5]
    return []


def route(diagnosis: Diagnosis, outcomes: list[ToolOutcome]) -> Diagnosis:
    if diagnosis.action != "escalate":
        return diagnosis.model_copy(update={"escalation": None})
    team = (diagnosis.escalation.team if diagnosis.escalation else None) or CATEGORY_TEAMS.get(
        diagnosis.root_cause.category, "support-l2"
    )
    packet: dict[str, Any] = {
        "ticket_id": diagnosis.ticket_id,
        "account_id": diagnosis.account_id,
        "root_cause": diagnosis.root_cause.statement,
        "evidence": [e.model_dump() for e in diagnosis.evidence],
        "tool_calls": [
            {"call_id": o.call_id, "tool": o.tool, "arguments": o.arguments, "ok": o.ok} for o in outcomes
        ],
    }
    failing = _failing_requests(outcomes)
    if failing:
        packet["failing_requests"] = failing
    missing = [f"{u.source}: {u.reason}" for u in diagnosis.unavailable_sources]
    escalation = Escalation(
        team=team,
        reason=diagnosis.escalation.reason if diagnosis.escalation else diagnosis.root_cause.statement,
        packet=packet,
        missing=missing,
    )
    return diagnosis.model_copy(update={"escalation": escalation})
