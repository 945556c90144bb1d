"""Error codes as people write them (an invented company: Saltmere Moorings, a marina booking platform
whose harbour-master gateway answers every message HTTP 200 with a numeric code behind its protocol's
name, logged as ``hm:<code>``, and whose REST API's codes are ``FAMILY/REASON``)."""

from __future__ import annotations

from casefile.agent.similar.evidence import code_tail, error_code_key, mentioned
from casefile.agent.similar.observed import ObservedCode, failing_codes
from casefile.agent.similar.query import investigation_query, query_keys, resolved_doc
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
