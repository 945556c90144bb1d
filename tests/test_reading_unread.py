"""A ticket in a language nobody wrote a phrase file for is answered from the account's data, with the
confidence an unread ticket deserves (session 11, measured by hiding language files: evals/README.md,
"Reading a language with no file"). Invented companies and an invented language only."""

from __future__ import annotations

from typing import Any

from test_differential import (
    NOW,
    best,
    billing,
    cited,
    deploy_before_500s,
    row,
    state,
    summary,
    top,
    zoned_areas,
)
from test_differential_reasoning import declined

from casefile.agent.catalog import Catalog, Component
from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.topic import readable, unread
from casefile.agent.signals import extract_areas
from casefile.agent.signals.zones import names_turn_hour
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


def test_refusals_inside_200s_from_the_minute_the_subscription_ended_are_its_enforcement() -> None:
    # every message answered 200 with a refusal code since the second the subscription was canceled: not the
    # customer's own mistake, however sure the data alone would make that
    canceled = billing("canceled", good=False).data.model_dump()
    canceled["subscriptions"][0]["canceled_at"] = "2027-03-04T09:00:00Z"
    errors = top([row(200, "err_7041", 300, path="/xml/rates", first="2027-03-04T09:00:08.000Z")])
    ev = Evidence(
        summary=summary(300, status=200, base_rate=0.0),
        top=errors,
        billing=cited(BillingAccount, canceled, "c3", "billing_account"),
    )
    diff = assess(state(VELMIC), ev)
    h = best(diff)
    assert h.category == "billing_canceled" and h.action == "resolve" and h.confidence >= 0.8, diff.render()
    assert all(x.confidence < 0.7 for x in diff.hypotheses if x.category == "customer_error"), diff.render()


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


def test_the_hour_a_day_turns_at_written_bare_in_an_unread_ticket_asks_where_days_are_cut() -> None:
    # "the daily report puts what came in before 9 on the day before", in invented words and two scripts
    for said in ("Velmo raport kesh 9 pelu dravi nuvra ke.", "ベルモ 레포트 9시 이전 ドラヴィ"):
        assert "data" in zoned_areas(said, "Asia/Seoul"), said  # the UTC day turns at 9:00 there
        assert "data" not in zoned_areas(said, "Europe/Helsinki"), said  # at 2:00 or 22:00 there
    assert names_turn_hour("قبل الساعة ٤", "Asia/Dubai", NOW)
    # a clock time, a date or a share is no bare hour
    assert not names_turn_hour("10:09, 2027-03-09, 9%, 9.5", "Asia/Seoul", NOW)
    # not read beside anything we do read, nor in a shout, nor in English (read whole, by its words)
    assert "data" not in zoned_areas("Velmo HTTP 502 kesh 9 pelu.", "Asia/Seoul")
    assert "data" not in zoned_areas("Velmo!!! kesh 9 pelu!!!", "Asia/Seoul")
    assert "data" not in zoned_areas("The kiosks went dark at 9 and nobody could pay.", "Asia/Seoul")


def test_none_of_them_making_it_into_a_named_system_is_a_delivery_question() -> None:
    said = "Between noon and 1:20pm none of the channel bookings made it into Hostwell at our lodges."
    assert "webhook" in extract_areas(said)
    assert "webhook" not in extract_areas("None of the drivers made it to the depot before the storm.")
