"""Routing: trigger rules, symptom signatures, the decision rule, evidence against words (route() end
to end: tests/test_routing_route.py; the file checker: tests/test_routing_check.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from llm_fixtures import diagnosis_body
from outcomes import tool_outcome

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.routing import (
    ROUTING_FILE,
    compute_facts,
    decide,
    load_routing,
    match_symptoms,
    match_triggers,
    select_team,
)
from casefile.agent.ticket import Signals, Ticket
from casefile.tools.base import ToolOutcome

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = load_routing()


def out(call_id: str, tool: str, data: Any, ok: bool = True, error: str | None = None) -> ToolOutcome:
    return tool_outcome(call_id, tool, data, ok=ok, error=error, error_kind=None if ok else "timeout", at=NOW)


def sig(**kw: Any) -> Signals:
    return Signals(window_start=NOW - timedelta(hours=12), window_end=NOW, account_id="acme", **kw)


def tkt(text: str, subject: str = "") -> Ticket:
    return Ticket(id="T-1", subject=subject, body=text, created_at=NOW, account_id="acme")


def diag(
    category: str = "insufficient_evidence",
    action: str = "escalate",
    score: float = 0.3,
    team: str | None = None,
    **extra: Any,
) -> Diagnosis:
    body = diagnosis_body(
        category, action, team=team, score=score, ticket_id="T-1", account_id="acme", **extra
    )
    return Diagnosis.model_validate(body)


# Tool results that establish each evidence fact (and nothing else).
BILLING_PAST_DUE = out(
    "b1",
    "billing_account",
    {"in_good_standing": False, "standing_reasons": ["subscription sub_1 is past_due"], "subscriptions": []},
)
BILLING_OK = out("b1", "billing_account", {"in_good_standing": True, "standing_reasons": []})


def error_summary(requests: int, errors: int, status: int, code: str, spike: Any) -> ToolOutcome:
    """An error summary whose every error has one status and one code."""
    data = {
        "requests": requests,
        "errors": errors,
        "error_rate": errors / requests,
        "spike": spike,
        "by_status": [{"status": status, "count": errors}],
        "top_error_codes": [{"error_code": code, "count": errors}],
    }
    return out("e1", "logs_error_summary", data)


BILLING_CODES = error_summary(100, 90, 402, "subscription_past_due", {"start": "2026-11-19T00:00:00Z"})
SPIKE_429 = {"start": "2026-11-20T08:12:00Z", "before_rate": 0.0, "after_rate": 0.4, "status": 429}
API_SPIKE = error_summary(1000, 80, 429, "rate_limit_exceeded", SPIKE_429)
STORM = error_summary(1000, 400, 503, "internal_error", None)


def webhooks_failing(platform_failures: int) -> ToolOutcome:
    """90% of the account's deliveries fail; the platform's 5000 have ``platform_failures``."""
    platform = {"attempts": 5000, "failures": platform_failures, "failure_rate": platform_failures / 5000}
    data = {"attempts": 100, "failures": 90, "failure_rate": 0.9, "failing_since": "2026-11-19T22:10:00Z"}
    return out("w1", "logs_webhook_deliveries", {**data, "platform": platform})


WEBHOOK_CUSTOMER = webhooks_failing(20)
WEBHOOK_PLATFORM = webhooks_failing(2000)
SSO_FAILING = out(
    "s1", "logs_sso_logins", {"attempts": 40, "failures": 40, "failing_since": "2026-11-20T06:48:00Z"}
)
SSO_EXPIRED = out(
    "s2", "sso_check", {"signing_cert_expired": True, "configured_cert_present": True, "problems": []}
)
LATENCY_ONE = out(
    "l1", "logs_latency", {"scope": "account", "p95_ms": 900, "baseline": {"p95_ms": 200}, "slowest": []}
)
LATENCY_ALL = out(
    "l2",
    "logs_latency",
    {
        "scope": "all",
        "p95_ms": 900,
        "baseline": {"p95_ms": 200},
        "accounts_compared": 6,
        "p95_ratios": [4.5, 4.5, 4.5, 4.5, 1.0, 0.9],
    },
)
BUG_WITH_WORKAROUND = out(
    "g1",
    "bugs_search",
    {"issues": [{"identifier": "REL-482", "state": "In Progress", "workaround": "retry once", "title": "t"}]},
)


@pytest.mark.parametrize(
    ("outcomes", "fact"),
    [
        ([BILLING_PAST_DUE], "billing_not_in_good_standing"),
        ([BILLING_CODES], "billing_errors_in_logs"),
        ([API_SPIKE], "api_errors"),
        ([STORM], "api_5xx_storm"),
        ([WEBHOOK_CUSTOMER], "webhook_failures"),
        ([WEBHOOK_CUSTOMER], "webhook_customer_endpoint"),
        ([WEBHOOK_PLATFORM], "webhook_platform_failures"),
        ([SSO_FAILING], "sso_failures"),
        ([SSO_EXPIRED], "sso_certificate_problem"),
        ([LATENCY_ONE], "latency_one_account"),
        ([LATENCY_ALL], "latency_widespread"),
    ],
)
def test_each_fact_comes_from_its_tool_result(outcomes: list[ToolOutcome], fact: str) -> None:
    facts = compute_facts(outcomes, CONFIG.evidence)
    assert fact in facts
    assert facts[fact].call_id == outcomes[0].call_id


def test_facts_that_must_not_hold() -> None:
    facts = compute_facts([BILLING_CODES, BILLING_OK, WEBHOOK_PLATFORM], CONFIG.evidence)
    assert "api_errors" not in facts  # the errors are billing enforcement
    assert "billing_not_in_good_standing" not in facts
    assert "webhook_customer_endpoint" not in facts  # everyone's deliveries fail
    assert "latency_one_account" not in compute_facts([LATENCY_ALL, LATENCY_ONE], CONFIG.evidence)


def test_known_bug_fact_needs_the_diagnosis_to_cite_the_bug() -> None:
    assert "known_bug_with_workaround" not in compute_facts([BUG_WITH_WORKAROUND], CONFIG.evidence, diag())
    cited = diag(evidence=[{"call_id": "g1", "value": "REL-482", "claim": "c"}])
    assert "known_bug_with_workaround" in compute_facts([BUG_WITH_WORKAROUND], CONFIG.evidence, cited)
    # Closed is one list for routing and runbook templates (tools/bugs_results.py): "Won't Fix" too.
    for state in ("Won't Fix", "Closed", "Done"):
        issue = {**BUG_WITH_WORKAROUND.data["issues"][0], "state": state}
        closed = BUG_WITH_WORKAROUND.model_copy(update={"data": {"issues": [issue]}})
        assert "known_bug_with_workaround" not in compute_facts([closed], CONFIG.evidence, cited), state


# ---------------------------------------------------------------- trigger rules, one case each

# Rules that fire on the ticket's words alone: rule -> ticket text.
WORDS_ONLY = {
    "tls-certificate": "PKIX path building failed when calling the API",
    "api-down": "is your API down?",
    "database-errors": "error: deadlock detected while creating orders",
    "stack-trace-leak": "there is a stack trace in the response",
    "duplicate-writes": "we got duplicate orders after one POST",
    "integration-down": "our Shopify integration is down",
    "data-sync-failure": "inventory is not syncing since Monday",
    "data-loss": "we have data loss: orders disappeared",
    "account-lockout": "all admins are locked out",
    "security-report": "I want to report a security vulnerability",
    "breach": "we think our account was compromised",
    "credential-leak": "we leaked our api key on GitHub",
    "cross-tenant-data": "I can see another customer's orders in my dashboard",
    "privacy-request": "a GDPR deletion request for a user",
    "billing-dispute": "we were charged twice this month",
}
# Rules that need the ticket's signals or tool evidence too: rule -> (ticket text, signals, outcomes).
TRIGGER_CASES: dict[str, tuple[str, dict[str, Any], list[ToolOutcome]]] = {
    "tls-handshake": (
        "javax.net.ssl.SSLHandshakeException: Received fatal alert",
        {"exceptions": ["javax.net.ssl.SSLHandshakeException"]},
        [],
    ),
    "connection-refused": ("connect ECONNREFUSED 10.0.45.2:443", {"error_codes": ["ECONNREFUSED"]}, []),
    "connection-reset": ("requests die with socket hang up", {"error_codes": ["ECONNRESET"]}, []),
    "network-timeout": ("client gets ETIMEDOUT", {"error_codes": ["ETIMEDOUT"]}, []),
    "dns-failure": ("getaddrinfo ENOTFOUND api.relayhq.dev", {"error_codes": ["ENOTFOUND"]}, []),
    "gateway-errors": ("we get 502 Bad Gateway", {"statuses": [502]}, []),
    "out-of-memory": (
        "the response said java.lang.OutOfMemoryError",
        {"exceptions": ["java.lang.OutOfMemoryError"]},
        [],
    ),
    "5xx-storm": ("orders are failing", {}, [STORM]),
    "platform-slowness": ("everything is slow", {}, [LATENCY_ALL]),
    "webhook-platform-outage": ("webhooks are late", {}, [WEBHOOK_PLATFORM]),
    "http-5xx": ("export returns 500", {"statuses": [500]}, []),
    "saml-service-provider-error": ("SSO fails with Saml2Exception", {"exceptions": ["Saml2Exception"]}, []),
    "oauth-server-error": ("token endpoint returns server_error", {"error_codes": ["server_error"]}, []),
    **{rule: (text, {}, []) for rule, text in WORDS_ONLY.items()},
}


def test_every_trigger_rule_has_a_case() -> None:
    assert {t.id for t in CONFIG.triggers} == set(TRIGGER_CASES)
    assert 25 <= len(CONFIG.triggers) <= 30


@pytest.mark.parametrize("trigger_id", sorted(TRIGGER_CASES))
def test_trigger_fires(trigger_id: str) -> None:
    text, signals, outcomes = TRIGGER_CASES[trigger_id]
    facts = compute_facts(outcomes, CONFIG.evidence)
    fired, _ = match_triggers(CONFIG, text, sig(**signals), facts)
    assert trigger_id in [hit.trigger.id for hit in fired]
    rule = next(t for t in CONFIG.triggers if t.id == trigger_id)
    best = fired[0]
    # A diagnosis that names no cause goes where the rule points.
    vague = diag()
    choice = select_team(CONFIG, vague, match_symptoms(CONFIG, vague, text, sig(**signals), facts), best)
    assert choice.team == best.trigger.team
    # A confident diagnosis: a binding rule (security, data loss, privacy, disputes) still decides the
    # team; any other rule adds urgency and the diagnosed category decides.
    d = diag("rate_limit", "resolve", 0.99)
    assert decide(CONFIG, d, facts, best).action == "escalate"
    choice = select_team(CONFIG, d, match_symptoms(CONFIG, d, text, sig(**signals), facts), best)
    assert choice.team == (best.trigger.team if best.trigger.binding else "backend")
    assert rule.team in CONFIG.teams


def test_quiet_ticket_fires_nothing() -> None:
    fired, _ = match_triggers(
        CONFIG, "API calls failing with 429 since this morning", sig(statuses=[429]), {}
    )
    assert fired == []


@pytest.mark.parametrize(
    ("text", "signals", "outcomes", "silenced"),
    [
        ("can't create orders, is your API down?", {}, [BILLING_PAST_DUE], "api-down"),
        ("can't create orders, is your API down?", {}, [BILLING_CODES], "api-down"),
        ("your webhooks get 503 from us", {"statuses": [503]}, [WEBHOOK_CUSTOMER], "http-5xx"),
        (
            "webhooks: ECONNREFUSED",
            {"error_codes": ["ECONNREFUSED"]},
            [WEBHOOK_CUSTOMER],
            "connection-refused",
        ),
    ],
)
def test_unless_evidence_silences_a_trigger(
    text: str, signals: dict[str, Any], outcomes: list[ToolOutcome], silenced: str
) -> None:
    facts = compute_facts(outcomes, CONFIG.evidence)
    fired, notes = match_triggers(CONFIG, text, sig(**signals), facts)
    assert silenced not in [h.trigger.id for h in fired]
    assert any(silenced in n and outcomes[0].call_id in n for n in notes)


def test_priority_orders_fired_triggers() -> None:
    facts = compute_facts([STORM], CONFIG.evidence)
    fired, _ = match_triggers(
        CONFIG, "security vulnerability, and 500s everywhere", sig(statuses=[500]), facts
    )
    assert [h.trigger.id for h in fired][:3] == ["security-report", "5xx-storm", "http-5xx"]


# ---------------------------------------------------------------- symptom signatures, one case each

# Each symptom is recognised three ways, each tried alone: by the evidence that shows it (under an
# insufficient_evidence diagnosis), by a diagnosis category that names it, and by the ticket's words
# (its areas and text). None: the symptom has no such way.
SYMPTOMS: dict[str, tuple[ToolOutcome | None, str | None, tuple[dict[str, Any], str] | None]] = {
    "billing": (BILLING_PAST_DUE, "billing_card_declined", ({"areas": ["billing"]}, "our invoice")),
    "sso": (SSO_FAILING, "sso_clock_skew", ({"areas": ["sso"]}, "cannot sign in")),
    "webhooks": (WEBHOOK_CUSTOMER, "webhook_platform", ({"areas": ["webhook"]}, "events")),
    "slowness-widespread": (LATENCY_ALL, "performance_platform", None),
    "slowness-one-account": (LATENCY_ONE, "performance_account", ({"areas": ["performance"]}, "slow")),
    "data-discrepancy": (None, "data_timezone", ({"areas": ["data"]}, "totals don't match")),
    "ui-one-browser": (None, "ui_browser", ({"areas": ["ui"], "browsers": ["Safari 17.2"]}, "button")),
    "api-errors": (API_SPIKE, "deploy_regression", ({"areas": ["export"]}, "export fails")),
}
# (symptom, how, category, outcomes, signals, ticket text)
SymptomCase = tuple[str, str, str, list[ToolOutcome], dict[str, Any], str]


def _symptom_cases() -> list[SymptomCase]:
    cases: list[SymptomCase] = []
    for symptom, (outcome, category, words) in sorted(SYMPTOMS.items()):
        if outcome is not None:
            cases.append((symptom, "evidence", "insufficient_evidence", [outcome], {}, "hello"))
        if category is not None:
            cases.append((symptom, "category", category, [], {}, "hello"))
        if words is not None:
            cases.append((symptom, "words", "insufficient_evidence", [], *words))
    return cases


def test_every_symptom_has_cases() -> None:
    assert {s.id for s in CONFIG.symptoms} == set(SYMPTOMS)


@pytest.mark.parametrize(
    ("symptom_id", "level", "category", "outcomes", "signals", "text"),
    _symptom_cases(),
    ids=[f"{c[0]}-{c[1]}" for c in _symptom_cases()],
)
def test_symptom_routes_to_its_team(
    symptom_id: str,
    level: str,
    category: str,
    outcomes: list[ToolOutcome],
    signals: dict[str, Any],
    text: str,
) -> None:
    d = diag(category)
    facts = compute_facts(outcomes, CONFIG.evidence, d)
    hits = match_symptoms(CONFIG, d, text, sig(**signals), facts)
    assert hits and hits[0].symptom.id == symptom_id and hits[0].level == level
    choice = select_team(CONFIG, d, hits, None)
    expected = next(s.team for s in CONFIG.symptoms if s.id == symptom_id)
    assert choice.team == expected
    assert choice.routed_by == level


def test_design_matrix() -> None:
    """The design's symptom → team table, as the shipped file encodes it."""
    team_of = {s.id: s.team for s in CONFIG.symptoms}
    assert team_of["api-errors"] == "backend"
    assert team_of["webhooks"] == "integrations"
    assert team_of["data-discrepancy"] == "data"
    assert team_of["ui-one-browser"] == "frontend"
    assert team_of["slowness-widespread"] == "sre"
    assert team_of["slowness-one-account"] == "backend"
    assert team_of["sso"] == "identity"
    assert team_of["billing"] == "billing"
    required = {name: set(team.requires) for name, team in CONFIG.teams.items()}
    assert {"failing_requests", "api_key_hash"} <= required["backend"]
    assert {"webhook_retry_log", "endpoint_response_times"} <= required["integrations"]
    assert {"customer_query", "expected_vs_actual", "timezone"} <= required["data"]
    assert {"browser", "console_errors"} <= required["frontend"]
    assert {"affected_accounts", "trace_ids"} <= required["sre"]
    assert all("similar_tickets" in r for r in required.values())


# ---------------------------------------------------------------- the decision rule


@pytest.mark.parametrize(
    ("category", "action", "score", "outcomes", "cites_bug", "expected"),
    [
        ("billing_past_due", "resolve", 0.9, [], False, "resolve"),  # documented: pay the invoice
        ("billing_past_due", "resolve", 0.5, [], False, "escalate"),  # below the threshold
        ("sso_certificate_expired", "resolve", 0.9, [], False, "resolve"),  # cert rotation steps
        ("webhook_customer_endpoint", "resolve", 0.85, [], False, "resolve"),  # the customer's side
        ("known_bug", "resolve", 0.85, [BUG_WITH_WORKAROUND], True, "resolve"),  # workaround cited
        ("known_bug", "resolve", 0.85, [BUG_WITH_WORKAROUND], False, "escalate"),  # workaround not cited
        ("known_bug", "resolve", 0.85, [], True, "escalate"),  # no bug found at all
        ("deploy_regression", "resolve", 0.99, [], False, "escalate"),  # ours
        ("insufficient_evidence", "resolve", 0.99, [], False, "escalate"),
        ("rate_limit", "escalate", 0.9, [], False, "escalate"),  # the model may always escalate
    ],
)
def test_decision_rule(
    category: str, action: str, score: float, outcomes: list[ToolOutcome], cites_bug: bool, expected: str
) -> None:
    evidence = [{"call_id": "g1", "value": "REL-482", "claim": "c"}] if cites_bug else []
    d = diag(category, action, score, evidence=evidence)
    decision = decide(CONFIG, d, compute_facts(outcomes, CONFIG.evidence, d), None)
    assert decision.action == expected, decision.reason


def test_thresholds_are_configurable(tmp_path: Path) -> None:
    text = ROUTING_FILE.read_text().replace(
        "billing_past_due: {threshold: 0.7", "billing_past_due: {threshold: 0.95"
    )
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    config = load_routing(path)
    d = diag("billing_past_due", "resolve", 0.9)
    assert decide(config, d, {}, None).action == "escalate"
    assert decide(CONFIG, d, {}, None).action == "resolve"
