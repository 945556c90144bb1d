"""The general differential diagnosis, on companies we have never seen (no catalogue, other names).

Each scenario builds the typed evidence a ticket's preflight would collect and checks the most
probable cause, its confidence band and the values it cites. None of them uses a bundled world.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from llm_fixtures import diagnosis_body

from casefile.agent.accounts import AccountDirectory
from casefile.agent.catalog import Catalog, Component, complete
from casefile.agent.config import Budgets
from casefile.agent.differential import Cited, Evidence, assess, classify
from casefile.agent.differential.arbiter import weigh
from casefile.agent.differential.changes import inert_file
from casefile.agent.differential.model import Differential, Hypothesis
from casefile.agent.differential.queries import rank_issues
from casefile.agent.models._prompt import render_opening
from casefile.agent.models.base import LoopState
from casefile.agent.signals import extract_signals
from casefile.agent.ticket import Requester, Ticket
from casefile.tools.base import Toolbox
from casefile.tools.billing_results import BillingAccount
from casefile.tools.bugs_results import Issue
from casefile.tools.deploys_results import Compare, DeploysList
from casefile.tools.logs_results import ErrorSummary, Latency, SsoLogins, TopErrors, WebhookDeliveries

NOW = datetime(2027, 3, 4, 15, 0, tzinfo=UTC)
ACCOUNT = {"id": "acct_7", "name": "Blue Heron Foods", "domains": ["blueheron.example"]}


def state(body: str, subject: str = "", catalog: Catalog | None = None) -> LoopState:
    ticket = Ticket(
        id="Z-1",
        subject=subject,
        body=body,
        requester=Requester(email="ops@blueheron.example"),
        created_at=NOW,
        account_id="acct_7",
    )
    return LoopState(
        ticket=ticket,
        signals=extract_signals(ticket, None),
        account=dict(ACCOUNT),
        matches=[],
        toolbox=Toolbox([]),
        budgets=Budgets(),
        context={},
        catalog=catalog or Catalog(),
    )


def cited(model: Any, data: dict[str, Any], call_id: str, tool: str) -> Cited[Any]:
    return Cited(model.model_validate(data), call_id, tool)


def issue(identifier: str, title: str, state: str, workaround: str | None = None, **more: Any) -> Issue:
    """A tracker issue as bugs_search returns it."""
    return Issue(identifier=identifier, title=title, state=state, workaround=workaround, **more)


def elsewhere(status: int, code: str, accounts: int, count: int) -> dict[str, Any]:
    """``count`` errors of ``status`` and ``code`` that ``accounts`` other accounts had (a top-errors ``others`` row)."""
    return {"status": status, "error_code": code, "accounts": accounts, "count": count}


def outage_evidence(
    status: int, code: str, count: int, between: tuple[str, str], others: tuple[int, int]
) -> Evidence:
    """The account's ``count`` errors of one kind ``between`` two times, which ``others`` = (accounts,
    their count) had too; billing in good standing."""
    first, last = between
    errors = top(
        [row(status, code, count, first=first, last=last)], others=[elsewhere(status, code, *others)]
    )
    return Evidence(summary=summary(count, status=status), top=errors, billing=billing())


def webhook_evidence(whole: dict[str, Any], interval: dict[str, Any], **more: Any) -> Evidence:
    """No errors, billing in good standing, and the account's webhook deliveries (window, ticket's interval)."""
    return Evidence(
        summary=summary(0, status=500),
        billing=billing(),
        webhooks=cited(WebhookDeliveries, whole, "c6", "logs_webhook_deliveries"),
        webhooks_interval=cited(WebhookDeliveries, interval, "c7", "logs_webhook_deliveries"),
        **more,
    )


def latency_evidence(mine: dict[str, Any], everyone: dict[str, Any], **more: Any) -> Evidence:
    """logs_latency's two answers (this account's, every account's); unless ``more`` says otherwise, no
    errors and billing in good standing."""
    return Evidence(
        latency=cited(Latency, mine, "c10", "logs_latency"),
        latency_all=cited(Latency, everyone, "c11", "logs_latency"),
        **{"summary": summary(0, status=500), "billing": billing(), **more},
    )


def incident_evidence(
    mine: dict[str, Any], shared: dict[str, Any], errors: int, status: int, record: tuple[str, str]
) -> Evidence:
    """The account's ``errors`` (``mine``) beside other accounts' ``shared`` row, in good standing, and the
    tracker's incident issue ``record`` (identifier, title), In Progress since 13:10."""
    found = top([mine], others=[shared])
    found.data.baseline_requests, found.data.others_requests = 20000, 90000
    incident = issue(*record, "In Progress", created_at="2027-03-04T13:10:00Z", labels=["Incident"])
    return Evidence(
        summary=summary(errors, status=status, base_rate=0.0),
        top=found,
        billing=billing(),
        bugs=[(incident, "c8")],
    )


def summary(
    errors: int,
    requests: int = 4000,
    status: int = 401,
    base_rate: float = 0.001,
    by_status: dict[int, tuple[int, float]] | None = None,
    **extra: Any,
) -> Cited[Any]:
    """An error summary; ``by_status`` gives several statuses' counts and baseline rates."""
    statuses = by_status or {status: (errors, base_rate)}
    return cited(
        ErrorSummary,
        {
            "requests": requests,
            "errors": errors,
            "error_rate": errors / requests,
            "baseline": {"requests": 20000, "errors": 40, "error_rate": 0.002},
            "by_status": [
                {"status": s, "count": n, "rate": n / requests, "baseline_rate": rate}
                for s, (n, rate) in statuses.items()
            ],
            **extra,
        },
        "c1",
        "logs_error_summary",
    )


def top(
    rows: list[dict[str, Any]],
    others: list[dict[str, Any]] | None = None,
    keys: list[dict[str, Any]] | None = None,
) -> Cited[Any]:
    errors = sum(r["count"] for r in rows)
    return cited(
        TopErrors,
        {"requests": 4000, "errors": errors, "top": rows, "keys": keys or [], "others": others or []},
        "c2",
        "logs_top_errors",
    )


def row(
    status: int,
    code: str,
    count: int,
    path: str = "/api/invoices",
    first: str = "2027-03-04T09:12:00.000Z",
    last: str = "2027-03-04T14:58:00.000Z",
    key: str = "k_live_1",
) -> dict[str, Any]:
    return {
        "status": status,
        "error_code": code,
        "path": path,
        "api_key_hash": key,
        "count": count,
        "first_at": first,
        "last_at": last,
    }


def billing(status: str = "active", good: bool = True) -> Cited[Any]:
    return cited(
        BillingAccount,
        {
            "in_good_standing": good,
            "standing_reasons": [] if good else [f"subscription sub_9 is {status}"],
            "subscriptions": [
                {
                    "id": "sub_9",
                    "status": status,
                    "plan": {"nickname": "Team"},
                    "limits": {"max_batch": "100"},
                }
            ],
        },
        "c3",
        "billing_account",
    )


def sso_logins(error: str, attempts: int, failures: int, since: str = "2027-03-04T07:00:00Z") -> Cited[Any]:
    """logs_sso_logins: ``failures`` of ``attempts`` logins failed with ``error`` since ``since``."""
    return cited(
        SsoLogins,
        {
            "attempts": attempts,
            "failures": failures,
            "failing_since": since,
            "top_errors": [{"error": error, "count": failures}],
        },
        "c9",
        "logs_sso_logins",
    )


def deploys(*items: tuple[str, str, str]) -> Cited[Any]:
    data = [
        {
            "repo": repo,
            "sha": sha,
            "ref": sha[:6],
            "environment": "production",
            "created_at": at,
            "status": "success",
        }
        for repo, sha, at in items
    ]
    return cited(DeploysList, {"deployments": data}, "c4", "deploys_list")


def compare(repo: str, head: str, files: list[str]) -> Cited[Any]:
    return cited(
        Compare,
        {"repo": repo, "base": "0" * 40, "head": head, "files": [{"filename": f} for f in files]},
        "c5",
        "deploys_compare",
    )


def zoned_areas(body: str, zone: str) -> list[str]:
    """The areas read in an invented spa chain's ticket, its account in ``zone`` (a day's turn is local)."""
    spa = {"id": "zefira", "name": "Zefira Baths", "domains": ["zefira.example"], "timezone": zone}
    ticket = Ticket(
        id="Z-2", subject="", body=body, requester=Requester(email="desk@zefira.example"), created_at=NOW
    )
    return extract_signals(ticket, AccountDirectory([spa])).areas


def best(diff: Differential) -> Hypothesis:
    assert diff.best is not None, diff.render()
    return diff.best


def test_oauth_invalid_client_is_the_customers_credentials() -> None:
    ev = Evidence(
        summary=summary(180),
        top=top(
            [row(401, "invalid_client", 180, key="k_new")],
            keys=[
                {"api_key_hash": "k_new", "requests": 180, "errors": 180},
                {"api_key_hash": "k_old", "requests": 3800, "errors": 3},
            ],
        ),
        billing=billing(),
    )
    h = best(assess(state("Our token requests started failing this morning, 401 everywhere"), ev))
    assert h.category == "customer_error" and h.action == "resolve"
    assert h.confidence >= 0.7
    assert "invalid_client" in h.statement and "k_new" in h.statement
    assert {c.value for c in h.evidence} >= {"invalid_client", "k_new"}
    assert "credentials" in h.reply


def test_ip_allow_list_refusal_and_removed_endpoint() -> None:
    ev = Evidence(
        summary=summary(90, status=403), top=top([row(403, "ip_not_allowed", 90)]), billing=billing()
    )
    h = best(assess(state("Since we moved to a new data centre every call is forbidden"), ev))
    assert h.category == "customer_error" and "allow-list" in h.reply
    ev = Evidence(
        summary=summary(60, status=410),
        top=top([row(410, "endpoint_removed", 60, path="/api/v1/legacy")]),
        billing=billing(),
    )
    h = best(assess(state("The legacy endpoint returns 410 Gone"), ev))
    assert h.category == "customer_error" and "removed" in h.reply and "/api/v1/legacy" in h.statement


def test_a_bulk_limit_is_a_plan_limit_not_a_rate_limit() -> None:
    ev = Evidence(
        summary=summary(40, status=429), top=top([row(429, "bulk_limit_exceeded", 40)]), billing=billing()
    )
    diff = assess(state("We get 429 too many requests when importing"), ev)
    assert best(diff).category == "billing_plan_limit"
    assert all(h.category != "rate_limit" for h in diff.hypotheses)


def test_a_canceled_subscription_behind_403_is_not_a_deploy() -> None:
    ev = Evidence(
        summary=summary(300, status=403),
        top=top([row(403, "account_inactive", 300, first="2027-03-04T10:00:00.000Z")]),
        billing=billing("canceled", good=False),
        deploys=deploys(("shop/core-api", "a" * 40, "2027-03-04T09:40:00Z")),
    )
    h = best(assess(state("Since your release this morning everything is 403"), ev))
    assert h.category == "billing_canceled" and h.action == "resolve"
    assert "canceled" in h.statement


def deploy_before_500s(sha: str, changed: list[str]) -> Evidence:
    """500s spiking at 11:00, 20 minutes after a deploy of ``sha`` that changed ``changed``."""
    return Evidence(
        summary=summary(
            250,
            status=500,
            base_rate=0.0005,
            spike={
                "start": "2027-03-04T11:00:00.000Z",
                "first_error_at": "2027-03-04T11:02:10.000Z",
                "status": 500,
            },
        ),
        top=top([row(500, "internal_error", 250, first="2027-03-04T11:02:10.000Z")]),
        billing=billing(),
        deploys=deploys(
            ("shop/core-api", sha, "2027-03-04T10:40:00Z"),
            ("shop/core-api", "c" * 40, "2027-03-01T10:00:00Z"),
        ),
        compares={sha: compare("shop/core-api", sha, changed)},
    )


def test_a_docs_only_deploy_before_500s_is_ruled_out_and_said_so() -> None:
    sha = "d" * 40
    ev = deploy_before_500s(sha, ["docs/invoices.md", "CHANGELOG.md", "tests/test_invoices.py"])
    diff = assess(
        state("Creating invoices fails with 500 since 11:00", catalog=complete(Catalog(), ["shop/core-api"])),
        ev,
    )
    assert all(h.category != "deploy_regression" for h in diff.hypotheses)
    assert sha in diff.ruled_out_deploys
    assert any("only documentation" in r for r in diff.ruled_out)
    # A runbook finding that blames it gives way.
    assert not weigh("deploy_regression", 0.8, {sha}, diff).use_runbook


def test_a_deploy_that_touched_the_endpoint_is_the_owners_regression() -> None:
    sha = "e" * 40
    catalog = Catalog(
        components=[
            Component(
                id="billing-api", kind="api", repos=["shop/core-api"], paths=["/api/"], team="payments-eng"
            )
        ]
    )
    ev = deploy_before_500s(sha, ["src/invoices/create.py"])
    h = best(assess(state("Creating invoices fails with 500 since 11:00", catalog=catalog), ev))
    assert h.category == "deploy_regression" and h.team == "payments-eng"
    assert sha in {c.value for c in h.evidence} and "src/invoices/create.py" in h.statement


def test_errors_that_stopped_hours_before_the_ticket_are_said_to_have_ended() -> None:
    ev = outage_evidence(
        503, "service_unavailable", 120, ("2027-03-04T06:00:00.000Z", "2027-03-04T06:40:00.000Z"), (9, 900)
    )
    diff = assess(state("This morning the API was down for us, 503 Service Unavailable"), ev)
    assert diff.ended_at == "2027-03-04T06:40:00.000Z"
    h = best(diff)
    assert h.category == "platform_incident" and "stopped" in h.reply


def test_a_short_webhook_outage_is_not_diluted_into_the_customers_endpoint() -> None:
    hours = [
        {
            "hour": f"2027-03-0{3 + (h >= 24)}T{h % 24:02d}:00:00.000Z",
            "attempts": 50,
            "failures": 30 if h in (30, 31) else 0,
        }
        for h in range(0, 36)
    ]
    full = {
        "attempts": 1800,
        "failures": 60,
        "failure_rate": 0.033,
        "failing_since": "2027-03-04T06:00:00.000Z",
        "endpoint_urls": ["https://hooks.blueheron.example/in"],
        "history": hours,
        "platform": {"attempts": 90000, "failures": 1800, "failure_rate": 0.02},
    }
    narrow = {
        **full,
        "failure_rate": 0.6,
        "platform": {"attempts": 5000, "failures": 2000, "failure_rate": 0.4},
    }
    ev = webhook_evidence(full, narrow)
    h = best(assess(state("Our webhook endpoint missed events this morning"), ev))
    assert h.category == "webhook_platform"


def test_the_customers_own_database_refusing_connections_is_theirs() -> None:
    ev = Evidence(
        summary=summary(12, status=404, base_rate=0.003),
        top=top([row(404, "not_found", 12)]),
        billing=billing(),
    )
    h = best(
        assess(
            state("Our sync job fails: ECONNREFUSED 10.20.1.5:5432 since the upgrade. Is your API down?"), ev
        )
    )
    assert h.category == "customer_error" and "10.20.1.5:5432" in h.statement


def test_a_healthy_account_resolves_with_a_question() -> None:
    ev = Evidence(
        summary=summary(20, status=404, base_rate=0.005),
        top=top([row(404, "not_found", 20)]),
        billing=billing(),
    )
    h = best(assess(state("Is something wrong with the API today? It feels slow to sync"), ev))
    assert h.category == "no_issue_found" and h.action == "resolve" and "request id" in h.reply


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "invalid_client", "credentials"),
        (401, "livemode_mismatch", "test_key"),
        (403, "ip_not_allowlisted", "permission"),
        (403, "subscription_past_due", "billing"),
        (429, "batch_size_exceeded", "plan_limit"),
        (413, "bulk_send_max_recipients", "plan_limit"),
        # A batch that failed for another reason is not a limit.
        (400, "batch_parse_failed", "validation"),
        (429, "", "rate_limit"),
        (422, "invalid_currency", "validation"),
        (410, "", "gone"),
        (500, "invalid_state", "server"),
        (504, "", "timeout"),
    ],
)
def test_error_semantics(status: int, code: str, expected: str) -> None:
    assert classify(status, code) == expected


def test_inert_files_and_distinctive_bug_words() -> None:
    assert inert_file("docs/api.md") and inert_file("src/locales/de.json") and inert_file("tests/test_x.py")
    assert not inert_file("src/invoices/create.py")
    issues = [
        issue("ENG-1", "Rate limiter counts retried requests twice", "In Progress"),
        issue("ENG-2", "Quotes fail for multi-parcel rate requests", "Todo", "split"),
    ]
    ranked = rank_issues(issues, "rate requests for multi-parcel quotes fail")
    assert ranked[0][1].identifier == "ENG-2" and ranked[0][0] > 1.5 * ranked[1][0]


def test_the_llm_gets_the_differential_in_its_first_message() -> None:
    s = state("401 invalid_client since this morning")
    s.differential = assess(
        s, Evidence(summary=summary(180), top=top([row(401, "invalid_client", 180)]), billing=billing())
    )
    opening = render_opening(s)
    assert "General differential diagnosis" in opening and "candidate customer_error" in opening


def test_an_incident_of_ours_that_is_over_resolves_with_an_explanation() -> None:
    from casefile.agent.diagnosis import Diagnosis
    from casefile.agent.routing import Fact, decide, load_routing

    config = load_routing()
    root_cause = {"category": "platform_incident", "statement": "an incident of ours, over"}
    d = Diagnosis.model_validate(
        diagnosis_body("platform_incident", score=0.8, ticket_id="Z-1", root_cause=root_cause)
    )
    assert decide(config, d, {}, None).action == "escalate"
    stopped = {
        "errors_stopped": Fact("errors_stopped", "c2", "the last server error was at 2027-03-04T06:40:00Z")
    }
    assert decide(config, d, stopped, None).action == "resolve"
