"""Evidence facts: what the tool results establish (billing not in good standing, webhook failures
confined to the customer's endpoint, latency up across many accounts …), each with the call that
shows it. :data:`FACTS` names them for the routing file's checker; :data:`FACT_PROBES` says which
packet field collects the data a fact is computed from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from casefile.agent.diagnosis import Diagnosis
from casefile.agent.routing.schema import EvidenceThresholds
from casefile.tools.base import ToolOutcome, iso, parse_ts

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


def _d(outcome: ToolOutcome) -> dict[str, Any]:
    return outcome.data if isinstance(outcome.data, dict) else {}


def _latest(
    outcomes: Sequence[ToolOutcome], tool: str, where: Callable[[dict[str, Any]], bool] | None = None
) -> ToolOutcome | None:
    for outcome in reversed(outcomes):
        if (
            outcome.tool == tool
            and outcome.ok
            and isinstance(outcome.data, dict)
            and (where is None or where(outcome.data))
        ):
            return outcome
    return None


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _billing_facts(outcomes: Sequence[ToolOutcome], t: EvidenceThresholds) -> Iterable[Fact]:
    billing = _latest(outcomes, "billing_account")
    if billing is not None and _d(billing).get("in_good_standing") is False:
        reasons = "; ".join(map(str, _d(billing).get("standing_reasons") or [])) or "not in good standing"
        yield Fact("billing_not_in_good_standing", billing.call_id, f"billing_account: {reasons}")
    for outcome in reversed(outcomes):
        if outcome.tool != "logs_error_summary" or not outcome.ok:
            continue
        codes = [c for c in _d(outcome).get("top_error_codes") or [] if isinstance(c, dict)]
        billing_codes = [
            c for c in codes if str(c.get("error_code")) in BILLING_ERROR_CODES and c.get("count")
        ]
        if billing_codes:
            c = billing_codes[0]
            yield Fact(
                "billing_errors_in_logs",
                outcome.call_id,
                f"{c['count']} requests rejected with {c['error_code']}",
            )
            break


def _api_facts(outcomes: Sequence[ToolOutcome], t: EvidenceThresholds) -> Iterable[Fact]:
    summary = _latest(outcomes, "logs_error_summary")
    if summary is None:
        return
    d = _d(summary)
    codes = [c for c in d.get("top_error_codes") or [] if isinstance(c, dict) and c.get("count")]
    errors = int(_num(d.get("errors")))
    billing = sum(int(_num(c.get("count"))) for c in codes if str(c.get("error_code")) in BILLING_ERROR_CODES)
    explained_by_billing = errors > 0 and billing >= errors * 0.8
    if (
        (d.get("spike") or _num(d.get("error_rate")) >= t.api_error_rate)
        and errors
        and not explained_by_billing
    ):
        spike = d.get("spike") or {}
        detail = (
            f"error spike at {spike.get('start')} ({_num(spike.get('before_rate')):.1%} → {_num(spike.get('after_rate')):.1%})"
            if spike
            else f"error rate {_num(d.get('error_rate')):.1%}"
        )
        yield Fact("api_errors", summary.call_id, detail)
    requests = max(int(_num(d.get("requests"))), 1)
    five = sum(
        int(_num(s.get("count")))
        for s in d.get("by_status") or []
        if isinstance(s, dict) and int(_num(s.get("status"))) >= 500
    )
    storm = five >= t.storm_5xx_count or (five >= 20 and five / requests >= t.storm_5xx_rate)
    endpoints = [e for e in d.get("top_endpoints") or [] if isinstance(e, dict)]
    worst = max((int(_num(e.get("errors"))) for e in endpoints), default=0)
    # 5xx confined to one endpoint (it has about as many errors as there are 5xx) are that
    # endpoint's failure, its owner's to fix, not a storm for SRE.
    storm = storm and not (len(endpoints) > 1 and worst >= 0.8 * five)
    if storm:
        yield Fact("api_5xx_storm", summary.call_id, f"{five} 5xx responses of {requests} requests")
    elif (
        not d.get("spike")
        and _num(d.get("error_rate")) < t.api_error_rate
        and int(_num(d.get("requests"))) > 0
    ):
        # The logs show the account's traffic flowing normally: "the API is down" is not borne out.
        yield Fact(
            "api_healthy",
            summary.call_id,
            f"{int(_num(d.get('requests')))} requests, error rate {_num(d.get('error_rate')):.1%}, no spike",
        )


def _webhook_facts(outcomes: Sequence[ToolOutcome], t: EvidenceThresholds) -> Iterable[Fact]:
    deliveries = _latest(outcomes, "logs_webhook_deliveries")
    if deliveries is None:
        return
    d = _d(deliveries)
    rate = _num(d.get("failure_rate"))
    platform = _num((d.get("platform") or {}).get("failure_rate"))
    failing = int(_num(d.get("attempts"))) > 0 and rate >= t.webhook_failure_rate
    if failing:
        yield Fact(
            "webhook_failures",
            deliveries.call_id,
            f"{rate:.0%} of deliveries failed since {d.get('failing_since')}",
        )
    if platform >= t.platform_webhook_failure_rate:
        yield Fact(
            "webhook_platform_failures", deliveries.call_id, f"platform-wide failure rate {platform:.1%}"
        )
    elif failing and d.get("platform") is not None:
        yield Fact(
            "webhook_customer_endpoint",
            deliveries.call_id,
            f"only the customer's endpoint fails ({rate:.0%}); platform failure rate {platform:.1%}",
        )


def _sso_facts(outcomes: Sequence[ToolOutcome], t: EvidenceThresholds) -> Iterable[Fact]:
    logins = _latest(outcomes, "logs_sso_logins")
    if logins is not None and int(_num(_d(logins).get("failures"))) > 0:
        d = _d(logins)
        yield Fact(
            "sso_failures",
            logins.call_id,
            f"{d.get('failures')} failed SSO logins since {d.get('failing_since')}",
        )
    check = _latest(outcomes, "sso_check")
    if check is not None:
        d = _d(check)
        if d.get("signing_cert_expired") or d.get("configured_cert_present") is False or d.get("problems"):
            problems = (
                "; ".join(map(str, d.get("problems") or [])) or "signing certificate expired or rotated"
            )
            yield Fact("sso_certificate_problem", check.call_id, problems[:300])


def _latency_facts(outcomes: Sequence[ToolOutcome], t: EvidenceThresholds) -> Iterable[Fact]:
    widespread = False
    platform = _latest(outcomes, "logs_latency", lambda d: d.get("scope") == "all")
    if platform is not None:
        # Anonymous ratios (each account's p95 over its own baseline): no other account is named.
        slow = [r for r in _d(platform).get("p95_ratios") or [] if _num(r) >= t.latency_ratio]
        if len(slow) >= t.widespread_min_accounts:
            widespread = True
            yield Fact(
                "latency_widespread", platform.call_id, f"{len(slow)} accounts' p95 rose ≥ {t.latency_ratio}×"
            )
    account = _latest(outcomes, "logs_latency", lambda d: d.get("scope") == "account")
    if account is not None and not widespread:
        d = _d(account)
        p95, base = _num(d.get("p95_ms")), _num((d.get("baseline") or {}).get("p95_ms"))
        if base > 0 and p95 >= base * t.latency_ratio:
            yield Fact("latency_one_account", account.call_id, f"p95 {p95:.0f} ms vs baseline {base:.0f} ms")


def _bug_facts(outcomes: Sequence[ToolOutcome], diagnosis: Diagnosis | None) -> Iterable[Fact]:
    if diagnosis is None:
        return
    cited = {r.id for r in diagnosis.related if r.kind == "bug"} | {e.value for e in diagnosis.evidence}
    for outcome in outcomes:
        if not outcome.ok or outcome.tool not in {"bugs_search", "bugs_issue"}:
            continue
        data = _d(outcome)
        issues = data.get("issues") if outcome.tool == "bugs_search" else [data]
        for issue in issues or []:
            if not isinstance(issue, dict) or not issue.get("workaround"):
                continue
            if str(issue.get("state", "")).lower() in {"done", "canceled", "cancelled", "duplicate"}:
                continue
            if issue.get("identifier") in cited:
                yield Fact(
                    "known_bug_with_workaround", outcome.call_id, f"{issue['identifier']} has a workaround"
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
    top = _latest(outcomes, "logs_top_errors")
    if top is None or now is None:
        return
    rows = [r for r in _d(top).get("top") or [] if isinstance(r, dict) and int(_num(r.get("status"))) >= 500]
    lasts = [parse_ts(r.get("last_at")) for r in rows]
    if rows and all(t is not None for t in lasts):
        last = max(t for t in lasts if t is not None)
        if now - last > timedelta(hours=1):
            yield Fact("errors_stopped", top.call_id, f"the last server error was at {iso(last)}")


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
