"""Similar cases when the helpdesk's tags or the diagnosis do not name the cause (invented names only)."""

from __future__ import annotations

from casefile.agent.diagnosis import CATEGORIES
from casefile.agent.similar.evidence import stated_categories
from casefile.agent.similar.query import investigation_query, query_keys, resolved_doc
from casefile.agent.similar.rank import rank


def test_a_resolution_that_states_the_cause_names_its_category_where_the_tags_do_not() -> None:
    rotated = resolved_doc(
        "rotated",
        "Login broken after the IdP change",
        "SAML fails since this morning",
        "Certificate mismatch: the IdP signs with its new certificate. They re-uploaded the metadata.",
        ["sso", "saml", "rotated"],
    )
    assert "category:sso_certificate_mismatch" in rotated.evidence
    # The tags win where they name a cause: a resolution's passing words do not add another.
    tagged = resolved_doc("t", "Slow", "slow pages", "Not a rate limit: a past due invoice.", ["past-due"])
    assert {k for k in tagged.evidence if k.startswith("category:")} == {"category:billing_past_due"}
    # A category's words, not one word of them, and not inside another word.
    assert stated_categories("the certificate was fine; a mismatch of the ACS URL", CATEGORIES) == set()
    assert stated_categories("Clock-skew on their IdP host", CATEGORIES) == {"sso_clock_skew"}


def test_a_wrong_guess_does_not_rank_the_cases_it_was_wrong_about() -> None:
    """A guessed 'no issue' with a template summary and a background code must not pull the
    resolved tickets that share them above the one that shares the ticket's symptom."""
    docs = [
        resolved_doc("same-template", "All fine", "checked", "No problem found on our side.", ["no-issue"]),
        resolved_doc("same-background", "Outage", "ZQ_DOWN for an hour", "Our incident, over.", ["incident"]),
        resolved_doc("same-symptom", "Receipts print twice", "each receipt twice", "Known bug.", ["bug"]),
    ]
    q = investigation_query(
        "Receipts print twice",
        "Every receipt comes out twice since Monday.",
        "no_issue_found",
        "No problem found on our side.",
        ["ZQ_DOWN"],
        0.4,
    )
    ranking = rank(q.text, docs, query_evidence=query_keys(q.evidence, q.category), embedder=None)
    assert ranking.results[0].id == "same-symptom"
    assert all(not s.shared for s in ranking.results)
    # The same diagnosis, sure of itself, keeps its words and its evidence.
    sure = investigation_query(
        "Receipts print twice", "twice", "no_issue_found", "No problem found.", ["ZQ_DOWN"], 0.95
    )
    assert sure.evidence == ["ZQ_DOWN"] and sure.category == "no_issue_found" and "No problem" in sure.text


def test_eval_similar_states_the_wrongly_diagnosed_queries_beside_their_ticket_text() -> None:
    from casefile.evals.similar import _wrong_line

    line = _wrong_line([(0.0, 0.5, 1.0), (1.0, 0.5, 0.0), (0.5, 0.5, 0.5)])
    assert line == (
        "diagnosed with another category: 3 queries; investigation 0.500 (BM25 0.500), ticket text 0.500"
    )


def test_tags_naming_a_cause_but_its_last_word_share_its_family_with_the_diagnosis() -> None:
    from casefile.agent.similar.evidence import family_key

    vague = resolved_doc(
        "v", "SSO broken", "after the change", "They sent new metadata.", ["sso", "certificate"]
    )
    whole = resolved_doc("w", "SSO broken", "expired", "Renewed it.", ["sso", "certificate", "expired"])
    assert "family:sso_certificate" in vague.evidence
    assert "family:sso_certificate" not in whole.evidence  # the whole cause says more
    assert family_key("sso_certificate_mismatch") == "family:sso_certificate"
    assert family_key("rate_limit") is None  # two words: the category is its own family
    keys = query_keys([], "sso_certificate_mismatch")
    assert keys == {"category:sso_certificate_mismatch", "family:sso_certificate"}
    other = resolved_doc("o", "SSO broken", "after the change", "They sent new metadata.", ["sso", "login"])
    # A guess's family weighs nothing, a sure one's as much as a category.
    for trust, first in ((0.0, None), (1.0, "v")):
        ranking = rank(
            "SSO broken after the change",
            [other, vague],
            query_evidence=keys,
            embedder=None,
            category_trust=trust,
        )
        scores = {s.id: s.score for s in ranking.results}
        assert (scores["v"] > scores["o"]) == (first == "v")


def test_the_control_searches_each_case_with_a_wrong_diagnosis_of_another_category() -> None:
    """``eval similar``'s control: each query carries another case's diagnosis (the next by id whose
    label and diagnosis are another category), the past diagnoses among the candidates their own."""
    from datetime import UTC, datetime

    from casefile.agent.ticket import Ticket
    from casefile.evals.scoring import CaseScore
    from casefile.evals.similar import Labels, World, score_world, wrong_diagnoses

    now = datetime(2026, 3, 2, tzinfo=UTC)
    words = {
        "a": "Lantern sync fails",
        "b": "Lantern sync fails",
        "c": "Invoice unpaid",
        "d": "Invoice unpaid",
    }
    tickets = {f"case:{c}": Ticket(id=c, subject=s, body=s, created_at=now) for c, s in words.items()}
    labels = Labels(
        world="w",
        causes={"known_bug LNT-4": ["case:a", "case:b"], "billing_past_due": ["case:c", "case:d"]},
    )
    unpaid = [
        resolved_doc(f"history:h{i}", "Invoice unpaid", "unpaid", "Past due.", ["past-due"]) for i in (1, 2)
    ]
    other = [
        resolved_doc(f"history:o{i}", f"Question {i}", "how to", "Answered.", ["how-to"]) for i in range(8)
    ]
    world = World(name="w", tickets=tickets, history=unpaid + other, labels=labels)
    bug = CaseScore(
        case_id="", category="known_bug", confidence=0.9, summary="Open bug LNT-4.", cited=["LNT-4"]
    )
    due = CaseScore(case_id="", category="billing_past_due", confidence=0.9, summary="Invoice past due.")
    diagnoses = {c: (bug if c in "ab" else due).model_copy(update={"case_id": c}) for c in words}
    swapped = wrong_diagnoses(world, diagnoses)
    # a's next case of another category is c; d's, round the world, is a.
    assert {c: s.case_id for c, s in swapped.items()} == {"a": "c", "b": "c", "c": "a", "d": "a"}
    assert not any(s.category_ok for s in swapped.values())
    own = score_world(world, None, diagnoses, "investigation")
    control = score_world(world, None, diagnoses, "investigation", searched=swapped)
    assert own.precision_at_3 == 1.0
    assert control.precisions["case:a"] == 0.0  # the past-due diagnosis ranks the unpaid invoices first
