"""Similar cases from what the run found whatever the diagnosis says (an invented company: Brindlemoor
Ferries, whose ticketing API answers with PascalCase error codes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.packet.fill import similar
from casefile.agent.packet.sources import FillContext, Sources
from casefile.agent.similar.evidence import evidence_keys, value_keys
from casefile.agent.similar.observed import ObservedCode, failing_codes, observed_codes
from casefile.agent.similar.past import PastCase, case_doc
from casefile.agent.similar.query import investigation_query, query_keys, resolved_doc
from casefile.agent.similar.rank import Doc, rank
from casefile.agent.ticket import Ticket
from tests.llm_fixtures import diagnosis_body
from tests.outcomes import tool_outcome

AT = datetime(2026, 11, 20, 9, tzinfo=UTC)
SUBJECT = "Boarding passes not issued since this morning"
BODY = "Our kiosks at the harbour stopped printing boarding passes around 07:00. Please help."
# The account's logs: SailingLocked is new this morning and its own; BerthUnknown is what it always
# gets; PierStale is new for it but every other account gets it as often (the platform's noise);
# GateTimeout is new for everyone (an incident they all share); FareMismatch it got as often before;
# DockBusy answered two requests.
TOP_ERRORS: dict[str, Any] = {
    "requests": 1000,
    "baseline_requests": 4000,
    "top": [
        {"status": 409, "error_code": "SailingLocked", "count": 200, "before": 0},
        {"status": 409, "error_code": "SailingLocked", "count": 100, "before": 0, "path": "/v1/passes"},
        {"status": 404, "error_code": "BerthUnknown", "count": 20, "before": 80},
        {"status": 400, "error_code": "PierStale", "count": 10, "before": 0},
        {"status": 500, "error_code": "GateTimeout", "count": 8, "before": 0},
        {"status": 400, "error_code": "FareMismatch", "count": 6, "before": 20},
        {"status": 503, "error_code": "DockBusy", "count": 2, "before": 0},
    ],
    "others_requests": 50000,
    "others_baseline_requests": 200000,
    "others": [
        {"status": 400, "error_code": "PierStale", "accounts": 9, "count": 400, "before": 1500},
        {"status": 500, "error_code": "GateTimeout", "accounts": 9, "count": 300, "before": 0},
        {"status": 409, "error_code": "SailingLocked", "accounts": 0, "count": 0, "before": 0},
    ],
}


def _history() -> list[Doc]:
    return [
        resolved_doc(
            "H-locked",
            "Kiosks refuse to print boarding passes",
            "Passengers stuck at the gate",
            "Their ticketing calls were answered 409 SailingLocked: the sailing had been closed early in "
            "the timetable. Reopened it.",
            ["timetable"],
        ),
        resolved_doc(
            "H-slow",
            "Printing is slow",
            "Kiosks take a minute per pass",
            "Not a fault on our side: a slow printer driver.",
            ["customer-error"],
        ),
        resolved_doc(
            "H-berth",
            "Berth lookups fail",
            "Some berth lookups fail",
            "A stale berth id (BerthUnknown) in their integration.",
            ["customer-error"],
        ),
    ]


def _top(
    query_text: str, evidence: list[str], category: str | None, trust: float, codes: Sequence[str] = ()
) -> list[str]:
    ranking = rank(
        query_text,
        _history(),
        query_evidence=query_keys(evidence, category, codes),
        embedder=None,
        category_trust=trust,
    )
    return [s.id for s in ranking.results]


def test_a_cited_camelcase_value_is_a_code_that_finds_the_tickets_naming_it() -> None:
    assert evidence_keys("SailingLocked") == set()  # in prose a PascalCase word may be anything
    assert value_keys("SailingLocked") == {"code:sailinglocked"}  # cited on its own, it is a code
    assert value_keys("boardingPassRejected") == {"code:boardingpassrejected"}
    assert value_keys("Brindlemoor Ferries") == set() and value_keys("active") == set()
    # A confident wrong category: the code it cited still finds the ticket solved for that code.
    q = investigation_query(
        SUBJECT, BODY, "customer_error", "A problem in the integration.", ["SailingLocked"], 0.7
    )
    assert q.evidence == ["SailingLocked"]
    assert _top(q.text, q.evidence, q.category, 0.5)[0] == "H-locked"


def test_a_past_diagnosis_that_names_a_camelcase_code_carries_it_as_its_own() -> None:
    doc = case_doc(
        PastCase(
            investigation_id="inv-1",
            ticket_id="T-1",
            subject="Kiosks down",
            category="known_bug",
            confidence=0.8,
            summary="Requests fail with SailingLocked after the timetable sync.",
            cited=["SailingLocked", "BerthUnknown"],
        )
    )
    assert "code:sailinglocked" in doc.evidence  # its conclusion names it
    assert "code:berthunknown" in doc.incidental  # cited in passing


def test_the_accounts_own_failing_codes_are_read_from_the_runs_logs() -> None:
    outcomes = [
        tool_outcome(
            "c1",
            "logs_error_summary",
            {
                "top_error_codes": [
                    {"error_code": "SailingLocked", "count": 310},
                    {"error_code": "GangwayClosed", "count": 50},
                ]
            },
        ),
        tool_outcome("c2", "logs_top_errors", TOP_ERRORS),
        tool_outcome("c3", "logs_top_errors", ok=False, error="timeout"),
    ]
    seen = {c.code: c for c in observed_codes(outcomes)}
    assert list(seen) == [
        "SailingLocked",
        "GangwayClosed",
        "BerthUnknown",
        "PierStale",
        "GateTimeout",
        "FareMismatch",
        "DockBusy",
    ]  # most frequent first
    assert seen["SailingLocked"] == ObservedCode(
        code="SailingLocked", count=300, rate=0.3, before=0.0, others=0.0, others_before=0.0
    )  # its two rows summed, compared (not the summary's bare count); nobody else gets it
    assert seen["GateTimeout"].others == 0.006 and seen["GateTimeout"].others_before == 0.0
    assert seen["GangwayClosed"].rate is None  # a summary's count alone: nothing to compare
    own = {code for code, c in seen.items() if c.own}
    # BerthUnknown 2 % now and before; PierStale 1 % as the others' 0.8 %; GateTimeout 0.8 % as the
    # others' 0.6 %; FareMismatch 0.6 % against 0.5 %; DockBusy two requests; GangwayClosed not compared.
    assert own == {"SailingLocked"}
    assert failing_codes(observed_codes(outcomes)) == ["SailingLocked"]
    # Without the other accounts' figures, a code new for the account is its own.
    alone = ObservedCode(code="GateTimeout", count=8, rate=0.008, before=0.0)
    assert alone.own and not alone.model_copy(update={"count": 4}).own


def test_a_wrong_diagnosis_still_searches_with_the_code_the_account_fails_with() -> None:
    """A sure, wrong diagnosis whose citations say nothing of the failure: the code the logs show
    failing since the window started still finds the ticket solved for it, above the one whose words
    and category the wrong diagnosis shares."""
    summary = "A slow printer on the customer's side."
    blind = investigation_query(SUBJECT, BODY, "customer_error", summary, [], 0.9)
    assert _top(blind.text, blind.evidence, blind.category, 1.0)[0] != "H-locked"
    seen = investigation_query(SUBJECT, BODY, "customer_error", summary, [], 0.9, ["SailingLocked"])
    assert seen.evidence == [] and seen.codes == ["SailingLocked"]
    assert _top(seen.text, seen.evidence, seen.category, 1.0, seen.codes)[0] == "H-locked"
    # A guess keeps only what the ticket names of its citations, but the logs' codes are facts.
    guess = investigation_query(
        SUBJECT, BODY, "no_issue_found", "All fine.", ["BerthUnknown"], 0.4, ["SailingLocked"]
    )
    assert guess.evidence == [] and guess.codes == ["SailingLocked"]
    # A code from an error_code field is a code whatever its shape: a number too.
    numeric = investigation_query(SUBJECT, BODY, "customer_error", summary, [], 0.9, ["2001"])
    assert query_keys(numeric.evidence, numeric.category, numeric.codes) >= {"code:2001"}


def test_the_packet_searches_with_the_accounts_failing_codes() -> None:
    ticket = Ticket(id="T-9", subject=SUBJECT, body=BODY, created_at=AT)
    diagnosis = Diagnosis.model_validate(
        diagnosis_body("customer_error", score=0.9, ticket_id="T-9", summary="A slow printer.")
    )
    ctx = FillContext(
        account_id="brindlemoor",
        start=AT,
        end=AT,
        sources=Sources(outcomes=[tool_outcome("c1", "logs_top_errors", TOP_ERRORS)], ticket=ticket),
        diagnosis=diagnosis,
    )
    call = similar(ctx)
    assert call is not None and call[0] == "tickets_similar"
    assert call[1]["codes"] == ["SailingLocked"]


def test_the_control_keeps_the_tickets_own_logs_and_swaps_only_the_diagnosis() -> None:
    from casefile.evals.scoring import CaseScore
    from casefile.evals.similar import search_of

    ticket = Ticket(id="T-9", subject=SUBJECT, body=BODY, created_at=AT)
    own = CaseScore(
        case_id="a",
        category="known_bug",
        confidence=0.9,
        observed=[ObservedCode(code="SailingLocked", count=30, rate=0.03)],
    )
    donor = CaseScore(
        case_id="b",
        category="rate_limit",
        confidence=0.9,
        observed=[ObservedCode(code="TooFast", count=90, rate=0.09)],
    )
    search = search_of(ticket, donor, "investigation", own)
    assert search.category == "rate_limit" and search.codes == ["SailingLocked"]
    assert search_of(ticket, own, "text", own).codes == []  # the ticket text alone: no logs
