"""Structural rules of evidence weighing (session 7), each on invented companies and words.

What a senior engineer does whatever the product calls things: looks at the account's deliveries
when the ticket names no other trouble, lets the evidence decide when the ticket's words are not
read, takes the tracker's incident record for the incident it records, and dates a new error by its
first occurrence. No bundled world's names.
"""

from __future__ import annotations

from typing import Any

from test_differential import (
    best,
    billing,
    cited,
    elsewhere,
    issue,
    latency_evidence,
    row,
    state,
    summary,
    top,
)

from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.evidence import _webhook_interval
from casefile.agent.differential.topic import unread
from casefile.tools.logs_results import WebhookDeliveries

# NOW is 2027-03-04T15:00Z (test_differential.state).


def _hours(failing: dict[int, int], start_day: int = 3, attempts: int = 20) -> list[dict[str, Any]]:
    """36 hourly buckets from 2027-03-03T00:00Z, ``failing``: hour → failures."""
    return [
        {
            "hour": f"2027-03-0{start_day + h // 24}T{h % 24:02d}:00:00.000Z",
            "attempts": attempts,
            "failures": failing.get(h, 0),
        }
        for h in range(36)
    ]


def _deliveries(failing: dict[int, int], platform_rate: float, since: str | None) -> Evidence:
    """No API errors, billing fine, and the account's deliveries to its own receiver."""
    history = _hours(failing)
    failures = sum(failing.values())
    data = {
        "attempts": 20 * len(history),
        "failures": failures,
        "failure_rate": failures / (20 * len(history)),
        "failing_since": since,
        "endpoint_urls": ["https://intake.lindqvist.example/receive"],
        "by_response_status": [{"status": 200, "count": 600}, {"status": 0, "count": failures}],
        "by_error": [{"error": "tls_error", "count": failures}],
        "history": history,
        "platform": {
            "attempts": 40000,
            "failures": int(40000 * platform_rate),
            "failure_rate": platform_rate,
        },
    }
    return Evidence(
        summary=summary(0, status=500),
        billing=billing(),
        webhooks=cited(WebhookDeliveries, data, "c6", "logs_webhook_deliveries"),
    )


# The receiver has refused every delivery since 08:00 today; other accounts' deliveries succeed.
FAILING_TODAY = {h: 20 for h in range(32, 36)}


def test_data_that_never_reached_their_system_is_a_delivery_question_whatever_its_words() -> None:
    ev = _deliveries(FAILING_TODAY, 0.01, "2027-03-04T08:00:00.000Z")
    # No word of webhooks, events or callbacks: the product's own name for them.
    ticket = "The little helper that copies our new members into Roster skipped everyone this morning. Is it broken?"
    h = best(assess(state(ticket), ev))
    assert h.category == "webhook_customer_endpoint", h
    assert h.confidence >= 0.8
    assert "https://intake.lindqvist.example/receive" in h.statement


def test_failing_deliveries_do_not_answer_a_ticket_about_another_trouble() -> None:
    ev = _deliveries(FAILING_TODAY, 0.01, "2027-03-04T08:00:00.000Z")
    diff = assess(state("Our calls to /v2/members fail with 429 since this morning"), ev)
    hooks = next(h for h in diff.hypotheses if h.category == "webhook_customer_endpoint")
    assert hooks.confidence <= 0.55
    assert any("HTTP 429" in r for r in hooks.reasons)
    # Deliveries that failed the day before, about a ticket on something else: said, not weighed.
    ev = _deliveries({h: 20 for h in range(2, 5)}, 0.01, "2027-03-03T02:00:00.000Z")
    diff = assess(state("Since this morning the invoices page shows a spinner forever"), ev)
    assert not any(h.category.startswith("webhook") for h in diff.hypotheses), diff.render()
    assert any("before the time the ticket speaks of" in o for o in diff.observations)


def test_a_ticket_in_a_language_read_only_in_part_lets_the_evidence_decide() -> None:
    # Swedish is a listed language, but this sentence holds no phrase of its file.
    swedish = "Hej, vi har ett konstigt ärende med systemet sedan igår förmiddag"
    assert unread(state(swedish)) == "foreign"
    assert unread(state("Hi, nothing concrete, but it has felt off this week. Could you look?")) == "vague"
    h = best(assess(state(swedish), _deliveries(FAILING_TODAY, 0.01, "2027-03-04T08:00:00.000Z")))
    # the data alone: below what its words would give (a fault in the account's own hands keeps 0.75, session 11)
    assert h.category == "webhook_customer_endpoint" and 0.5 <= h.confidence <= 0.75
    # An English ticket that says nothing concrete is still asked first.
    vague = "Hi, nothing concrete, but something has felt off this week. Could someone take a look?"
    ev = _deliveries(FAILING_TODAY, 0.01, "2027-03-04T08:00:00.000Z")
    assert best(assess(state(vague), ev)).category == "insufficient_evidence"


def test_a_long_failure_is_compared_with_the_platform_over_its_own_hours() -> None:
    # An hour of everyone's outage yesterday, then this receiver refusing everything for 20 hours.
    failing = {14: 12} | {h: 20 for h in range(16, 36)}
    ev = _deliveries(failing, 0.05, "2027-03-03T16:00:00.000Z")
    assert _webhook_interval(ev) == {"start": "2027-03-03T16:00:00Z", "end": "2027-03-04T12:00:00Z"}
    # Failures over the whole window are compared over the whole window (no second query).
    assert _webhook_interval(_deliveries({h: 20 for h in range(36)}, 0.05, None)) is None


def _outage(first: str, rows_before: int = 0, others_before: int = 0, **more: Any) -> Evidence:
    """This busy account's 503 ``queue_down`` answers since ``first`` (200 in 10 000 requests), and three
    other accounts' 30 in their 40 000."""
    errors = top(
        [row(503, "queue_down", 200, path="/search", first=first, last="2027-03-04T14:58:00.000Z")],
        others=[elsewhere(503, "queue_down", 3, 30) | {"before": others_before}],
    )
    errors.data.top[0].before = rows_before
    errors.data.requests, errors.data.baseline_requests = 10000, 60000
    errors.data.others_requests, errors.data.others_baseline_requests = 40000, 240000
    return Evidence(
        summary=summary(200, requests=10000, status=503, base_rate=0.0), top=errors, billing=billing(), **more
    )


def test_a_server_error_new_everywhere_is_an_incident_whatever_each_accounts_rate() -> None:
    # Five times the others' rate (a busy hour here), but nobody ever got it before: ours.
    diff = assess(state("Search fails with 503 since this morning"), _outage("2027-03-04T09:10:00.000Z"))
    assert diff.scope == "many accounts" and best(diff).category == "platform_incident", diff.render()
    # The others' usual few of it are not news: then this account's flood is its own.
    diff = assess(
        state("Search fails with 503 since this morning"),
        _outage("2027-03-04T09:10:00.000Z", others_before=200),
    )
    assert diff.scope != "many accounts"


def test_the_trackers_incident_record_is_the_incident_not_a_bug_to_wait_for() -> None:
    record = issue(
        "OPS-77",
        "Search failing for every workspace",
        "In Progress",
        created_at="2027-03-04T09:20:00Z",
        labels=["Incident"],
    )
    ev = _outage("2027-03-04T09:10:00.000Z", bugs=[(record, "c8")])
    diff = assess(state("Since 09:10 search is failing for all our recruiters with 503"), ev)
    h = best(diff)
    assert h.category == "platform_incident", diff.render()
    assert any(c.value == "OPS-77" for c in h.evidence)
    bug = next((o for o in diff.hypotheses if o.category == "known_bug"), None)
    assert bug is None or bug.confidence < h.confidence


def test_a_code_never_seen_before_dates_the_trouble_by_its_first_error() -> None:
    # The jump is confirmed at 09:40 (one request in three fails), the code first answered at 09:20.
    spike = {"start": "2027-03-04T09:40:00.000Z", "first_error_at": "2027-03-04T09:41:07.000Z", "status": 503}
    ticket = state("Search fails with 503 since this morning")

    def onset(first: str, rows_before: int = 0) -> str | None:
        ev = _outage(first, rows_before=rows_before)
        ev.summary = summary(200, requests=10000, status=503, base_rate=0.0, spike=spike)
        return assess(ticket, ev).onset

    assert onset("2027-03-04T09:20:00.000Z") == "2027-03-04T09:20:00.000Z"
    # A code the account got before is dated by the jump, not by its usual stray ones ...
    assert onset("2027-03-04T09:20:00.000Z", rows_before=3) == "2027-03-04T09:41:07.000Z"
    # ... and so is a new code's stray one the day before (a deploy may lie between).
    assert onset("2027-03-03T11:00:00.000Z") == "2027-03-04T09:41:07.000Z"


def test_everyones_failing_deliveries_are_a_tickets_fact_only_when_its_own_fail_too() -> None:
    from test_routing import CONFIG, out

    from casefile.agent.routing.facts import compute_facts

    platform = {"attempts": 5000, "failures": 2000, "failure_rate": 0.4}
    mine = {"attempts": 100, "failures": 1, "failure_rate": 0.01, "failing_since": None, "platform": platform}
    assert "webhook_platform_failures" not in compute_facts(
        [out("w1", "logs_webhook_deliveries", mine)], CONFIG.evidence
    )
    failing = {**mine, "failures": 60, "failure_rate": 0.6}
    assert "webhook_platform_failures" in compute_facts(
        [out("w1", "logs_webhook_deliveries", failing)], CONFIG.evidence
    )


def test_slow_deliveries_answer_only_a_ticket_about_deliveries() -> None:
    history = [{**h, "p95_ms": 200.0 if i < 30 else 2500.0} for i, h in enumerate(_hours({}))]
    data = {
        "attempts": 720,
        "failures": 0,
        "failure_rate": 0.0,
        "endpoint_urls": ["https://intake.lindqvist.example/receive"],
        "history": history,
    }
    ev = Evidence(
        summary=summary(0, status=500),
        billing=billing(),
        webhooks=cited(WebhookDeliveries, data, "c6", "logs_webhook_deliveries"),
    )
    assert best(assess(state("Our webhook events arrive late since this morning"), ev)).category.startswith(
        "webhook"
    )
    h = best(assess(state("Is the service down for us? A colleague says so."), ev))
    assert h.category == "no_issue_found", h


def test_an_error_code_inside_a_success_is_a_refused_request() -> None:
    from casefile.agent.differential import classify

    assert classify(200, "7731") == "validation"
    assert classify(207, None, "domain not verified") == "validation"
    assert classify(200) == "other"
    assert classify(200, "quota_exhausted") == "plan_limit"


def test_a_code_the_help_center_explains_is_not_blamed_on_a_deploys_timing() -> None:
    from test_differential import compare, deploys

    from casefile.tools.docs import DocsSearchResult

    sha = "e" * 40
    rows = [row(200, "7731", 90, path="/v2/batch", first="2027-03-04T09:30:00.000Z")]
    ev = Evidence(
        summary=summary(90, status=200, base_rate=0.0),
        top=top(rows, others=[elsewhere(200, "7731", 0, 0)]),
        billing=billing(),
        deploys=deploys(
            ("ferro/api", sha, "2027-03-04T09:00:00Z"), ("ferro/api", "0" * 40, "2027-03-01T09:00:00Z")
        ),
        compares={sha: compare("ferro/api", sha, ["api/batch/address.go"])},
    )
    said = "Since your update this morning our batch sends fail"
    undocumented = next(h for h in assess(state(said), ev).hypotheses if h.category == "customer_error")
    article = {
        "title": "Error 7731: the sender is not verified",
        "snippet": "",
        "id": 1,
        "url": "https://help.ferro.example/a/1",
    }
    ev.code_docs = {
        "7731": cited(DocsSearchResult, {"query": "7731", "articles": [article]}, "c12", "docs_search")
    }
    documented = next(h for h in assess(state(said), ev).hypotheses if h.category == "customer_error")
    assert documented.confidence >= 0.8 > undocumented.confidence


def test_a_bug_that_shares_a_pages_name_but_not_the_symptom_is_not_the_match() -> None:
    from casefile.agent.differential.known_bug import known_bug
    from casefile.agent.differential.picture import error_picture

    ev = Evidence(
        summary=summary(0, status=500),
        billing=billing(),
        bugs=[(issue("WEB-9", "Roster board slow with more than 500 members in a column", "Backlog"), "c8")],
    )
    ticket = state(
        "Since this morning members can't be dragged between columns on the roster board page in Safari"
    )
    bug = known_bug(ticket, ev, error_picture(ev, ticket.ticket.created_at, set(), set()))
    assert bug is not None and bug.confidence <= 0.5
    assert any("another symptom" in r for r in bug.reasons)
    slow = state("The roster board page is very slow with our 600 members in one column")
    same = known_bug(slow, ev, error_picture(ev, slow.ticket.created_at, set(), set()))
    assert same is not None and same.confidence > bug.confidence


def _slow_here_and_elsewhere(ratios: list[float]) -> Evidence:
    """No errors; this account's p95 at 12× its baseline (its slowest trace ``tr-91ab``), and the
    platform view's anonymous per-account ``ratios``."""

    mine = {
        "scope": "account",
        "p95_ms": 3000.0,
        "baseline": {"p95_ms": 250.0},
        "by_endpoint": [{"path": "/v2/items", "requests": 900, "p95_ms": 3000.0, "baseline_p95_ms": 250.0}],
        "slowest": [{"trace_id": "tr-91ab", "path": "/v2/items", "latency_ms": 21000.0}],
    }
    everyone = {"scope": "all", "p95_ms": 2800.0, "accounts_compared": len(ratios), "p95_ratios": ratios}
    return latency_evidence(mine, everyone)


def test_a_platform_slowdown_is_read_from_the_anonymous_ratios() -> None:
    ev = _slow_here_and_elsewhere([11.5, 10.9, 9.8, 1.1, 0.9])
    h = best(assess(state("Everything is slow since a few hours"), ev))
    assert h.category == "performance_platform", h
    assert {"tr-91ab", "11.5"} <= {c.value for c in h.evidence}
    # Two slow accounts (this one and another) are not the platform.
    ev = _slow_here_and_elsewhere([11.5, 10.9, 1.1, 0.9])
    assert best(assess(state("Everything is slow since a few hours"), ev)).category == "performance_account"


def test_slowness_answers_a_quiet_complaint_not_one_about_another_trouble() -> None:
    ev = _slow_here_and_elsewhere([11.5, 10.9, 9.8, 1.0])
    # "No errors, but something is wrong with the API": the latency says what.
    h = best(assess(state("Since this morning your API is not working right for us, we get no errors"), ev))
    assert h.category == "performance_platform", h
    # A ticket about signing in is not answered by the platform's slowness.
    diff = assess(state("Since this morning our staff cannot sign in with SSO"), ev)
    slow = next(o for o in diff.hypotheses if o.category == "performance_platform")
    assert slow.confidence <= 0.35 and any("not of slowness" in r for r in slow.reasons)
