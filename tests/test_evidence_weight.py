"""How evidence is weighed (session 9), on invented companies: rules about the shape of the evidence.

A deploy that reached one stack of production concerns the accounts that stack serves; a webhook
outage known to the hour is dated by the deploy inside its first failing bucket; a bug matched on words
alone yields to what the evidence shows failing; an improvement on the tracker is no known bug. No bundled
world's names.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_differential import (
    best,
    billing,
    cited,
    elsewhere,
    issue,
    latency_evidence,
    row,
    sso_logins,
    state,
    summary,
    top,
)

from casefile.agent.catalog import Catalog, Component
from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.known_bug import words_only
from casefile.agent.differential.model import Hypothesis
from casefile.agent.differential.queries import docs_query
from casefile.agent.differential.topic import unread
from casefile.agent.models.offline import missing_source_cost
from casefile.tools.deploys_results import Deployment, DeploysList
from casefile.tools.logs_results import Latency, WebhookDeliveries

# NOW is 2027-03-04T15:00Z (test_differential.state).

_CATALOG = Catalog(
    components=[
        Component(id="ferry-api", kind="api", repos=["ferrywell/crossings"], paths=["/v2/"], team="core-eng")
    ]
)


@pytest.mark.parametrize(
    ("environment", "production", "stack"),
    [
        ("production", True, None),
        (None, True, None),
        ("prod", True, None),
        ("production-ap", True, "ap"),
        ("prod_sa", True, "sa"),
        ("north-production", True, "north"),
        ("staging", False, None),
        ("production-preview-3", False, None),
        ("preproduction", False, None),
    ],
)
def test_a_production_environment_and_the_stack_it_names(
    environment: str | None, production: bool, stack: str | None
) -> None:
    d = Deployment(repo="ferrywell/crossings", sha="a" * 40, environment=environment, created_at="2027-03-04")
    assert (d.production, d.stack, d.live) == (production, stack, production)


def _stacked(environment: str, served_in: str) -> Evidence:
    """500s on one route since 09:12 at this account and six others; a deploy of the API's repository
    to ``environment`` at 09:10; the account's requests served in ``served_in``."""
    deployments: list[dict[str, Any]] = [
        {
            "repo": "ferrywell/crossings",
            "sha": sha,
            "ref": ref,
            "environment": env,
            "created_at": at,
            "status": "success",
        }
        for sha, ref, env, at in (
            ("b" * 40, "crossings-8.1.0", environment, "2027-03-04T09:10:00Z"),
            ("c" * 40, "crossings-8.0.4", "production-ap", "2027-03-02T09:00:00Z"),
            ("c" * 40, "crossings-8.0.4", "production-sa", "2027-03-02T14:00:00Z"),
        )
    ]
    return Evidence(
        summary=summary(
            140,
            status=500,
            base_rate=0.0,
            spike={
                "start": "2027-03-04T09:10:00.000Z",
                "first_error_at": "2027-03-04T09:12:00.000Z",
                "status": 500,
            },
        ),
        top=top(
            [row(500, "fault", 140, path="/v2/crossings/{id}", first="2027-03-04T09:12:00.000Z")],
            others=[elsewhere(500, "fault", 6, 900)],
        ),
        billing=billing(),
        deploys=cited(DeploysList, {"deployments": deployments}, "c4", "deploys_list"),
        served=cited(
            Latency,
            {"scope": "account", "by_region": [{"region": served_in, "requests": 4000}]},
            "c8",
            "logs_latency",
        ),
    )


_TICKET = "Rebooking a crossing gives HTTP 500 since this morning; new bookings still work."


def test_a_deploy_to_the_stack_that_serves_the_account_is_the_regression_of_its_accounts() -> None:
    # Every account on that stack fails right after: a regression of that deploy, not a platform incident.
    diff = assess(state(_TICKET, catalog=_CATALOG), _stacked("production-ap", "ap-south-1"))
    h = best(diff)
    assert h.category == "deploy_regression", diff.render()
    assert h.team == "core-eng" and "crossings-8.1.0" in h.statement


def test_a_deploy_to_another_stack_is_ruled_out_for_this_account() -> None:
    diff = assess(state(_TICKET, catalog=_CATALOG), _stacked("production-sa", "ap-south-1"))
    assert best(diff).category == "platform_incident", diff.render()
    assert "b" * 40 in diff.ruled_out_deploys
    assert any("production-sa" in r and "ap-south-1" in r for r in diff.ruled_out)
    # Where the account is served is not known (or names no stack): no deploy is set aside for its stack.
    diff = assess(state(_TICKET, catalog=_CATALOG), _stacked("production-sa", "dc2"))
    assert best(diff).category == "deploy_regression", diff.render()


def _outage_in_hour_buckets() -> Evidence:
    """Every account's deliveries failing in the 06:00 and 07:00 hour buckets (known to the hour only);
    the delivering service deployed at 06:05 (inside the first failing hour) and again at 07:00 (its
    revert, at that hour's end)."""
    history = [
        {"hour": f"2027-03-04T{h:02d}:00:00.000Z", "attempts": 30, "failures": 28 if h in (6, 7) else 0}
        for h in range(0, 15)
    ]
    data = {
        "attempts": 450,
        "failures": 56,
        "failure_rate": 56 / 450,
        "history": history,
        "endpoint_urls": ["https://ehr.tallowmere.example/hooks"],
        "platform": {"attempts": 9000, "failures": 1900, "failure_rate": 0.21},
    }
    return Evidence(
        summary=summary(0, status=500),
        billing=billing(),
        webhooks=cited(WebhookDeliveries, data, "c6", "logs_webhook_deliveries"),
        webhooks_interval=cited(
            WebhookDeliveries,
            data | {"attempts": 60, "failures": 56, "failure_rate": 56 / 60, "history": history[6:8]},
            "c7",
            "logs_webhook_deliveries",
        ),
        deploys=cited(
            DeploysList,
            {
                "deployments": [
                    {
                        "repo": "tallowmere/pushers",
                        "sha": sha,
                        "ref": ref,
                        "environment": "production",
                        "created_at": at,
                    }
                    for sha, ref, at in (
                        ("e" * 40, "pushers-3.1.0", "2027-03-04T06:05:00Z"),
                        ("f" * 40, "pushers-3.1.1", "2027-03-04T07:00:00Z"),
                        ("a" * 40, "pushers-3.0.9", "2027-03-01T10:00:00Z"),
                    )
                ]
            },
            "c4",
            "deploys_list",
        ),
    )


_PUSHERS = Catalog(
    components=[Component(id="pushers", kind="webhooks", repos=["tallowmere/pushers"], team="integrations")]
)


def test_a_deploy_inside_the_first_failing_bucket_is_the_suspect_not_the_one_at_its_end() -> None:
    ticket = (
        "Updates booked between 6 and 8 this morning were missing in our EHR until later. Anything to resend?"
    )
    h = best(assess(state(ticket, catalog=_PUSHERS), _outage_in_hour_buckets()))
    assert h.category == "webhook_platform", h
    assert "pushers-3.1.0" in h.statement and "pushers-3.1.1" not in h.statement
    assert h.deploy_sha == "e" * 40


def test_a_bug_matched_on_words_alone_yields_to_what_the_evidence_shows() -> None:
    ticket = (
        "Updates booked between 6 and 8 this morning were missing in our EHR until later. Anything to resend?"
    )
    ev = _outage_in_hour_buckets()
    # An open bug about another thing that happens to share the ticket's words ("booked", "updates").
    ev.bugs = [
        (
            issue(
                "TLW-41",
                "Updates booked on a moved shift show the old time",
                "In Progress",
                workaround="Reload the day view.",
            ),
            "c9",
        )
    ]
    diff = assess(state(ticket, catalog=_PUSHERS), ev)
    assert best(diff).category == "webhook_platform", diff.render()
    bug = next(h for h in diff.hypotheses if h.category == "known_bug")
    assert any("names none of what fails" in r for r in bug.reasons)
    # A customer who asks for a known problem's workaround describes the bug's symptom themselves.
    asked = assess(state(f"{ticket} Is this a known issue? Any workaround?", catalog=_PUSHERS), ev)
    bug = next(h for h in asked.hypotheses if h.category == "known_bug")
    assert not any("names none of what fails" in r for r in bug.reasons), asked.render()


@pytest.mark.parametrize(
    ("labels", "chosen"), [(["Bug", "console"], True), (["Improvement", "console"], False)]
)
def test_an_improvement_on_the_tracker_is_not_a_known_bug(labels: list[str], chosen: bool) -> None:
    ticket = "The night shift view of the console cuts our overnight tours in two. Which day is right?"
    wish = issue(
        "KLM-88", "Console: night shift view for overnight tours", "Backlog", labels=labels, description=""
    )
    diff = assess(
        state(ticket), Evidence(summary=summary(0, status=500), billing=billing(), bugs=[(wish, "c9")])
    )
    assert any(h.category == "known_bug" for h in diff.hypotheses) is chosen, diff.render()


def test_refusals_that_say_the_account_is_unpaid_are_the_enforcement_even_when_steady() -> None:
    # Past due for a week: its API has refused the same share of requests all along (nothing grew).
    unpaid = row(400, "PRECONDITION/LEDGER_UNPAID", 30, path="/v4/zones", first="2027-03-03T01:00:00.000Z")
    unpaid["before"] = 140
    errors = top([unpaid])
    errors.data.baseline_requests = 20000
    ev = Evidence(
        summary=summary(30, status=400, base_rate=0.007), top=errors, billing=billing("past_due", False)
    )
    h = best(
        assess(state("Since your update yesterday every new zone we send is refused. Please fix it."), ev)
    )
    assert h.category == "billing_past_due" and h.confidence >= 0.8, h
    assert "PRECONDITION/LEDGER_UNPAID" in h.statement


def test_a_source_down_costs_less_when_two_lines_of_evidence_agree() -> None:
    assert missing_source_cost(agreed=False) == 0.1
    # 0.85 + 0.03 for the agreement, one corroborating source down: still above a 0.8 threshold.
    assert 0.85 + 0.03 - missing_source_cost(agreed=True) >= 0.8


def _platform_slowdown(mine: dict[str, Any]) -> Evidence:
    """No errors; three of six accounts far slower than their own baseline; ``mine``: this account's latency."""
    everyone = {"scope": "all", "accounts_compared": 6, "p95_ratios": [15.6, 9.1, 8.8, 1.0, 0.9, 1.1]}
    return latency_evidence(mine, everyone)


def test_a_platform_slowdown_names_the_endpoint_the_account_waits_on() -> None:
    mine = {
        "scope": "account",
        "p95_ms": 900.0,
        "baseline": {"p95_ms": 300.0},
        "by_endpoint": [
            {"path": "/v1/berths", "requests": 4000, "p95_ms": 320.0, "baseline_p95_ms": 300.0},
            {"path": "/v1/berths/availability", "requests": 700, "p95_ms": 6400.0, "baseline_p95_ms": 410.0},
        ],
        "slowest": [{"trace_id": "tr-77c0", "path": "/v1/berths/availability", "latency_ms": 9000.0}],
    }
    ev = _platform_slowdown(mine)
    h = best(assess(state("Looking up free berths takes forever since this morning"), ev))
    assert h.category == "performance_platform", h
    assert "/v1/berths/availability" in h.statement
    assert h.evidence[0].value == "/v1/berths/availability"


def test_an_incident_whose_record_the_tickets_words_found_too_is_confirmed() -> None:
    # Every account's 503 on one route since 13:00, still going on; the tracker's open incident issue
    # covers that time, and the ticket's words find it as well.
    mine = row(503, "ledger_unavailable", 12, path="/v3/postings", first="2027-03-04T13:00:00.000Z")
    shared = elsewhere(503, "ledger_unavailable", 7, 700) | {
        "first_at": "2027-03-04T12:58:00.000Z",
        "last_at": "2027-03-04T14:58:00.000Z",
    }
    errors = top([mine], others=[shared])
    errors.data.baseline_requests, errors.data.others_requests = 20000, 90000
    record = issue(
        "OPS-31",
        "Postings answer 503 ledger_unavailable (ledger store)",
        "In Progress",
        created_at="2027-03-04T13:10:00Z",
        labels=["Incident"],
    )
    ev = Evidence(
        summary=summary(12, status=503, base_rate=0.0), top=errors, billing=billing(), bugs=[(record, "c8")]
    )
    diff = assess(state("Since 13:00 our postings answer 503, the ledger seems unavailable."), ev)
    h = best(diff)
    assert h.category == "platform_incident" and h.confidence >= 0.8, diff.render()
    assert "OPS-31" in h.statement and h.action == "escalate"


def test_a_platform_slowdown_does_not_name_an_endpoint_the_account_is_not_slow_on() -> None:
    mine = {
        "scope": "account",
        "p95_ms": 310.0,
        "baseline": {"p95_ms": 300.0},
        "by_endpoint": [{"path": "/v1/berths", "requests": 4000, "p95_ms": 310.0, "baseline_p95_ms": 300.0}],
    }
    h = best(assess(state("Everything takes forever since this morning"), _platform_slowdown(mine)))
    assert h.category == "performance_platform" and "/v1/berths" not in h.statement, h


def test_the_help_center_is_searched_with_the_failures_words_before_an_unread_tickets_own() -> None:
    body = (
        "Καλημέρα, σήμερα το πρωί αρκετοί γιατροί και υπάλληλοι της ρεσεψιόν είδαν μια σελίδα σφάλματος "
        "όταν μπήκαν στο σύστημα ραντεβού με τον λογαριασμό του κέντρου, και όταν ξαναδοκίμασαν μετά από ένα "
        "ή δύο λεπτά η είσοδος λειτούργησε κανονικά. Συνέβη περίπου από τις οκτώ έως τις έντεκα και μισή."
    )
    ev = Evidence(
        summary=summary(0, status=500),
        billing=billing(),
        logins=sso_logins("Assertion rejected: NotBefore is in the future (clock skew 140s)", 139, 4),
    )
    query = docs_query(state(body, subject="Σφάλμα στην πρώτη είσοδο"), ev).lower().split()
    assert {"notbefore", "clock", "skew"} <= set(query), query
    # An English ticket's own words come first, as before: they say what the customer means.
    english = docs_query(state("Our staff had to sign in twice this morning, the first try failed."), ev)
    assert english.split().index("twice") < english.split().index("notbefore")


def _ongoing_incident(first: str) -> Evidence:
    """503 ``relay_backpressure`` at this account and eight others since ``first``, still going on."""
    mine = row(
        503,
        "relay_backpressure",
        30,
        path="relay/{unit}/beacon",
        first=first,
        last="2027-03-04T14:58:00.000Z",
    )
    shared = elsewhere(503, "relay_backpressure", 8, 900) | {
        "first_at": first,
        "last_at": "2027-03-04T14:59:00.000Z",
    }
    errors = top([mine], others=[shared])
    errors.data.baseline_requests, errors.data.others_requests = 20000, 90000
    return Evidence(summary=summary(30, status=503, base_rate=0.0), top=errors, billing=billing())


def test_an_ongoing_incident_since_the_time_a_vague_ticket_names_is_what_it_points_at() -> None:
    ticket = state("Past hour and a half the pins of our vans on the board look old. Is it us or you?")
    assert unread(ticket) == "vague"
    diff = assess(ticket, _ongoing_incident("2027-03-04T13:25:00.000Z"))
    h = best(diff)
    assert h.category == "platform_incident" and h.confidence >= 0.7, diff.render()
    # An incident that began the day before is not what "the past hour and a half" points at.
    diff = assess(ticket, _ongoing_incident("2027-03-03T09:00:00.000Z"))
    assert best(diff).category == "insufficient_evidence", diff.render()


def test_a_bug_does_not_yield_to_the_regression_it_may_have_been_filed_about() -> None:
    def cause(category: str, confidence: float) -> Hypothesis:
        return Hypothesis(category=category, confidence=confidence, statement="", summary="", reply="")

    bug = cause("known_bug", 0.85)
    words_only(bug, [bug, cause("deploy_regression", 0.8)])
    assert bug.confidence == 0.85
    words_only(bug, [bug, cause("billing_plan_limit", 0.8)])
    assert bug.confidence == 0.75
