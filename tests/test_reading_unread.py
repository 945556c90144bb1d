"""A ticket in a language nobody wrote a phrase file for is answered from the account's data, with the
confidence an unread ticket deserves (session 11, measured by hiding language files: evals/README.md,
"Reading a language with no file"). Invented companies and an invented language only."""

from __future__ import annotations

from typing import Any

from test_differential import best, billing, cited, deploy_before_500s, row, state, summary, top
from test_differential_reasoning import declined

from casefile.agent.catalog import Catalog, Component
from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.topic import readable, unread
from casefile.tools.billing_results import BillingAccount

# An invented language: no file lists it, none of its words is English.
VELMIC = "Sorra vintelë, ka trumo aspeli nuvra kesh dorvanti. Pelmo ul?"


def test_the_sample_is_a_language_we_do_not_read() -> None:
    assert not readable(VELMIC)
    assert unread(state(VELMIC)) == "foreign"


def _own_refusals(standing: Any = None) -> Evidence:
    """Since the morning, a quarter of the account's requests refused with a code only it gets; billing in
    good standing unless ``standing`` says otherwise."""
    errors = top([row(422, "ledger_period_closed", 140, path="/v2/ledgers/{id}/entries")])
    return Evidence(
        summary=summary(140, status=422, base_rate=0.0), top=errors, billing=standing or billing()
    )


def test_a_fault_in_the_accounts_own_hands_behind_an_unread_ticket_is_answered() -> None:
    diff = assess(state(VELMIC), _own_refusals())
    h = best(diff)
    # the data alone, said so, but a fault only this account's side has is nearly always what it writes
    # about: sure enough to answer (customer_error resolves at 0.7), below what its words would give
    assert h.category == "customer_error" and h.action == "resolve", diff.render()
    assert 0.7 <= h.confidence <= 0.75, diff.render()
    assert any("data alone" in r for r in h.reasons)
    said = best(
        assess(
            state("Since this morning our ledger entries fail with 422 ledger_period_closed"), _own_refusals()
        )
    )
    assert said.category == h.category and said.confidence > h.confidence


def test_two_faults_of_the_account_behind_an_unread_ticket_leave_it_open() -> None:
    # its own refusals, and its subscription canceled: which one does it write about?
    ev = _own_refusals(billing("canceled", good=False))
    diff = assess(state(VELMIC), ev)
    assert {h.category for h in diff.hypotheses} >= {"customer_error", "billing_canceled"}, diff.render()
    assert all(h.confidence <= 0.65 for h in diff.hypotheses), diff.render()


def test_a_change_of_ours_behind_an_unread_ticket_stays_a_lean() -> None:
    catalog = Catalog(
        components=[
            Component(id="ledger", kind="api", repos=["shop/core-api"], paths=["/api/"], team="ledger-eng")
        ]
    )
    diff = assess(state(VELMIC, catalog=catalog), deploy_before_500s("f" * 40, ["src/invoices/create.py"]))
    h = best(diff)
    # a deploy of ours reaches other accounts too: it may not be what this customer writes about
    assert h.category == "deploy_regression" and h.confidence <= 0.65, diff.render()
    assert any("data alone" in r for r in h.reasons)


def _declined_on(when: str) -> Any:
    data = declined().data.model_dump()
    data["recent_payment_failures"][0]["created"] = when
    return cited(BillingAccount, data, "c3", "billing_account")


def test_an_unread_ticket_a_day_after_a_declined_charge_is_about_it() -> None:
    # the ticket is written the day after the card was declined (the invoice still open, the account
    # otherwise healthy): "your payment failed" is the message of ours it answers, in any language
    ev = Evidence(summary=summary(0), billing=_declined_on("2027-03-03T10:00:00Z"))
    diff = assess(state(VELMIC), ev)
    h = best(diff)
    assert h.category == "billing_card_declined" and h.action == "resolve", diff.render()
    assert 0.7 <= h.confidence <= 0.75 and "expired_card" in {c.value for c in h.evidence}
    assert any("cannot read" in r for r in h.reasons)


def test_a_charge_declined_weeks_before_an_unread_ticket_is_only_mentioned() -> None:
    ev = Evidence(summary=summary(0), billing=_declined_on("2027-02-10T10:00:00Z"))
    card = next(h for h in assess(state(VELMIC), ev).hypotheses if h.category == "billing_card_declined")
    assert card.confidence < 0.5
    # nor does an English ticket about something else become about the charge
    ev = Evidence(summary=summary(0), billing=_declined_on("2027-03-03T10:00:00Z"))
    other = assess(state("The reports page shows yesterday's numbers twice"), ev)
    assert next(h for h in other.hypotheses if h.category == "billing_card_declined").confidence < 0.5


def test_language_files_can_be_hidden_to_measure_a_language_without_one(monkeypatch: Any) -> None:
    from casefile.agent import phrasebook

    monkeypatch.setenv("CASEFILE_HIDE_LANGUAGES", " TR, ko ,en")
    assert phrasebook.hidden_languages() == {"tr", "ko"}  # English is never hidden: every rule reads it
    phrasebook.languages.cache_clear()
    try:
        loaded = phrasebook.languages()
        assert "tr" not in loaded and "ko" not in loaded and {"en", "de"} <= set(loaded)
    finally:
        monkeypatch.delenv("CASEFILE_HIDE_LANGUAGES")
        phrasebook.languages.cache_clear()
    assert "tr" in phrasebook.languages()
