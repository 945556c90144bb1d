"""General reasoning rules of the differential and the offline investigator, on synthetic companies.

Each rule is one a support engineer applies to any company: a short outage is found around its
worst hour, a declined card is the customer's to fix, a shared 4xx is compared as a rate, a 400
the customer describes in the words of our last change is our regression, a bug filed before the
deploy that broke the endpoint explains less than the deploy, a browser-bug finding gives way to a
tracked bug about that page, a cause nobody owns goes where routing sends its category. No
bundled world's names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from test_differential import (
    best,
    billing,
    cited,
    compare,
    deploys,
    elsewhere,
    issue,
    row,
    sso_logins,
    state,
    summary,
    top,
    webhook_evidence,
)

from casefile.agent.catalog import Catalog, Component
from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.arbiter import weigh
from casefile.agent.differential.evidence import failing_run
from casefile.agent.differential.model import Differential, Hypothesis
from casefile.agent.models.offline import offline_diagnosis
from casefile.agent.phrasebook import reading
from casefile.agent.signals import extract_time_window
from casefile.agent.timewords import in_english
from casefile.tools.billing_results import BillingAccount
from casefile.tools.deploys_results import Compare
from casefile.tools.logs_results import DeliveryHour, TopErrors


def hours(failures: dict[int, int], attempts: int = 6, start_day: int = 2) -> list[DeliveryHour]:
    """Three-hour buckets over two days, ``failures`` by bucket index."""
    return [
        DeliveryHour(
            hour=f"2027-03-0{start_day + i * 3 // 24}T{i * 3 % 24:02d}:00:00.000Z",
            attempts=attempts,
            failures=failures.get(i, 0),
        )
        for i in range(16)
    ]


def test_a_stray_failure_days_earlier_does_not_stretch_a_short_outage() -> None:
    # One failure in four attempts early on (a customer hiccup), then the outage: 5 of 6 failed.
    history = hours({1: 1, 11: 5})
    history[1] = DeliveryHour(hour=history[1].hour, attempts=4, failures=1)
    run = failing_run(history)
    assert [h.hour for h in run] == [history[11].hour]
    # Two neighbouring bad buckets make one run, anchored at the worst.
    assert len(failing_run(hours({10: 3, 11: 5, 13: 4}))) == 2
    assert failing_run(hours({})) == []


def test_the_webhook_outage_is_dated_by_its_own_hours_and_its_deploy_found() -> None:
    sha = "d" * 40
    catalog = Catalog(
        components=[Component(id="relay", kind="webhooks", repos=["acme-co/relay"], team="hooks-team")]
    )
    full = {
        "attempts": 96,
        "failures": 6,
        "failure_rate": 0.06,
        "endpoint_urls": ["https://in.quillmark.example/hook"],
        "history": [h.model_dump() for h in hours({2: 1, 12: 5})],
    }
    narrow = {
        **full,
        "attempts": 6,
        "failures": 5,
        "failure_rate": 0.83,
        "history": [{"hour": "2027-03-03T12:00:00.000Z", "attempts": 6, "failures": 5}],
        "platform": {"attempts": 600, "failures": 240, "failure_rate": 0.4},
    }
    ev = webhook_evidence(
        full,
        narrow,
        deploys=deploys(
            ("acme-co/relay", sha, "2027-03-03T11:55:00Z"),
            ("acme-co/relay", "a" * 40, "2027-02-20T10:00:00Z"),
        ),
    )
    h = best(assess(state("Some events arrived late over the last two days", catalog=catalog), ev))
    assert h.category == "webhook_platform" and h.team == "hooks-team"
    assert h.deploy_sha == sha and "ended by 2027-03-03T13:00:00Z" in h.statement


def declined(reason: str = "expired_card") -> Any:
    return cited(
        BillingAccount,
        {
            "in_good_standing": False,
            "standing_reasons": [
                "invoice in_5 open, 1 failed attempt",
                f"last failed charge ch_77: card_declined/{reason}",
            ],
            "subscriptions": [{"id": "sub_9", "status": "active", "plan": {"nickname": "Team"}}],
            "open_invoices": [{"id": "in_5", "status": "open", "attempt_count": 1}],
            "recent_payment_failures": [
                {
                    "charge": "ch_77",
                    "created": "2027-03-03T10:00:00Z",
                    "failure_code": "card_declined",
                    "failure_message": "Your card has expired.",
                    "outcome_reason": reason,
                }
            ],
        },
        "c3",
        "billing_account",
    )


def test_a_declined_card_on_an_active_subscription_is_the_customers_to_fix() -> None:
    ev = Evidence(summary=summary(0), billing=declined())
    # A French ticket about the subscription's payment: billing words in another language count.
    h = best(assess(state("Le paiement de notre abonnement a échoué, pourquoi ?"), ev))
    assert h.category == "billing_card_declined" and h.action == "resolve" and h.confidence >= 0.75
    assert "expired_card" in {c.value for c in h.evidence}
    # A ticket about something else only mentions it: it does not become the diagnosis.
    other = assess(state("The reports page shows yesterday's numbers twice"), ev)
    card = next(x for x in other.hypotheses if x.category == "billing_card_declined")
    assert card.confidence < 0.5


def test_a_german_ticket_with_a_server_error_is_not_vague() -> None:
    ev = Evidence(
        summary=summary(40, status=500, base_rate=0.0001),
        top=top([row(500, "internal", 40, path="/v2/shipments/bulk")]),
        billing=billing(),
        bugs=[
            (
                issue(
                    "TRK-88",
                    "Bulk shipments with hazmat items fail with internal error",
                    "Todo",
                    "Send hazmat items in their own bulk request.",
                ),
                "c9",
            )
        ],
    )
    diff = assess(
        state("Seit Montag schlagen unsere Bulk-Sendungen mit Hazmat fehl (Serverfehler).", "Hazmat bulk"), ev
    )
    h = best(diff)
    assert h.category == "known_bug" and "TRK-88" in {c.value for c in h.evidence}
    assert not any("names no concrete symptom" in x.statement for x in diff.hypotheses)


def test_a_4xx_many_accounts_get_now_and_then_is_compared_as_a_rate() -> None:
    mine = [row(422, "bad_currency", 230, path="/api/charges")]
    # Nine other accounts got 300 of the same over 60 000 requests: 0.5 %, against this one's 5.8 %.
    shared = TopErrors.model_validate(
        {
            "requests": 4000,
            "errors": 230,
            "top": mine,
            "others": [elsewhere(422, "bad_currency", 9, 300)],
            "others_requests": 60000,
        }
    )
    ev = Evidence(
        summary=summary(230, status=422, base_rate=0.002),
        top=cited(TopErrors, shared.model_dump(), "c2", "logs_top_errors"),
        billing=billing(),
    )
    diff = assess(state("Since our update most payments are refused with 422"), ev)
    assert diff.scope.startswith("this account")
    h = best(diff)
    assert h.category == "customer_error" and h.confidence >= 0.7
    # Without their volume, the old count rule stands (300 ≥ half of 230): "many accounts".
    unknown = shared.model_copy(update={"others_requests": 0})
    ev.top = cited(TopErrors, unknown.model_dump(), "c2", "logs_top_errors")
    assert assess(state("Since our update most payments are refused with 422"), ev).scope == "many accounts"


def _regression_evidence(message: str) -> Evidence:
    sha = "f" * 40
    return Evidence(
        summary=summary(150, status=400, base_rate=0.002),
        top=top([row(400, "invalid_parameter", 150, path="/api/orders", first="2027-03-04T09:05:00.000Z")]),
        billing=billing(),
        deploys=deploys(
            ("acme-co/core", sha, "2027-03-04T09:00:00Z"), ("acme-co/core", "b" * 40, "2027-03-01T09:00:00Z")
        ),
        compares={
            sha: cited(
                Compare,
                {
                    "repo": "acme-co/core",
                    "base": "b" * 40,
                    "head": sha,
                    "commits": [{"message": message}],
                    "files": [{"filename": "services/orders/labels.go"}],
                },
                "c5",
                "deploys_compare",
            )
        },
    )


def test_a_400_described_in_the_words_of_our_last_change_is_our_regression() -> None:
    ticket = "Some order creations fail with 400 since this morning, only orders where we attach gift labels."
    h = best(assess(state(ticket), _regression_evidence("orders: limit gift labels to 40 chars (#88)")))
    assert h.category == "deploy_regression" and "labels" in " ".join(h.reasons)
    # The same errors, but the ticket does not describe the change: the customer's side.
    other = best(
        assess(
            state("Some order creations fail with 400 since this morning."), _regression_evidence("orders: x")
        )
    )
    assert other.category == "customer_error"


def test_a_bug_filed_before_the_deploy_that_broke_the_endpoint_explains_less() -> None:
    sha = "e" * 40
    ev = Evidence(
        summary=summary(
            60, status=500, base_rate=0.0001, spike={"start": "2027-03-04T11:00:00.000Z", "status": 500}
        ),
        top=top([row(500, "internal", 60, path="/api/exports/bulk", first="2027-03-04T11:04:00.000Z")]),
        billing=billing(),
        deploys=deploys(
            ("acme-co/core", sha, "2027-03-04T11:00:00Z"), ("acme-co/core", "c" * 40, "2027-03-01T10:00:00Z")
        ),
        compares={sha: compare("acme-co/core", sha, ["src/exports/bulk.py"])},
        bugs=[
            (
                issue(
                    "TRK-12",
                    "Bulk exports with archived rows fail with internal error",
                    "Todo",
                    "Unarchive first.",
                    created_at="2027-02-20T09:00:00.000Z",
                ),
                "c9",
            )
        ],
    )
    diff = assess(state("Every bulk export fails with 500 since 11:00 today", "Bulk exports down"), ev)
    assert best(diff).category == "deploy_regression"
    bug = next(h for h in diff.hypotheses if h.category == "known_bug")
    assert bug.confidence <= best(diff).confidence - 0.15
    # A runbook naming that bug gives way: the differential lists it, but far below the deploy.
    assert not weigh("known_bug", 0.85, {"TRK-12"}, diff).use_runbook


def test_a_browser_bug_finding_gives_way_to_a_tracked_bug_about_the_page() -> None:
    tracked = Hypothesis(category="known_bug", confidence=0.85, statement="s", summary="s", reply="r")
    assert not weigh("ui_browser", 0.7, set(), Differential(hypotheses=[tracked])).use_runbook
    weak = tracked.model_copy(update={"confidence": 0.5})
    assert weigh("ui_browser", 0.7, set(), Differential(hypotheses=[weak])).use_runbook


def test_an_unowned_cause_goes_to_its_categorys_team_and_an_unknown_requester_to_the_front_line() -> None:
    s = state("Card payments are failing for many of our customers right now")
    s.differential = Differential(
        hypotheses=[
            Hypothesis(
                category="platform_incident",
                confidence=0.7,
                statement="many accounts",
                summary="s",
                reply="r",
            )
        ]
    )
    diagnosis = offline_diagnosis(s)
    # routing.yaml sends platform incidents to the SRE symptom's team, whatever runbook matched.
    assert diagnosis["escalation"]["team"] == "sre"
    s.account = None
    assert offline_diagnosis(s)["escalation"]["team"] == "support-l2"


def test_a_bug_about_another_status_does_not_explain_the_accounts_errors() -> None:
    bug = issue(
        "TRK-31",
        "Bulk payouts with foreign items fail with internal error",
        "Todo",
        "Send foreign items alone.",
    )
    ev = Evidence(
        summary=summary(30, status=413, base_rate=0.0),
        top=top([row(413, "bulk_too_large", 30, path="/api/payouts/bulk")]),
        billing=billing(),
        bugs=[(bug, "c9")],
    )
    diff = assess(state("Our bulk payouts are rejected again", "Bulk payouts rejected"), ev)
    assert best(diff).category == "billing_plan_limit"
    listed = next(h for h in diff.hypotheses if h.category == "known_bug")
    assert "describes HTTP 500" in " ".join(listed.reasons) and listed.confidence <= 0.6
    # The same bug, when the account does get 500s, is the explanation.
    ev.summary = summary(30, status=500, base_rate=0.0)
    ev.top = top([row(500, "internal", 30, path="/api/payouts/bulk")])
    assert (
        best(assess(state("Our bulk payouts fail with a server error", "Bulk payouts failing"), ev)).category
        == "known_bug"
    )


def test_when_it_began_is_read_in_german_french_and_spanish() -> None:
    thursday = datetime(2027, 3, 4, 9, 30, tzinfo=UTC)
    cases = {
        "Seit Dienstag schlagen unsere Exporte fehl": ("since tuesday", datetime(2027, 3, 2, tzinfo=UTC)),
        "Depuis hier soir nos envois sont refusés": (
            "since yesterday evening",
            datetime(2027, 3, 3, tzinfo=UTC),
        ),
        "Il y a trois heures, tout a cessé": ("three hours ago", datetime(2027, 3, 4, 6, 30, tzinfo=UTC)),
        "Desde anoche fallan los pagos": ("since last night", datetime(2027, 3, 3, 18, tzinfo=UTC)),
        "Hace 2 horas que no llegan": ("2 hours ago", datetime(2027, 3, 4, 7, 30, tzinfo=UTC)),
    }
    for text, (phrase, start) in cases.items():
        # as extract_signals reads a ticket: with its phrases (time words included) in English too
        hint, begins, _ = extract_time_window(reading(text), thursday)
        assert (hint, begins) == (phrase, start), text
    # A German "hier" is "here": no time in it, the default window.
    assert extract_time_window(reading("Hier ist unser Log"), thursday)[0] is None
    assert extract_time_window(reading("vor zwei Stunden ging es noch"), thursday)[0] == "two hours ago"
    # clock notations are read in English whatever the words
    assert in_english(reading("seit 10 Uhr")).endswith("since 10:00")
    assert in_english("um 10.30 Uhr, à 9h") == "um 10:30, à 9:00"


def test_product_areas_are_read_in_german_french_and_spanish() -> None:
    from casefile.agent.phrasebook import reading
    from casefile.agent.signals import extract_areas

    def areas(text: str) -> list[str]:  # as extract_signals reads a ticket: with its phrases in English
        return extract_areas(reading(text))

    assert "sso" in areas("Unsere Mitarbeiter können sich nicht mehr anmelden")
    assert "sso" not in areas("Connexion refusée par notre base de données")  # a connection, not a login
    assert "performance" in areas("La API está muy lenta desde ayer")
    assert "data" in areas("Les totaux ne correspondent pas, problème de fuseau horaire ?")
    assert "ui" in areas("La página se queda en blanco en el navegador")
    assert "export" in areas("Wir können den Bericht nicht exportieren")
    # the words these areas are read by are the languages' data, not the English rules
    assert extract_areas("Wir können den Bericht nicht exportieren") == []


def test_error_semantics_beyond_the_obvious_codes() -> None:
    from casefile.agent.differential import classify

    assert classify(403, "feature_unavailable_on_plan") == "plan_limit"
    assert classify(403, "requires_enterprise_plan") == "plan_limit"
    assert classify(401, "missing_api_key") == "credentials"
    assert classify(400, "missing_parameter") == "validation"
    assert classify(502, "invalid_response") == "server"  # a 5xx whose code says "invalid" is still ours


def test_naming_our_component_is_blame_not_a_description_of_the_change() -> None:
    ev = _regression_evidence("sync workers: log the refusal reason (#12)")
    ev.compares["f" * 40].data.repo = "acme-co/sync-workers"
    for d in ev.deploys.data.deployments:  # type: ignore[union-attr]
        d.repo = "acme-co/sync-workers"
    ticket = (
        "Every order creation fails with 400 since this morning. Your sync workers were updated, check them."
    )
    assert best(assess(state(ticket), ev)).category == "customer_error"


def test_a_german_ticket_finds_the_english_bug_by_its_translated_words() -> None:
    from casefile.agent.differential.queries import bug_queries

    s = state(
        "Seit gestern schlagen teilweise Erstattungen mit Fremdwährung fehl.", "Teil-Erstattungen kaputt"
    )
    queries = bug_queries(s, Evidence())
    assert "refund" in queries[0] and "partial" in queries[0] and "currency" in queries[0]
    bug = issue(
        "TRK-40",
        "Partial refunds in a foreign currency are rejected",
        "In Progress",
        "Refund the full amount and charge the difference.",
    )
    ev = Evidence(summary=summary(0), billing=billing(), bugs=[(bug, "c9")])
    h = next(h for h in assess(s, ev).hypotheses if h.category == "known_bug")
    assert "TRK-40" in {c.value for c in h.evidence}


def test_a_429_whose_code_names_a_plans_allowance_is_the_plan_not_throttling() -> None:
    from casefile.agent.differential import classify

    assert classify(429, "parcel_allotment_exceeded") == "plan_limit"
    assert classify(429, "monthly_cap_reached") == "plan_limit"
    assert classify(429, "throttled") == "rate_limit"  # plain throttling stays throttling
    ev = Evidence(
        summary=summary(40, status=429),
        top=top([row(429, "label_allowance_exceeded", 40)]),
        billing=billing(),
    )
    diff = assess(state("Every label we print is refused with 429; your rate limiter is wrong"), ev)
    assert best(diff).category == "billing_plan_limit"


def test_webhooks_and_identity_providers_by_other_names() -> None:
    from casefile.agent.signals import extract_areas

    assert "webhook" in extract_areas("Since last night we stopped receiving shipment-delivered events")
    assert "webhook" in extract_areas("Our listener gets nothing from your event hooks")
    assert "webhook" not in extract_areas("The totals in the report are wrong")
    assert "sso" in extract_areas("Staff can no longer get in with Google Workspace")
    assert "sso" in extract_areas("We log on via Microsoft and it fails")


def test_an_idp_saying_our_app_is_not_configured_for_the_user_is_their_configuration() -> None:
    from casefile.agent.differential.sources import sso_causes

    logins = sso_logins("app_unknown_to_tenant: Service is not configured for this user", 50, 15)
    found, _ = sso_causes(state("Some staff cannot sign in with their work account"), Evidence(logins=logins))
    assert [h.category for h in found] == ["sso_config"]
    assert found[0].action == "resolve"


def test_a_bug_in_the_past_tense_matches_the_customers_present_tense() -> None:
    from casefile.agent.differential.queries import stems

    assert stems(["tapped", "dragged", "exported", "rolled"]) == {"tap", "drag", "export", "roll"}
    assert stems(["tap", "drag", "exports"]) == {"tap", "drag", "export"}
    assert stems(["card_declined", "need"]) == {"card_declined", "need"}  # codes and short words stay


def test_one_reported_error_of_an_incident_other_accounts_shared_is_a_small_accounts_share() -> None:
    ev = Evidence(
        summary=summary(6, requests=300, by_status={503: (1, 0.0), 500: (1, 0.001), 404: (4, 0.01)}),
        top=top(
            [
                row(
                    503,
                    "backend_unavailable",
                    1,
                    first="2027-03-04T06:10:00.000Z",
                    last="2027-03-04T06:10:00.000Z",
                ),
                row(
                    500,
                    "internal_error",
                    1,
                    first="2027-03-04T01:00:00.000Z",
                    last="2027-03-04T01:00:00.000Z",
                ),
                row(404, "record_not_found", 4),
            ],
            others=[elsewhere(503, "backend_unavailable", 7, 800)],
        ),
        billing=billing(),
    )
    h = best(assess(state("Our nightly batch failed this morning, it got 503s. Are you still down?"), ev))
    assert h.category == "platform_incident"
