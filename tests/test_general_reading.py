"""General rules of support reasoning that hold for any company, on invented names: signing in with
a consumer account of an IdP is SSO, "the rest of us" is not a REST API, and a ticket about
signing in is not answered by the account's API errors. No bundled world's names."""

from __future__ import annotations

from test_differential import best, billing, cited, outage_evidence, row, state, summary, top

from casefile.agent.differential import Evidence, assess
from casefile.agent.signals import extract_areas
from casefile.tools.logs_results import SsoLogins


def test_signing_in_with_a_consumer_account_of_an_idp_is_sso() -> None:
    for text in (
        "Two new clerks cannot get into Lanternfold with their Google accounts",
        "Since Tuesday nobody can log on using our Microsoft accounts",
        "Is the Apple login broken for the warehouse team?",
    ):
        assert "sso" in extract_areas(text), text
    # Naming the vendor elsewhere is not a sign-in.
    assert "sso" not in extract_areas("We export the totals to a Google sheet every night")


def test_the_rest_of_us_is_not_a_rest_api() -> None:
    assert "api" not in extract_areas("Some of our staff cannot sign in; the rest of us can.")
    assert "api" in extract_areas("Our REST client gets timeouts")
    assert "api" in extract_areas("the rest api answers slowly")


def test_a_ticket_about_signing_in_is_not_answered_by_unrelated_api_errors() -> None:
    ev = outage_evidence(
        503, "backend_unavailable", 40, ("2027-03-04T06:00:00.000Z", "2027-03-04T06:40:00.000Z"), (6, 300)
    )
    logins = cited(
        SsoLogins,
        {
            "attempts": 120,
            "failures": 9,
            "top_errors": [
                {"error": "app_not_enabled_for_user: Service is not enabled for this user", "count": 9}
            ],
        },
        "c9",
        "logs_sso_logins",
    )
    ev.logins = logins
    diff = assess(
        state("Some new clerks cannot get into Lanternfold with their Google accounts; the rest of us can."),
        ev,
    )
    assert best(diff).category == "sso_config"
    incident = next(h for h in diff.hypotheses if h.category == "platform_incident")
    assert "not failing API requests" in " ".join(incident.reasons)
    # The statement does not invent an onset the logs do not give.
    assert "since None" not in best(diff).statement
    # The same errors answer a ticket that names them.
    named = assess(state("Every call to the API fails with 503 since 06:00"), Evidence(**vars(ev)))
    assert best(named).category == "platform_incident"


def test_an_integration_that_cannot_log_in_is_answered_by_its_api_errors() -> None:
    # "can't log in" without failing SSO logins may be an integration's credentials: the API errors stand.
    ev = Evidence(
        summary=summary(30, status=401),
        top=top([row(401, "invalid_client", 30, path="/oauth/token")]),
        billing=billing(),
    )
    diff = assess(state("Since this morning our integration can't log in to Lanternfold."), ev)
    h = best(diff)
    assert h.category == "customer_error"
    assert "not failing API requests" not in " ".join(h.reasons)


def test_a_hyphenated_compound_matches_the_bugs_separate_words() -> None:
    from test_differential import issue

    title = "Ledger file: Zentrix amounts rounded to whole kronor"
    bug = issue("TRK-41", title, "In Progress", "Use the CSV ledger instead of the Zentrix file.")
    ev = Evidence(summary=summary(0), billing=billing(), bugs=[(bug, "c9")])
    diff = assess(
        state("Sedan i veckan avrundar Zentrix-filen beloppen till hela kronor. Är det ett känt fel?"), ev
    )
    h = best(diff)
    assert h.category == "known_bug" and h.action == "resolve"
    assert "TRK-41" in {c.value for c in h.evidence}


def test_an_opaque_code_means_what_the_help_center_says_it_means() -> None:
    from casefile.agent.differential.codes import opaque
    from casefile.tools.docs import DocsSearchResult

    assert opaque("ZX4471") and opaque("40317") and not opaque("seat_limit_reached")
    refused = top([row(403, "ZX4471", 6, path="/rpc/Members.Add")])
    plain = best(
        assess(
            state("Adding members is forbidden since this morning"),
            Evidence(summary=summary(6, status=403), top=refused, billing=billing()),
        )
    )
    assert plain.category == "customer_error"  # a 403 by its status alone: a permission
    article = {
        "id": 7,
        "title": "Seats included in each plan",
        "url": "https://help.lanternfold.example/hc/articles/7",
        "snippet": "Each plan covers a number of seats. Past it, adding members is refused with ZX4471 until you upgrade.",
        "labels": [],
    }
    docs = cited(
        DocsSearchResult, {"query": "ZX4471", "count": 1, "articles": [article]}, "c12", "docs_search"
    )
    ev = Evidence(summary=summary(6, status=403), top=refused, billing=billing(), code_docs={"ZX4471": docs})
    h = best(assess(state("Adding members is forbidden since this morning"), ev))
    assert h.category == "billing_plan_limit"
    assert {"ZX4471", "Seats included in each plan"} <= {c.value for c in h.evidence}
    # an article that names another code explains nothing about this one
    other = dict(article, snippet="Past it, adding members is refused with ZX4472.")
    docs = cited(DocsSearchResult, {"query": "ZX4471", "count": 1, "articles": [other]}, "c12", "docs_search")
    ev.code_docs = {"ZX4471": docs}
    assert (
        best(assess(state("Adding members is forbidden since this morning"), ev)).category == "customer_error"
    )


def test_release_tags_of_any_format_are_deploys() -> None:
    from casefile.agent.similar.evidence import evidence_keys

    keys = evidence_keys(
        "500s since your release r2026.45.2 (after v5.12.0 and relay-2.8.1), build 2.5 went fine"
    )
    assert {"deploy:r2026.45.2", "deploy:v5.12.0", "deploy:relay-2.8.1"} <= keys
    assert "deploy:2.5" not in keys


def test_a_background_error_of_the_same_class_does_not_date_the_new_trouble() -> None:
    # A usual stray 500 on another endpoint at 07:55 must not put the onset before an 08:00 deploy
    # after which bulk sends began failing at 08:04.
    from test_differential import compare, deploys

    rows = [
        {
            **row(500, "internal_fault", 4, path="/v2/bulk_sends", first="2027-03-04T08:04:00.000Z"),
            "before": 1,
        },
        {
            **row(500, "internal_fault", 1, path="/v2/letters/{id}", first="2027-03-04T07:55:00.000Z"),
            "before": 6,
        },
    ]
    errors = top(rows)
    errors.data.baseline_requests = 40000
    ev = Evidence(
        summary=summary(5, status=500),
        top=errors,
        billing=billing(),
        deploys=deploys(("acme/letters", "a1b2c3d4e5f6", "2027-03-04T08:00:00Z")),
        compares={"a1b2c3d4e5f6": compare("acme/letters", "a1b2c3d4e5f6", ["app/bulk_sends/chunker.rb"])},
    )
    diff = assess(state("We get 500 errors for our bulk sends since this morning. Is there an outage?"), ev)
    assert diff.onset == "2027-03-04T08:04:00.000Z"
    h = best(diff)
    assert h.category == "deploy_regression" and "a1b2c3d" in h.statement


def test_numbers_shown_on_a_page_are_a_counting_question_not_a_failing_page() -> None:
    ev = outage_evidence(
        503, "backend_unavailable", 40, ("2027-03-04T06:00:00.000Z", "2027-03-04T06:40:00.000Z"), (6, 300)
    )
    text = "The per-day totals in the Lanternfold dashboard don't match our own reports."
    assert {"ui", "data"} <= set(extract_areas(text))
    incident = next(h for h in assess(state(text), ev).hypotheses if h.category == "platform_incident")
    assert "not failing API requests" in " ".join(incident.reasons)
    # a page that fails is still answered by the API errors behind it
    failing = "The Lanternfold dashboard shows an error page since 06:00."
    incident = next(
        h
        for h in assess(state(failing), Evidence(**vars(ev))).hypotheses
        if h.category == "platform_incident"
    )
    assert "not failing API requests" not in " ".join(incident.reasons)


def test_events_that_went_missing_were_not_delivered_not_miscounted() -> None:
    areas = extract_areas("We did not get the missing events from this morning, will they be sent again?")
    assert "webhook" in areas and "data" not in areas
    assert "data" in extract_areas("Some records are missing orders from last week's export totals")
