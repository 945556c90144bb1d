"""How sure a diagnosis may say it is (agent/calibration.py, the arbiter's leans), on invented companies.

"Nothing is wrong" refutes a customer only when a check that would have seen their complaint ran:
a ticket about 500s answered by a healthy error rate stays confident; one about a defect they ask
about as a known issue, about something no check reads, or about deliveries nobody looked at, is
capped and escalated with what was checked. No bundled world's names.
"""

from __future__ import annotations

from test_differential import NOW, state

from casefile.agent.calibration import ABSENCE_CAP, ABSENCE_RULE, UNREAD_CAP, bound, claims
from casefile.agent.differential.arbiter import weigh
from casefile.agent.differential.model import Differential, Hypothesis, cite
from casefile.agent.models.offline import offline_diagnosis
from casefile.agent.phrasebook import english, reading
from casefile.tools.base import ToolOutcome

LOGS = {"logs_error_summary", "logs_top_errors", "billing_account"}


def _kinds(body: str, subject: str = "") -> list[str]:
    s = state(body, subject)
    return [c.kind for c in claims(s.signals, reading(s.ticket.full_text()))]


def _bound(
    body: str, examined: set[str], category: str = "no_issue_found", confidence: float = 0.85
) -> float:
    s = state(body)
    return bound(category, confidence, s.signals, reading(s.ticket.full_text()), examined).confidence


def test_complaints_are_read_as_what_a_check_observes() -> None:
    assert _kinds("URGENT!!! 500 errors everywhere, nothing loads") == ["failing requests"]
    assert _kinds("Is Larkspur down for us?") == ["failing requests"]
    assert "deliveries" in _kinds("Our order webhooks stopped arriving this morning")
    assert "slowness" in _kinds("Everything is very slow since the morning, but we get no errors")
    assert _kinds("Quotes print the customer's surname twice. Is this a known issue?") == ["a defect"]
    assert _kinds("The little helper that copies hires into our payroll skipped some people") == []


def test_nothing_found_stays_confident_when_the_check_that_would_see_the_complaint_ran() -> None:
    assert _bound("URGENT: 500 errors on every call, page your on-call!", LOGS) == 0.85
    hooks = LOGS | {"logs_webhook_deliveries"}
    assert _bound("A colleague thinks some order webhooks are missing today", hooks) == 0.85
    # A Finnish ticket is read in English first (phrasebook): "ei toimi" is "not working".
    assert _bound("Palvelu ei toimi, saamme 500-virheitä", LOGS) == 0.85


def test_nothing_found_is_a_guess_when_no_check_could_see_the_complaint() -> None:
    # A defect they describe: healthy aggregates say nothing about it.
    assert _bound("Invoices show the tax line twice. Is this a known issue?", LOGS) == ABSENCE_CAP
    # Deliveries that did not arrive, and the delivery log was not read.
    assert _bound("Confirmation messages from our new domain are not arriving at all", LOGS) == ABSENCE_CAP
    # Nothing read as any complaint a check observes (the words of a company we never saw).
    assert (
        _bound("The little helper that copies hires into our payroll skipped some people", LOGS)
        == ABSENCE_CAP
    )
    # Slowness without a latency check, though the error rate was fine.
    assert _bound("Everything is very slow since this morning. We get no errors.", LOGS) == ABSENCE_CAP
    assert _bound("Everything is very slow since this morning.", LOGS | {"logs_latency"}) == 0.85


def test_only_nothing_found_is_bounded_by_what_was_not_seen() -> None:
    assert _bound("Invoices show the tax line twice. Is this a known issue?", LOGS, "known_bug", 0.8) == 0.8
    assert _bound("Invoices show the tax line twice. Is this a known issue?", LOGS, confidence=0.3) == 0.3


def test_the_offline_investigator_escalates_a_guessed_nothing_with_what_was_checked() -> None:
    s = state("Since yesterday our text messages show a random number as the sender. Known issue?")
    call = ToolOutcome(
        call_id="c1",
        tool="logs_error_summary",
        source="logs",
        arguments={},
        ok=True,
        data={"requests": 5120},
        rendered="5120 requests",
        started_at=NOW,
        duration_ms=1.0,
    )
    s.outcomes = [call]
    s.differential = Differential(
        hypotheses=[
            Hypothesis(
                category="no_issue_found",
                confidence=0.8,
                statement="Nothing is failing: 5120 requests, no spike.",
                summary="No problem found on our side.",
                evidence=cite("c1", "logs_error_summary", 5120, "requests served in the window"),
                action="resolve",
                reply="Could you send a request id?",
            )
        ]
    )
    diagnosis = offline_diagnosis(s)
    assert diagnosis["root_cause"]["category"] == "no_issue_found"
    assert diagnosis["confidence"]["score"] == ABSENCE_CAP
    assert diagnosis["action"] == "escalate"
    assert any(r.startswith(ABSENCE_RULE) for r in diagnosis["confidence"]["reasons"])
    assert "Escalated rather than resolved" in diagnosis["internal_note"]
    # Every alternative is ranked below the chosen cause's bounded confidence.
    assert all(h["confidence"] <= ABSENCE_CAP for h in diagnosis["hypotheses"])


def test_a_ticket_we_did_not_read_is_not_called_vague_with_confidence() -> None:
    told = state("Something has felt off with the portal for a few days. Could you have a look?")
    foreign = state(
        "Vi forsøker å publisere en ny annonse, men den blir ikke lagt ut noe sted. Er noe galt hos dere?"
    )
    for s, expected in ((told, 0.6), (foreign, UNREAD_CAP)):
        text = s.ticket.full_text()
        limit = bound("insufficient_evidence", 0.6, s.signals, reading(text), LOGS, unread=True, text=text)
        assert limit.confidence == expected
    # Only the "names nothing concrete" answer, and only when the ticket was unread.
    text = foreign.ticket.full_text()
    assert (
        bound("insufficient_evidence", 0.6, foreign.signals, reading(text), LOGS, text=text).confidence == 0.6
    )
    assert (
        bound("known_bug", 0.6, foreign.signals, reading(text), LOGS, unread=True, text=text).confidence
        == 0.6
    )
    assert english("Could someone have a look at this for us?")
    assert not english("Dobrý den, od včerejška nám nechodí žádné události, změnili jste něco?")


def test_a_lean_from_another_area_does_not_lower_a_finding() -> None:
    incident = Hypothesis(
        category="platform_incident", confidence=0.75, statement="s", summary="s", reply="r"
    )
    diff = Differential(hypotheses=[incident])
    # A report's day boundaries are not made less likely by API errors elsewhere.
    about_reports = weigh("data_timezone", 0.8, set(), diff, frozenset({"data", "ui"}))
    assert (about_reports.use_runbook, about_reports.confidence_delta) == (True, 0.0)
    # A ticket about failing requests: the incident does argue against the finding.
    about_api = weigh("data_timezone", 0.8, set(), diff, frozenset({"data", "api"}))
    assert (about_api.use_runbook, about_api.confidence_delta) == (True, -0.1)
    # Without the ticket's areas every lean counts, as before.
    assert weigh("data_timezone", 0.8, set(), diff).confidence_delta == -0.1
