"""The differential against background noise, off-topic errors and tickets not written in English.

Synthetic evidence of companies we have never seen (the helpers of test_differential build it);
each test names the support-engineering rule it holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from test_differential import (
    NOW,
    best,
    billing,
    compare,
    deploys,
    elsewhere,
    row,
    state,
    summary,
    top,
    webhook_evidence,
)

from casefile.agent.catalog import Catalog, complete
from casefile.agent.differential import Evidence, assess, classify
from casefile.agent.differential.arbiter import weigh
from casefile.agent.differential.model import Cite, Differential, Hypothesis
from casefile.agent.differential.semantics import specific_code
from casefile.agent.signals import extract_signals
from casefile.agent.ticket import Requester, Ticket
from casefile.tools.base import ToolOutcome


def summary_of(by_status: dict[int, tuple[int, float]]) -> Any:
    return summary(sum(n for n, _ in by_status.values()), by_status=by_status)


def with_before(r: dict[str, Any], before: int) -> dict[str, Any]:
    return {**r, "before": before}


def background_and_incident() -> Evidence:
    """The account's usual trickle of 400s and 409s, and a short burst of 503s five other accounts got too."""
    rows = [
        with_before(row(400, "bad_request", 6, path="/v2/orders/{id}"), 1),
        with_before(row(409, "duplicate_order", 3, path="/v2/orders"), 5),
        with_before(row(400, "bad_request", 2, path="/v2/carts"), 3),
        with_before(
            row(
                503,
                "dispatcher_unavailable",
                2,
                path="/v2/orders",
                first="2027-03-04T09:10:00.000Z",
                last="2027-03-04T09:38:00.000Z",
            ),
            0,
        ),
    ]
    data = top(rows, others=[elsewhere(503, "dispatcher_unavailable", 5, 40)])
    data.data.baseline_requests = 20000
    return Evidence(
        summary=summary_of({400: (9, 0.0025), 409: (3, 0.001), 503: (2, 0.0)}), top=data, billing=billing()
    )


def test_usual_background_errors_do_not_hide_a_short_incident_of_ours() -> None:
    # 400s and 409s at their usual rate are the account's background, however the top rows
    # happen to line up; a new 503 five other accounts got in the same half hour is an incident.
    diff = assess(
        state("Our morning orders did not go through, is something down on your side?"),
        background_and_incident(),
    )
    h = best(diff)
    assert diff.error_class == "server" and diff.scope == "many accounts"
    assert (
        h.category == "platform_incident" and h.action == "resolve"
    )  # over for hours: explain, nothing to page
    assert "dispatcher_unavailable" in {c.value for c in h.evidence}


def test_a_class_at_its_usual_rate_is_not_elevated() -> None:
    ev = background_and_incident()
    ev.top.data.top = ev.top.data.top[:3]  # no incident: only the trickle of client errors  # type: ignore[union-attr]
    diff = assess(state("Orders fail sometimes, can you check?"), ev)
    assert diff.error_class is None
    assert all(h.category != "customer_error" for h in diff.hypotheses), diff.render()


def test_api_errors_do_not_answer_a_ticket_about_deliveries_or_numbers() -> None:
    # Real but unrelated API errors (a key that failed for 25 minutes) are not what a ticket about
    # missing callbacks or daily counts asks about: they stay a weak candidate, not the answer.
    ev = Evidence(
        summary=summary_of({401: (40, 0.0)}),
        top=top([row(401, "token_revoked", 40)]),
        billing=billing(),
    )
    api = best(assess(state("Every call fails with 401 since this morning"), ev))
    assert api.category == "customer_error" and api.confidence >= 0.7
    for text in (
        "Someone on our team thinks some order callbacks are missing today. Can you check what you sent us?",
        "The daily totals in the report don't match our books for yesterday.",
    ):
        diff = assess(state(text), ev)
        assert all(h.confidence < 0.6 for h in diff.hypotheses if h.category == "customer_error"), text
        assert any("not failing API requests" in r for h in diff.hypotheses for r in h.reasons)


def test_a_symptom_in_german_spanish_or_french_is_not_a_vague_ticket() -> None:
    ev = Evidence(
        summary=summary_of({422: (300, 0.001)}),
        top=top([row(422, "row_rejected", 300)]),
        billing=billing(),
    )
    for text in (
        "Seit gestern Abend brechen alle Läufe unserer Pipeline ab.",
        "Desde ayer las cargas fallan y no llegan los datos.",
        "Depuis hier nos exécutions restent bloquées.",
    ):
        diff = assess(state(text), ev)
        assert all(h.category != "insufficient_evidence" for h in diff.hypotheses), text
    # Words of a listed language that name no symptom we read: the evidence decides, below what the
    # customer's own words would give (only English is read whole; see test_evidence_structure.py).
    vague = assess(state("Hallo, irgendwie fühlt sich alles komisch an diese Woche."), ev)
    # (a fault in the account's own hands keeps 0.75 at most, session 11: test_reading_unread.py)
    assert best(vague).category == "customer_error" and best(vague).confidence <= 0.75
    assert any(h.category == "insufficient_evidence" for h in vague.hypotheses)
    quiet = Evidence(summary=summary_of({422: (0, 0.001)}), billing=billing())
    asked = best(assess(state("Hallo, irgendwie fühlt sich alles komisch an diese Woche."), quiet))
    assert asked.category == "insufficient_evidence" and asked.confidence >= 0.55


def test_notifications_in_other_languages_are_webhooks() -> None:
    for text in (
        "No llegan las notificaciones de pedidos",
        "Plusieurs notifications ne sont jamais arrivées",
    ):
        ticket = Ticket(
            id="Z-2", subject="", body=text, requester=Requester(email="a@b.example"), created_at=NOW
        )
        assert "webhook" in extract_signals(ticket, None).areas, text


def test_a_source_answering_not_found_is_not_unavailable() -> None:
    # "This account has no IdP configured" is an answer from a healthy source, not an outage.
    s = state("Sign-in fails")
    s.outcomes = [failed("sso_check", "sso", "not_found"), failed("billing_account", "billing", "timeout")]
    assert set(s.unavailable_sources()) == {"billing"}


def failed(tool: str, source: str, kind: str) -> ToolOutcome:
    at = datetime(2027, 3, 4, tzinfo=UTC)
    return ToolOutcome(
        call_id="c9",
        tool=tool,
        source=source,
        arguments={},
        ok=False,
        error_kind=kind,
        error=kind,
        started_at=at,
        duration_ms=1.0,
    )


def test_the_customers_own_database_refusing_us_is_theirs() -> None:
    assert classify(422, "warehouse_connection_refused") == "customer_system"
    assert classify(502, "upstream_host_unreachable") == "server"  # a 5xx stays ours
    ev = Evidence(
        summary=summary_of({422: (300, 0.001)}),
        top=top([row(422, "destination_connection_refused", 300, path="/v2/syncs/{id}/start")]),
        billing=billing(),
    )
    h = best(assess(state("Every sync of ours fails since last night, please check your workers"), ev))
    assert h.category == "customer_error" and h.action == "resolve" and h.confidence >= 0.75
    assert "accepts connections" in h.reply and "destination_connection_refused" in {
        c.value for c in h.evidence
    }


def test_without_history_a_burst_beats_errors_spread_over_the_whole_window() -> None:
    # The logs begin with the window: no baseline. 70 rejected payloads spread over four days are
    # the account's background; 40 refusals within three hours this morning are what happened.
    spread = row(422, "unprocessable", 70, first="2027-03-01T00:40:00.000Z", last="2027-03-04T14:50:00.000Z")
    burst = row(
        429, "concurrency_limit", 40, first="2027-03-04T05:00:00.000Z", last="2027-03-04T08:00:00.000Z"
    )
    ev = Evidence(
        summary=summary(110, status=422, base_rate=0.0), top=top([spread, burst]), billing=billing()
    )
    ev.summary.data.baseline.requests = 0  # type: ignore[union-attr]
    diff = assess(state("Runs are refused when our morning batch starts them in parallel."), ev)
    assert diff.error_class == "plan_limit"
    assert best(diff).category == "billing_plan_limit"


def test_an_error_the_customer_reports_counts_even_when_it_is_not_new() -> None:
    # The monitoring script has called a removed endpoint all week: steady, not grown, but it is
    # what the customer asks about ("Gone"), and a tenth of their requests.
    ev = Evidence(
        summary=summary_of({410: (400, 0.1)}),
        top=top([with_before(row(410, "version_removed", 400, path="/api/v1/jobs"), 1400)]),
        billing=billing(),
    )
    ev.top.data.baseline_requests = 14000  # type: ignore[union-attr]
    h = best(assess(state('Our monitoring script fails, the API says the resource is "Gone".'), ev))
    assert h.category == "customer_error" and "/api/v1/jobs" in h.statement and "removed" in h.reply
    # The usual stray few 500s the customer shouts about are not an incident.
    ev = Evidence(
        summary=summary_of({500: (3, 0.0008)}),
        top=top([with_before(row(500, "internal", 3), 11)]),
        billing=billing(),
    )
    ev.top.data.baseline_requests = 14000  # type: ignore[union-attr]
    assert assess(state("URGENT: HTTP 500 everywhere, production is down"), ev).error_class is None


def test_client_errors_other_accounts_get_in_small_numbers_are_background() -> None:
    ev = Evidence(
        summary=summary_of({400: (96, 0.002)}),
        top=top(
            [row(400, "schema_invalid", 96)],
            others=[elsewhere(400, "schema_invalid", 7, 50)],
        ),
        billing=billing(),
    )
    ev.top.data.others_requests = 28000  # type: ignore[union-attr]  # seven accounts of about this one's size
    diff = assess(state("Since this afternoon ingest rejects most of our batches with a 400."), ev)
    assert diff.scope != "many accounts"
    h = best(diff)
    assert h.category == "customer_error" and h.confidence >= 0.7


def test_a_runbook_bug_gives_way_to_the_one_the_tickets_words_match() -> None:
    diff = Differential(
        hypotheses=[
            Hypothesis(
                category="known_bug",
                confidence=0.85,
                statement="s",
                summary="s",
                reply="r",
                evidence=[Cite(call_id="c8", tool="bugs_search", value="ENG-12", claim="open bug ENG-12")],
            )
        ]
    )
    assert not weigh("known_bug", 0.85, {"ENG-7"}, diff).use_runbook
    assert weigh("known_bug", 0.85, {"ENG-12"}, diff).use_runbook
    # A weak general match does not overrule the runbook's bug.
    diff.hypotheses[0].confidence = 0.6
    assert weigh("known_bug", 0.85, {"ENG-7"}, diff).use_runbook
    # "A browser bug" gives way to a known bug that names the feature and the browser.
    diff.hypotheses[0].confidence = 0.85
    assert not weigh("ui_browser", 0.7, set(), diff).use_runbook


def test_codes_that_only_restate_their_status_are_not_specific() -> None:
    assert (
        specific_code("internal") == "" and specific_code("bad_request") == "" and specific_code(None) == ""
    )
    assert specific_code("source_schema_error") == "source_schema_error"


def test_a_deploy_inside_the_first_failing_hour_of_a_webhook_outage_is_the_suspect() -> None:
    # The failures are known to the hour (09:00–10:00); the dispatcher's deploy at 09:25 may well
    # precede them, so it is the suspect, not "after the onset". Without a catalogue the
    # repository's name says which component it deploys.
    hours = [
        {"hour": f"2027-03-04T{h:02d}:00:00.000Z", "attempts": 40, "failures": 30 if h == 9 else 0}
        for h in range(6, 14)
    ]
    data = {
        "attempts": 320,
        "failures": 30,
        "failure_rate": 0.09,
        "endpoint_urls": ["https://hooks.blueheron.example/in"],
        "history": hours,
        "platform": {"attempts": 5000, "failures": 2000, "failure_rate": 0.4},
    }
    narrow = {**data, "attempts": 120, "failure_rate": 0.25, "history": hours[2:5]}
    sha = "f" * 40
    ev = webhook_evidence(
        data, narrow, deploys=deploys(("heron/webhook-dispatcher", sha, "2027-03-04T09:25:00Z"))
    )
    catalog = complete(Catalog(), ["heron/webhook-dispatcher"])
    h = best(assess(state("Some of this morning's webhooks never arrived", catalog=catalog), ev))
    assert h.category == "webhook_platform" and h.deploy_sha == sha
    assert sha in {c.value for c in h.evidence}


def test_a_deploy_that_touched_the_endpoint_does_not_make_their_database_refuse_only_them() -> None:
    sha = "a" * 40
    ev = Evidence(
        summary=summary_of({422: (300, 0.001)}),
        top=top([row(422, "source_connection_refused", 300, path="/v2/syncs/{id}/start")]),
        billing=billing(),
        deploys=deploys(("heron/sync-api", sha, "2027-03-04T08:40:00Z")),
        compares={sha: compare("heron/sync-api", sha, ["src/syncs/start.py"])},
    )
    h = best(assess(state("All our syncs fail since this morning, you deployed something?"), ev))
    assert h.category == "customer_error" and h.confidence >= 0.8
