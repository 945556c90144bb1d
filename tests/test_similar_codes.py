"""Error codes as people write them (an invented company: Saltmere Moorings, a marina booking platform
whose harbour-master gateway answers every message HTTP 200 with a numeric code behind its protocol's
name, logged as ``hm:<code>``, and whose REST API's codes are ``FAMILY/REASON``)."""

from __future__ import annotations

from casefile.agent.similar.evidence import code_tail, error_code_key, mentioned
from casefile.agent.similar.observed import ObservedCode, failing_codes
from casefile.agent.similar.past import PastCase, case_doc
from casefile.agent.similar.query import category_trust, investigation_query, query_keys, resolved_doc
from casefile.agent.similar.rank import Doc, rank

SUBJECT = "Berths closed on every booking site"
BODY = "Since yesterday evening all our pontoons show as full on the booking sites. Nothing changed here."


def _history() -> list[Doc]:
    return [
        resolved_doc(
            "H-allowance",
            "Pontoons full on every channel",
            "All berths show full since the new season started.",
            "The marina had used its licensed berths: every availability message was answered Error 7710. "
            "They raised the allowance.",
            ["berths"],
        ),
        resolved_doc(
            "H-allowance-fa",
            "اسکله‌ها پر نشان داده می‌شوند",
            "همه‌ی اسکله‌ها در سایت‌ها پر هستند.",
            "پیام‌ها با خطای ۷۷۱۰ رد شدند: سقف اسکله‌های مجاز پر بود.",
            [],
        ),
        resolved_doc(
            "H-mapping",
            "One pontoon missing on the booking sites",
            "Pontoon C is gone from every booking site since we tidied up the marina software.",
            "A pontoon was renamed in the marina software and not mapped again. Nothing changed on our side.",
            ["customer-error"],
        ),
        resolved_doc(
            "H-hotel-code",
            "Nothing reaches the booking sites",
            "After switching marina software every message is refused.",
            "The new software sent its own marina id instead of ours. Fixed in its settings.",
            ["customer-error"],
        ),
        resolved_doc(
            "H-slow",
            "Booking sites slow to show changes",
            "Changes take an hour to show.",
            "Slowness of the availability fan-out for every marina. Escalated to SRE.",
            ["performance", "platform"],
        ),
    ]


def test_a_namespaced_code_is_keyed_by_the_part_people_write() -> None:
    assert error_code_key("hm:7710") == "code:7710"
    assert error_code_key("QUOTA/BERTHS_FULL") == "code:berths_full"
    assert error_code_key("unavailable.pier_rebalance") == "code:pier_rebalance"
    assert error_code_key("https://saltmere.example/problems/berth-locked") == "code:berth-locked"
    # What follows the namespace is no code on its own: the whole stays the key.
    assert code_tail("soap:Server") == "soap:Server" and code_tail("hm:7") == "hm:7"
    assert code_tail("4.53") == "4.53"  # a number is no namespace
    assert error_code_key("BerthLocked") == "code:berthlocked" and error_code_key("7710") == "code:7710"


def test_a_numeric_code_is_found_in_any_script_s_digits() -> None:
    assert mentioned("پیام‌ها با خطای ۷۷۱۰ رد شدند", {"code:7710"}) == {"code:7710"}
    assert mentioned("त्रुटि ७७१० मिली", {"code:7710"}) == {"code:7710"}
    assert mentioned("Error 77100 and 17710", {"code:7710"}) == set()


def test_the_code_the_account_fails_with_finds_the_tickets_that_quote_it_without_its_namespace() -> None:
    """A wrong diagnosis: the account's logs answered it ``hm:7710``; the ticket solved for that code
    comes first, above those whose category the wrong diagnosis shares, and the one that quotes it in
    Persian digits (no word in common) shares it too."""
    q = investigation_query(
        SUBJECT,
        BODY,
        "customer_error",
        "Rejected messages: a problem in the integration.",
        [],
        0.7,
        ["hm:7710"],
    )
    assert query_keys(q.evidence, q.category, q.codes) == {"code:7710", "category:customer_error"}
    ranking = rank(
        q.text,
        _history(),
        query_evidence=query_keys(q.evidence, q.category, q.codes),
        embedder=None,
        category_trust=0.5,
    )
    assert ranking.results[0].id == "H-allowance" and ranking.results[0].shared == ["code:7710"]
    assert {s.id: s.shared for s in ranking.results}["H-allowance-fa"] == ["code:7710"]


def test_the_accounts_failure_is_the_code_that_dominates_its_own_errors() -> None:
    """Over a window nobody else's logs cover, every new code looks like the account's own: the code its
    requests fail with is the one that dominates; one answered a tenth as often is beside it."""
    observed = [
        ObservedCode(code="hm:7710", count=600, rate=0.016, before=0.0, others=0.0),
        ObservedCode(code="hm:392", count=8, rate=0.0002, before=0.0, others=0.0),
        ObservedCode(code="hm:497", count=61, rate=0.0016, before=0.0, others=0.0),
    ]
    assert all(c.own for c in observed)
    assert failing_codes(observed) == ["hm:7710", "hm:497"]


TEMPLATE = (
    "Rejected request payloads (validation) to /hm/availability: a problem in the customer's integration."
)


def _echo_ranking(confidence: float, plain: str | None) -> list[str]:
    """A search after a diagnosis in the investigator's template wording, among resolved tickets and a
    past diagnosis of another marina the same investigator wrote in the same words."""
    q = investigation_query(SUBJECT, BODY, "customer_error", TEMPLATE, [], confidence, ["hm:7710"])
    past = case_doc(
        PastCase(
            investigation_id="inv-rooms",
            ticket_id="T-3",
            subject="Rates refused for one pontoon",
            category="customer_error",
            confidence=0.8,
            summary=TEMPLATE,
        )
    )
    ranking = rank(
        q.text,
        [*_history(), past],
        query_evidence=query_keys(q.evidence, q.category, q.codes),
        embedder=None,
        category_trust=category_trust(q.confidence),
        plain=plain,
    )
    return [s.id for s in ranking.results]


def test_a_past_diagnosis_worded_like_the_diagnosis_counts_as_far_as_the_diagnosis_is_trusted() -> None:
    """Two diagnoses by one investigator share its template whenever they share a category: against a
    past diagnosis the diagnosis' words weigh as its category does (its trust), the ticket's the rest."""
    plain = investigation_query(SUBJECT, BODY).text
    assert _echo_ranking(0.7, None)[0] == "inv-rooms"  # the template's words decide
    ranked = _echo_ranking(0.7, plain)
    assert ranked[0] == "H-allowance" and ranked.index("inv-rooms") > 1
    # A sure diagnosis' words count in full: the ticket's own change nothing.
    assert _echo_ranking(0.95, plain) == _echo_ranking(0.95, None)
