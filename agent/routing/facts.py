"""Evidence facts: what the tool results establish (billing not in good standing, webhook failures
confined to the customer's endpoint, latency up across many accounts …), each with the call that
shows it. :data:`FACTS` names them for the routing file's checker; :data:`FACT_PROBES` says which
packet field collects the data a fact is computed from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.routing.schema import EvidenceThresholds
from casefile.tools.base import GarbledResult, ToolOutcome, iso, parse_ts
from casefile.tools.billing_results import BillingAccount
from casefile.tools.bugs_results import issues_in
from casefile.tools.logs_results import ErrorSummary, Latency, SsoLogins, TopErrors, WebhookDeliveries
from casefile.tools.sso_results import SsoCheck

__all__ = ["BILLING_ERROR_CODES", "FACTS", "FACT_PROBES", "Fact", "compute_facts"]

# Error codes the API answers when billing, not the platform, blocks a request.
BILLING_ERROR_CODES = frozenset(
    {
        "subscription_past_due",
        "subscription_canceled",
        "payment_required",
        "plan_limit_exceeded",
        "account_suspended",
    }
)


@dataclass(frozen=True)
class Fact:
    """Something the tool results show, with the call that shows it."""

    name: str
    call_id: str
    detail: str


V = TypeVar("V", bound=BaseModel)


def _latest(
    outcomes: Sequence[ToolOutcome], tool: str, view: type[V], where: Callable[[V], bool] | None = None
) -> tuple[ToolOutcome, V] | None:
    """The newest successful call of ``tool`` whose result reads as ``view`` (and satisfies ``where``)."""
    for outcome in reversed(outcomes):
        if outcome.tool != tool or not outcome.ok:
            continue
        try:
            typed = outcome.view(view)
        except GarbledResult:
            continue
        if where is None or where(typed):
            return outcome, typed
    return None


def _billing_facts(outcomes: Sequence[ToolOutcome], t: EvidenceThresholds) -> Iterable[Fact]:
    found = _latest(outcomes, "billing_account", BillingAccount)
    if found is not None and found[1].in_good_standing is False:
        reasons = "; ".join(found[1].standing_reasons) or "not in good standing"
        yield Fact("billing_not_in_good_standing", found[0].call_id, f"billing_account: {reasons}")
    for outcome in reversed(outcomes):  # the newest summary that names a billing code
        summary = _latest([outcome], "logs_error_summary", ErrorSummary)
        codes = (
            [c for c in summary[1].top_error_codes if c.error_code in BILLING_ERROR_CODES and c.count]
            if summary
            else []
        )
        if codes:
            yield Fact(
                "billing_errors_in_logs",
                outcome.call_id,
                f"{codes[0].count} requests rejected with {codes[0].error_code}",
            )
            break


def _api_facts(outcomes: Sequence[ToolOutcome], t: EvidenceThresholds) -> Iterable[Fact]:
    found = _latest(outcomes, "logs_error_summary", ErrorSummary)
    if found is None:
        return
    summary, d = found
    billing = sum(c.count for c in d.top_error_codes if c.error_code in BILLING_ERROR_CODES)
    explained_by_billing = d.errors > 0 and billing >= d.errors * 0.8
    if (d.spike or d.error_rate >= t.api_error_rate) and d.errors and not explained_by_billing:
        detail = (
            f"error spike at {d.spike.start} ({d.spike.before_rate:.1%} → {d.spike.after_rate:.1%})"
            if d.spike
            else f"error rate {d.error_rate:.1%}"
        )
        yield Fact("api_errors", summary.call_id, detail)
    requests = max(d.requests, 1)
    five = sum(s.count for s in d.by_status if s.status >= 500)
    storm = five >= t.storm_5xx_count or (five >= 20 and five / requests >= t.storm_5xx_rate)
    worst = max((e.errors for e in d.top_endpoints), default=0)
    # 5xx confined to one endpoint (it has about as many errors as there are 5xx) are that
    # endpoint's failure, its owner's to fix, not a storm for SRE.
    storm = storm and not (len(d.top_endpoints) > 1 and worst >= 0.8 * five)
    if storm:
        yield Fact("api_5xx_storm", summary.call_id, f"{five} 5xx responses of {requests} requests")
    elif not d.spike and d.error_rate < t.api_error_rate and d.requests > 0:
        # The logs show the account's traffic flowing normally: "the API is down" is not borne out.
        yield Fact(
            "api_healthy", summary.call_id, f"{d.requests} requests, error rate {d.error_rate:.1%}, no spike"
        )


def _webhook_facts(outcomes: Sequence[ToolOutcome], t: EvidenceThresholds) -> Iterable[Fact]:
    found = _latest(outcomes, "logs_webhook_deliveries", WebhookDeliveries)
    if found is None:
        return
    deliveries, d = found
    platform = d.platform.failure_rate if d.platform else 0.0
    failing = d.attempts > 0 and d.failure_rate >= t.webhook_failure_rate
    if failing:
        yield Fact(
            "webhook_failures",
            deliveries.call_id,
            f"{d.failure_rate:.0%} of deliveries failed since {d.failing_since}",
        )
    # Everyone's failures are this ticket's fact when the account's own deliveries fail too.
    if platform >= t.platform_webhook_failure_rate and (failing or d.failing_since):
        yield Fact(
            "webhook_platform_failures", deliveries.call_id, f"platform-wide failure rate {platform:.1%}"
        )
    elif failing and d.platform is not None:
        yield Fact(
            "webhook_customer_endpoint",
            deliveries.call_id,
            f"only the customer's endpoint fails ({d.failure_rate:.0%}); platform failure rate {platform:.1%}",
        )


def _sso_facts(outcomes: Sequence[ToolOutcome], t: EvidenceThresholds) -> Iterable[Fact]:
    logins = _latest(outcomes, "logs_sso_logins", SsoLogins)
    if logins is not None and logins[1].failures > 0:
        yield Fact(
            "sso_failures",
            logins[0].call_id,
            f"{logins[1].failures} failed SSO logins since {logins[1].failing_since}",
        )
    check = _latest(outcomes, "sso_check", SsoCheck)
    if check is not None:
        d = check[1]
        if d.signing_cert_expired or d.configured_cert_present is False or d.problems:
            problems = "; ".join(d.problems) or "signing certificate expired or rotated"
            yield Fact("sso_certificate_problem", check[0].call_id, problems[:300])


def _latency_facts(outcomes: Sequence[ToolOutcome], t: EvidenceThresholds) -> Iterable[Fact]:
    widespread = False
    platform = _latest(outcomes, "logs_latency", Latency, lambda d: d.scope == "all")
    if platform is not None:
        # Anonymous ratios (each account's p95 over its own baseline): no other account is named.
        slow = [r for r in platform[1].p95_ratios if r >= t.latency_ratio]
        if len(slow) >= t.widespread_min_accounts:
            widespread = True
            yield Fact(
                "latency_widespread",
                platform[0].call_id,
                f"{len(slow)} accounts' p95 rose ≥ {t.latency_ratio}×",
            )
    account = _latest(outcomes, "logs_latency", Latency, lambda d: d.scope == "account")
    if account is not None and not widespread:
        p95, base = account[1].p95_ms or 0.0, account[1].baseline.p95_ms or 0.0
        if base > 0 and p95 >= base * t.latency_ratio:
            yield Fact(
                "latency_one_account", account[0].call_id, f"p95 {p95:.0f} ms vs baseline {base:.0f} ms"
            )


def _bug_facts(outcomes: Sequence[ToolOutcome], diagnosis: Diagnosis | None) -> Iterable[Fact]:
    if diagnosis is None:
        return
    cited = {r.id for r in diagnosis.related if r.kind == "bug"} | {e.value for e in diagnosis.evidence}
    for outcome in outcomes:
        for issue in issues_in(outcome):
            if issue.workaround and issue.open and issue.identifier in cited:
                yield Fact(
                    "known_bug_with_workaround", outcome.call_id, f"{issue.identifier} has a workaround"
                )
                return


# name → what it means (the checker's list; the YAML header documents each).
FACTS: dict[str, str] = {
    "billing_not_in_good_standing": "billing_account.in_good_standing is false",
    "billing_errors_in_logs": "the API rejected the account with a billing error code",
    "api_errors": "an error spike or elevated error rate not explained by billing",
    "api_5xx_storm": "many 5xx responses",
    "api_healthy": "the account's requests flow normally: no spike, error rate under the threshold",
    "webhook_failures": "the account's webhook deliveries fail",
    "webhook_customer_endpoint": "webhook failures confined to the customer's endpoint",
    "webhook_platform_failures": "webhook deliveries failing platform-wide",
    "sso_failures": "failed SSO logins",
    "sso_certificate_problem": "expired or rotated IdP signing certificate, or metadata problems",
    "latency_one_account": "one account's p95 latency up against its baseline",
    "latency_widespread": "many accounts' p95 latency up",
    "known_bug_with_workaround": "an open, cited bug has a workaround",
    "errors_stopped": "the account's server errors all ended over an hour before the ticket",
}

# The packet field whose filler collects the data a fact is computed from, and the ticket
# areas that make the probe worth a call (empty: always; billing hides behind any symptom).
FACT_PROBES: dict[str, tuple[str, frozenset[str]]] = {
    "billing_not_in_good_standing": ("billing_status", frozenset()),
    "billing_errors_in_logs": ("error_summary", frozenset()),
    "api_errors": ("error_summary", frozenset()),
    "api_5xx_storm": ("error_summary", frozenset()),
    "api_healthy": ("error_summary", frozenset()),
    "webhook_failures": ("endpoint_response_times", frozenset({"webhook"})),
    "webhook_customer_endpoint": ("endpoint_response_times", frozenset({"webhook"})),
    "webhook_platform_failures": ("endpoint_response_times", frozenset({"webhook"})),
    "sso_failures": ("sso_failures", frozenset({"sso", "oauth"})),
    "sso_certificate_problem": ("sso_metadata", frozenset({"sso", "oauth"})),
    "latency_one_account": ("latency", frozenset({"performance"})),
    "latency_widespread": ("affected_accounts", frozenset({"performance"})),
}


def _stopped_facts(outcomes: Sequence[ToolOutcome], now: datetime | None) -> Iterable[Fact]:
    """The account's server errors (its top ones) all ended over an hour before the ticket."""
    found = _latest(outcomes, "logs_top_errors", TopErrors)
    if found is None or now is None:
        return
    lasts = [parse_ts(r.last_at) for r in found[1].top if r.status >= 500]
    if lasts and all(t is not None for t in lasts):
        last = max(t for t in lasts if t is not None)
        if now - last > timedelta(hours=1):
            yield Fact("errors_stopped", found[0].call_id, f"the last server error was at {iso(last)}")


def compute_facts(
    outcomes: Sequence[ToolOutcome],
    thresholds: EvidenceThresholds,
    diagnosis: Diagnosis | None = None,
    now: datetime | None = None,
) -> dict[str, Fact]:
    """Every evidence fact the tool results establish, by name (``now``: the ticket's time)."""
    found: dict[str, Fact] = {}
    for fact in _stopped_facts(outcomes, now):
        found.setdefault(fact.name, fact)
    for producer in (_billing_facts, _api_facts, _webhook_facts, _sso_facts, _latency_facts):
        for fact in producer(outcomes, thresholds):
            found.setdefault(fact.name, fact)
    for fact in _bug_facts(outcomes, diagnosis):
        found.setdefault(fact.name, fact)
    return found
