"""What a model submits (ModelDiagnosis) vs what the run records (Diagnosis, Investigation)."""

from __future__ import annotations

from typing import Any

from casefile.agent.diagnosis import Diagnosis, ModelDiagnosis, recorded
from casefile.agent.models._chat import submit_tool

SUBMITTED: dict[str, Any] = {
    "summary": "Requests are rate limited.",
    "root_cause": {"category": "rate_limit", "statement": "429s since 08:12."},
    "evidence": [{"call_id": "c1", "value": "429", "field": "status", "claim": "rejected"}],
    "confidence": {"score": 0.7},
    "customer_reply": "Please back off.",
    "action": "escalate",
    "escalation": {"team": "backend", "reason": "r"},
}


def test_the_submit_schema_is_the_model_diagnosis_schema() -> None:
    schema = submit_tool().parameters
    assert set(schema["properties"]) == set(ModelDiagnosis.model_fields)
    assert schema["additionalProperties"] is False
    recorded_only = set(Diagnosis.model_fields) - set(ModelDiagnosis.model_fields)
    assert {
        "ticket_id",
        "model",
        "fallback_reason",
        "grounding",
        "usage",
        "unavailable_sources",
    } <= recorded_only
    assert set(schema["properties"]["escalation"]["properties"]) == {"team", "reason"}
    assert "tool" not in schema["properties"]["evidence"]["items"]["properties"]


def test_provenance_a_model_writes_has_nowhere_to_go() -> None:
    forged = {**SUBMITTED, "model": "offline", "usage": {"turns": 0}, "ticket_id": "T-OTHER"}
    forged["escalation"] = {"team": "backend", "reason": "r", "trigger": "security", "packet": {"x": 1}}
    submitted = ModelDiagnosis.model_validate(forged)
    assert "model" not in submitted.model_dump() and submitted.escalation is not None
    assert submitted.escalation.model_dump() == {"team": "backend", "reason": "r"}
    d = recorded(submitted, ticket_id="T-1", model="openai:gpt-x")
    assert (d.ticket_id, d.model, d.usage.turns) == ("T-1", "openai:gpt-x", 0)
    assert d.escalation is not None and d.escalation.trigger is None and d.escalation.packet == {}
    assert d.evidence[0].tool == ""  # grounding fills it from the cited call


def test_a_diagnosis_stored_in_the_older_key_order_still_loads() -> None:
    # As stored before ModelDiagnosis existed: ticket_id first, evidence with its tool before the value.
    stored = {
        "ticket_id": "T-1",
        "summary": "s",
        "root_cause": {"category": "rate_limit", "statement": "x", "component": None},
        "evidence": [
            {"call_id": "c1", "tool": "logs_error_summary", "value": "v", "field": None, "claim": "c"}
        ],
        "confidence": {"score": 0.5, "reasons": []},
        "customer_reply": "r",
        "internal_note": "",
        "action": "resolve",
        "escalation": None,
        "related": [],
        "unavailable_sources": [],
        "account_id": "acme",
        "runbooks": ["rate-limit"],
        "model": "offline",
        "fallback_reason": None,
        "grounding": {"verified": 1, "rejected": []},
        "usage": {"turns": 1, "tool_calls": 3},
    }
    d = Diagnosis.model_validate(stored)
    assert d.evidence[0].tool == "logs_error_summary" and d.usage.tool_calls == 3
    assert Diagnosis.model_validate_json(d.model_dump_json()) == d
