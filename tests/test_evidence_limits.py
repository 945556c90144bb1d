"""Limits, time and rival causes weighed as a senior engineer would (session 8), on invented companies.

A plan limit refuses only what goes over it, so one refused attempt is the whole story; a customer
who writes that the API answers 200 reports the failures carried inside those 200s; an episode is
dated by its own errors and an incident ends when nobody gets it any more; a bug filed after the
ticket is not what the customer hit. No bundled world's names.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_differential import (
    best,
    billing,
    cited,
    elsewhere,
    incident_evidence,
    issue,
    latency_evidence,
    row,
    state,
    summary,
    top,
)

from casefile.agent.differential import Evidence, assess
from casefile.agent.differential.picture import reported_statuses
from casefile.agent.differential.semantics import classify
from casefile.agent.differential.topic import unread

# NOW is 2027-03-04T15:00Z (test_differential.state).


def _noisy(extra: list[dict[str, Any]], others: list[dict[str, Any]] | None = None) -> Evidence:
    """An account whose usual background is a trickle of 200 ``INPUT_REJECTED`` that every account gets,
    plus ``extra`` rows; 4000 requests now, 20 000 in the week before."""
    noise = row(200, "INPUT_REJECTED", 12, path="/graph/PlaceBasket", first="2027-03-03T01:00:00.000Z")
    noise["before"] = 60
    errors = top(
        [noise, *extra],
        others=[elsewhere(200, "INPUT_REJECTED", 6, 120) | {"before": 600}, *(others or [])],
    )
    errors.data.baseline_requests = 20000
    errors.data.others_requests, errors.data.others_baseline_requests = 40000, 200000
    return Evidence(summary=summary(12, status=200, base_rate=0.003), top=errors, billing=billing())


def test_a_plan_limit_refused_once_or_twice_is_the_finding() -> None:
    limit = row(200, "SHELF_LIMIT_REACHED", 2, path="/graph/AddShelf", first="2027-03-04T11:00:00.000Z")
    limit["before"] = 0
    ev = _noisy([limit], [elsewhere(200, "SHELF_LIMIT_REACHED", 0, 0)])
    # Nothing in the ticket names the code or the operation: the shop only says it failed.
    h = best(assess(state("Hello, the spring range will not go in: the screen just says failed."), ev))
    assert h.category == "billing_plan_limit", h
    assert "SHELF_LIMIT_REACHED" in h.statement and "Team" in h.statement
    # One refusal alone may be anyone's stray test.
    ev.top.data.top[1].count = 1  # type: ignore[union-attr]
    diff = assess(state("Hello, the spring range will not go in: the screen just says failed."), ev)
    assert all(h.category != "billing_plan_limit" for h in diff.hypotheses), diff.render()


def test_a_plan_limit_refusal_the_account_always_got_is_not_news() -> None:
    limit = row(200, "SHELF_LIMIT_REACHED", 2, path="/graph/AddShelf", first="2027-03-04T11:00:00.000Z")
    limit["before"] = 10
    ev = _noisy([limit], [elsewhere(200, "SHELF_LIMIT_REACHED", 0, 0)])
    diff = assess(state("Hello, the spring range will not go in: the screen just says failed."), ev)
    assert all(h.category != "billing_plan_limit" for h in diff.hypotheses), diff.render()


def test_a_ticket_saying_the_api_answers_200_reports_the_codes_inside_them() -> None:
    assert reported_statuses("Every call comes back HTTP 200, yet the counts are stale") == {200}
    assert reported_statuses("o servidor responde 200 OK") == {200}
    assert reported_statuses("we have 200 stores and 404 shelves") == set()
    ticket = "Our nightly job is silently losing updates. Every call comes back HTTP 200, so it marks the run done."
    # It names no failure word we read, but it says what the API answered: not a vague ticket.
    assert unread(state(ticket)) is None
    slowed = row(200, "SLOW_DOWN", 60, path="/graph/SetStock", first="2027-03-04T02:00:00.000Z")
    slowed["before"] = 0
    h = best(assess(state(ticket), _noisy([slowed], [elsewhere(200, "SLOW_DOWN", 0, 0)])))
    assert h.category == "rate_limit", h
    assert "SLOW_DOWN" in h.statement and "/graph/SetStock" in h.statement
    # Saying "200" does not make the 200s every account gets inside its answers the customer's fault.
    diff = assess(state(ticket), _noisy([]))
    assert all(h.category not in ("customer_error", "rate_limit") for h in diff.hypotheses), diff.render()


def test_two_episodes_of_one_kind_are_dated_each_by_its_own_errors() -> None:
    # An outage of everyone's two days ago, over in 45 minutes; since 13:20 today another code of the
    # same kind (a server fault carried inside 200s) at every account.
    old = row(
        503,
        "GATEWAY_DOWN",
        60,
        path="/graph/PlaceBasket",
        first="2027-03-02T18:05:00.000Z",
        last="2027-03-02T18:50:00.000Z",
    )
    new = row(
        200,
        "STOCKBOOK_UNAVAILABLE",
        7,
        path="/graph/CountStock",
        first="2027-03-04T13:20:00.000Z",
        last="2027-03-04T14:50:00.000Z",
    )
    errors = top(
        [old, new],
        others=[elsewhere(503, "GATEWAY_DOWN", 9, 2000), elsewhere(200, "STOCKBOOK_UNAVAILABLE", 9, 250)],
    )
    errors.data.baseline_requests, errors.data.others_requests = 20000, 90000
    ev = Evidence(summary=summary(67, status=503, base_rate=0.0), top=errors, billing=billing())
    diff = assess(state("stock is not going down since lunch and it gives an error when I book goods in"), ev)
    h = best(diff)
    assert h.category == "platform_incident", diff.render()
    assert "STOCKBOOK_UNAVAILABLE" in h.statement and "2027-03-04T13:20" in h.statement
    assert "2027-03-02" not in h.statement and h.action == "escalate"


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (507, "VAULT_QUOTA_FULL", "plan_limit"),  # a 5xx naming the plan's quota and nothing of ours
        (503, "quota_service_unavailable", "server"),
        (413, "bulk_send_max_recipients", "plan_limit"),
        (400, "batch_parse_failed", "validation"),  # a batch that failed for another reason
    ],
)
def test_what_a_limit_code_means_whatever_its_status(status: int, code: str, expected: str) -> None:
    assert classify(status, code) == expected


def _small_account_in_an_outage(others_last: str) -> Evidence:
    """Five 503 ``vault_unavailable`` from this small account until 13:20, and nine other accounts'
    many until ``others_last`` (the ticket is at 15:00)."""
    mine = row(
        503,
        "vault_unavailable",
        5,
        path="/v3/chunks",
        first="2027-03-04T13:00:00.000Z",
        last="2027-03-04T13:20:00.000Z",
    )
    shared = elsewhere(503, "vault_unavailable", 9, 400) | {
        "first_at": "2027-03-04T12:58:00.000Z",
        "last_at": others_last,
    }
    return incident_evidence(mine, shared, 5, 503, ("OPS-12", "Chunk writes: elevated 503 vault_unavailable"))


def test_an_incident_is_over_when_nobody_gets_it_not_when_one_account_stopped_trying() -> None:
    ticket = state("For about an hour and a half our uploads stop halfway with 503. Is something wrong now?")
    going = assess(ticket, _small_account_in_an_outage("2027-03-04T14:57:00.000Z"))
    h = best(going)
    assert h.category == "platform_incident" and h.action == "escalate", going.render()
    assert going.ended_at is None and "(ended)" not in h.summary
    # Its own incident record is the same trouble, not a rival that "fits almost as well".
    bug = next((o for o in going.hypotheses if o.category == "known_bug"), None)
    assert bug is None or bug.confidence < h.confidence - 0.1
    # When everyone's errors stopped too, it is over: then a ticket about today hears that it ended.
    today = state("Today our uploads stopped halfway with 503. What happened?")
    over = assess(today, _small_account_in_an_outage("2027-03-04T13:25:00.000Z"))
    assert best(over).category == "platform_incident" and best(over).action == "resolve", over.render()


def test_a_bug_filed_after_the_ticket_is_not_what_the_customer_hit() -> None:
    errors = top([row(422, "ALBUM_WIDTH_INVALID", 30, path="/v2/albums", first="2027-03-04T10:00:00.000Z")])
    ticket = state("Since this morning creating albums fails with ALBUM_WIDTH_INVALID. Known bug?")

    def bug_for(created: str) -> Any:
        found = issue(
            "PHO-9", "Albums: ALBUM_WIDTH_INVALID on wide covers", "In Progress", created_at=created
        )
        ev = Evidence(summary=summary(30, status=422), top=errors, billing=billing(), bugs=[(found, "c8")])
        return next((h for h in assess(ticket, ev).hypotheses if h.category == "known_bug"), None)

    assert bug_for("2027-03-02T09:00:00Z") is not None
    assert bug_for("2027-03-06T09:00:00Z") is None  # filed two days after the ticket


def test_failing_requests_answer_a_ticket_about_an_error_not_an_endpoints_slowness() -> None:
    errors = top(
        [row(503, "vault_unavailable", 40, path="/v3/chunks", first="2027-03-04T13:00:00.000Z")],
        others=[elsewhere(503, "vault_unavailable", 9, 4000)],
    )
    slow = {
        "scope": "account",
        "p95_ms": 900.0,
        "baseline": {"p95_ms": 400.0},
        "by_endpoint": [{"path": "/v3/report", "requests": 90, "p95_ms": 2400.0, "baseline_p95_ms": 1100.0}],
    }
    everyone = {"scope": "all", "p95_ms": 300.0, "accounts_compared": 5, "p95_ratios": [2.1, 1.0, 1.0]}
    ev = latency_evidence(slow, everyone, summary=summary(40, status=503, base_rate=0.0), top=errors)
    diff = assess(state("stock not updating since lunch, gives an error when I book the goods in"), ev)
    perf = next(h for h in diff.hypotheses if h.category == "performance_account")
    assert perf.confidence <= 0.35 and best(diff).category == "platform_incident", diff.render()
    # Said to be slow, the same account's latency is weighed as before.
    diff = assess(state("stock is slow to update since lunch and gives an error"), ev)
    assert next(h for h in diff.hypotheses if h.category == "performance_account").confidence >= 0.7


def _edge(served: int, slow: int) -> Evidence:
    """No errors; this account's pages come from the edge ``pop-lima`` at 7× its baseline there, its API
    from ``core-1`` as fast as ever; across the platform ``slow`` of the ``served`` accounts that edge
    serves are slower than their own baseline, and no account is slow overall."""
    mine = {
        "scope": "account",
        "p95_ms": 600.0,
        "baseline": {"p95_ms": 500.0},
        "by_endpoint": [
            {"path": "/play/{clip}.m3u8", "requests": 900, "p95_ms": 950.0, "baseline_p95_ms": 130.0},
            {"path": "/v1/clips", "requests": 800, "p95_ms": 200.0, "baseline_p95_ms": 190.0},
        ],
        "by_region": [
            {"region": "core-1", "requests": 800, "p95_ms": 200.0, "baseline_p95_ms": 190.0},
            {"region": "pop-lima", "requests": 900, "p95_ms": 950.0, "baseline_p95_ms": 130.0},
        ],
    }
    everyone = {
        "scope": "all",
        "accounts_compared": 8,
        "p95_ratios": [1.3, 1.2, 1.0, 1.0, 0.9],
        "by_region": [
            {"region": "pop-lima", "accounts": served, "slow_accounts": slow, "top_ratio": 7.3},
            {"region": "core-1", "accounts": 8, "slow_accounts": 0, "top_ratio": 1.1},
        ],
    }
    return latency_evidence(mine, everyone)


def test_a_region_slow_for_every_account_it_serves_is_the_platform() -> None:
    ticket = state(
        "Since yesterday afternoon your API is very slow: our students wait 15 seconds for a lesson."
    )
    h = best(assess(ticket, _edge(served=2, slow=2)))
    assert h.category == "performance_platform", h
    assert {"pop-lima", "/play/{clip}.m3u8"} <= {c.value for c in h.evidence}
    # One slow account among those the edge serves is that account's own slowness.
    assert best(assess(ticket, _edge(served=4, slow=1))).category == "performance_account"


def test_unread_the_cause_that_breaks_most_of_its_source_is_first() -> None:
    from casefile.tools.logs_results import WebhookDeliveries

    # Every delivery to their receiver refused since yesterday 15:00; a sliver of their uploads refused
    # as too large (a fault of its own, on another endpoint) for days.
    history = [
        {
            "hour": f"2027-03-0{3 + h // 24}T{h % 24:02d}:00:00.000Z",
            "attempts": 20,
            "failures": 20 if h >= 15 else 0,
        }
        for h in range(36)
    ]
    hooks = {
        "attempts": 720,
        "failures": 420,
        "failure_rate": 420 / 720,
        "failing_since": "2027-03-03T15:00:00.000Z",
        "endpoint_urls": ["https://school.zenvo.example/hooks/in"],
        "by_response_status": [{"status": 401, "count": 420}],
        "history": history,
        "platform": {"attempts": 40000, "failures": 40, "failure_rate": 0.001},
    }
    big = row(413, "CLIP_TOO_BIG", 90, path="/v2/clips", first="2027-03-02T09:00:00.000Z")
    big["before"] = 10
    errors = top([big])
    errors.data.requests, errors.data.baseline_requests = 11000, 60000
    ev = Evidence(
        summary=summary(90, requests=11000, status=413),
        top=errors,
        billing=billing(),
        webhooks=cited(WebhookDeliveries, hooks, "c6", "logs_webhook_deliveries"),
    )
    basque = (
        "Kaixo, atzo arratsaldetik gure plataforma ez da eguneratzen bideo bat prozesatzen amaitzen denean."
    )
    assert unread(state(basque)) == "foreign"
    diff = assess(state(basque), ev)
    h = best(diff)
    assert h.category == "webhook_customer_endpoint", diff.render()
    sliver = next(o for o in diff.hypotheses if o.category == "customer_error")
    assert sliver.confidence <= h.confidence - 0.15


def test_an_outage_inside_a_longer_failure_is_not_its_cause() -> None:
    # Since yesterday 13:30 the account's uploads of offline sales are refused (and still are); an outage
    # of everyone's came and went in between, yesterday 18:05-18:50.
    refused = row(
        200,
        "PACK_UNREADABLE",
        21,
        path="/graph/UploadTills",
        first="2027-03-03T13:30:00.000Z",
        last="2027-03-04T14:30:00.000Z",
    )
    outage = row(
        503,
        "GATEWAY_DOWN",
        79,
        path="/graph/PlaceBasket",
        first="2027-03-03T18:05:00.000Z",
        last="2027-03-03T18:50:00.000Z",
    )
    errors = top(
        [outage, refused],
        others=[elsewhere(503, "GATEWAY_DOWN", 9, 2000), elsewhere(200, "PACK_UNREADABLE", 0, 0)],
    )
    errors.data.baseline_requests, errors.data.others_requests = 20000, 90000
    bug = issue(
        "TIL-31",
        "Offline till uploads rejected with PACK_UNREADABLE on app 4.x",
        "In Progress",
        workaround="update the till app",
        created_at="2027-02-20T10:00:00Z",
    )
    ev = Evidence(
        summary=summary(100, status=503, base_rate=0.0), top=errors, billing=billing(), bugs=[(bug, "c8")]
    )
    ticket = state(
        "Saturday's sales from the hours we were offline are missing from the reports. Are they lost?"
    )
    diff = assess(ticket, ev)
    h = best(diff)
    assert h.category == "known_bug" and "TIL-31" in h.statement, diff.render()
    assert all(o.category != "platform_incident" or o.confidence < h.confidence for o in diff.hypotheses)
    # When the account's own failure ended too, the outage is again a candidate of its own.
    refused["last_at"] = "2027-03-03T17:00:00.000Z"
    errors.data.top[1].last_at = "2027-03-03T17:00:00.000Z"  # type: ignore[union-attr]
    assert any(o.category == "platform_incident" for o in assess(ticket, ev).hypotheses)
