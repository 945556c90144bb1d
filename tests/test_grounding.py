"""Grounding: evidence must cite a real call of this investigation and a value in its result."""

from __future__ import annotations

from datetime import UTC, datetime

from casefile.agent.diagnosis import Confidence, Diagnosis, Evidence, RootCause
from casefile.agent.grounding import ground
from casefile.tools.base import ToolOutcome


def outcome(call_id: str, data: object, ok: bool = True) -> ToolOutcome:
    return ToolOutcome(
        call_id=call_id,
        tool="logs_error_summary",
        source="logs",
        arguments={},
        ok=ok,
        data=data,
        rendered="",
        error=None if ok else "timeout",
        started_at=datetime.now(UTC),
        duration_ms=1,
    )


def diagnosis(*evidence: Evidence) -> Diagnosis:
    return Diagnosis(
        ticket_id="T",
        summary="s",
        root_cause=RootCause(category="known_bug", statement="s"),
        evidence=list(evidence),
        confidence=Confidence(score=0.5),
        customer_reply="r",
        action="resolve",
    )


def test_grounded_values_pass_and_others_are_rejected() -> None:
    outcomes = [
        outcome("c1", {"spike": {"start": "2026-11-20T08:10:00Z", "after_rate": 0.6123}, "errors": 812}),
        outcome("c2", None, ok=False),
    ]
    d = diagnosis(
        Evidence(call_id="c1", value="2026-11-20T08:10:00Z", claim="spike"),
        Evidence(call_id="c1", value="0.61", claim="rate, fewer decimals"),
        Evidence(call_id="c1", value="812", claim="count"),
        Evidence(call_id="c1", value="2026-11-19T00:00:00Z", claim="invented"),
        Evidence(call_id="c2", value="anything", claim="failed call"),
        Evidence(call_id="c9", value="812", claim="never made"),
    )
    grounded, rejected = ground(d, outcomes)
    assert [e.value for e in grounded.evidence] == ["2026-11-20T08:10:00Z", "0.61", "812"]
    assert all(e.tool == "logs_error_summary" for e in grounded.evidence)
    assert grounded.grounding.verified == 3
    assert len(rejected) == 3
    assert "does not occur" in rejected[0] and "failed" in rejected[1] and "never made" in rejected[2]


def test_number_rounding_is_not_a_loophole() -> None:
    grounded, rejected = ground(
        diagnosis(Evidence(call_id="c1", value="0.7", claim="x")), [outcome("c1", {"r": 0.6123})]
    )
    assert grounded.evidence == [] and rejected
