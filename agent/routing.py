"""Routing: resolve or escalate, to which team, with which context. Deterministic, after every diagnosis.

The rules live in ``prompts/routing.yaml``, a file support engineers maintain
(its comments document the format; ``casefile routing check`` validates it with
file, line and reason for each problem). Whatever model wrote the diagnosis,
:func:`route` then:

1. computes **evidence facts** from the tool results (billing not in good
   standing, webhook failures confined to the customer's endpoint, latency up
   across many accounts …), see :data:`FACTS`;
2. checks the **trigger rules**: signatures (exceptions, error codes, statuses,
   keywords, evidence) that bypass L1 and force an escalation to a named team.
   A rule's ``unless`` facts silence it when the evidence shows the words
   mislead; routing collects those facts first if the investigation did not;
3. applies the **decision rule**: resolve only when the confidence reaches the
   category's threshold and the fix is the customer's or documented;
4. picks the **team** by symptom: evidence from tool results beats the model's
   category, which beats the ticket's words (and the packet says so when they
   disagree);
5. for an escalation, **collects** what the team requires and the similar
   resolved tickets through the toolbox (audited like every call), then builds
   the :class:`casefile.agent.packet.Packet` from tool results and renders it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casefile.agent.diagnosis import CATEGORIES, Diagnosis, Escalation
from casefile.agent.handoff.config import TeamHandoff
from casefile.agent.packet import (
    FIELDS,
    FillContext,
    Packet,
    PacketCall,
    Sources,
    build_fields,
    fill_calls,
    render_markdown,
)
from casefile.agent.runbooks import Problem, ProblemsError, Triggers
from casefile.agent.strict import pydantic_reason
from casefile.agent.templating import PROMPTS_DIR
from casefile.agent.ticket import Signals, Ticket
from casefile.tools.base import CallContext, Toolbox, ToolCall, ToolOutcome, iso, parse_ts

__all__ = [
    "FACTS",
    "ROUTING_FILE",
    "CategoryRule",
    "Fact",
    "RoutingConfig",
    "RoutingError",
    "Symptom",
    "Team",
    "Trigger",
    "TriggerHit",
    "check_routing",
    "compute_facts",
    "decide",
    "load_routing",
    "match_triggers",
    "route",
    "select_team",
]

ROUTING_FILE = PROMPTS_DIR / "routing.yaml"

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


# ---------------------------------------------------------------- the file's model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Team(_Strict):
    name: str
    channel: str
    queue: str | None = None
    requires: list[str] = Field(default_factory=list)
    handoff: TeamHandoff | None = None  # agent/handoff/config.py: each action off unless configured


class CategoryRule(_Strict):
    threshold: float | None = Field(default=None, ge=0, le=1)
    fix: Literal["customer", "documented", "workaround", "ours"] = "ours"
    resolve_when: list[str] = Field(
        default_factory=list, description="facts that make a fix of ours resolvable (e.g. the errors stopped)"
    )


class DecisionRules(_Strict):
    default_threshold: float = Field(default=0.75, ge=0, le=1)
    fallback_team: str = "support-l2"
    model_may_escalate: bool = True
    categories: dict[str, CategoryRule] = Field(default_factory=dict)

    def rule(self, category: str) -> tuple[float, str]:
        rule = self.categories.get(category) or CategoryRule()
        threshold = rule.threshold if rule.threshold is not None else self.default_threshold
        return threshold, rule.fix


class EvidenceThresholds(_Strict):
    api_error_rate: float = Field(default=0.05, ge=0, le=1)
    storm_5xx_count: int = Field(default=200, ge=1)
    storm_5xx_rate: float = Field(default=0.2, ge=0, le=1)
    webhook_failure_rate: float = Field(default=0.2, ge=0, le=1)
    platform_webhook_failure_rate: float = Field(default=0.05, ge=0, le=1)
    latency_ratio: float = Field(default=1.5, gt=1)
    widespread_min_accounts: int = Field(default=3, ge=2)


class _Matchers(Triggers):
    """A runbook's triggers, plus evidence facts from the tool results."""

    evidence: list[str] = Field(default_factory=list)


class Symptom(_Matchers):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    team: str
    description: str = ""
    categories: list[str] = Field(default_factory=list)
    collect: list[str] = Field(default_factory=list)


class Trigger(_Matchers):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    team: str
    description: str = ""
    priority: int = 0
    unless: list[str] = Field(default_factory=list)
    binding: bool = Field(
        default=False,
        description="always escalate to this team, whatever the diagnosis (security, data loss, privacy); "
        "otherwise the rule adds urgency and a candidate team, and the diagnosis decides",
    )


# Categories that name no cause: a trigger's team is as good a guess as any for them.
UNINFORMATIVE = frozenset({"insufficient_evidence"})


class RoutingConfig(_Strict):
    """The parsed ``routing.yaml``."""

    version: Literal[1] = 1
    teams: dict[str, Team]
    decision: DecisionRules = Field(default_factory=DecisionRules)
    evidence: EvidenceThresholds = Field(default_factory=EvidenceThresholds)
    symptoms: list[Symptom] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    path: str = ""


class RoutingError(ProblemsError):
    """A routing file that cannot be used."""


# ---------------------------------------------------------------- evidence facts


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


# ---------------------------------------------------------------- matching


@dataclass
class TriggerHit:
    trigger: Trigger
    hits: list[str]
    by_evidence: bool
    shown_by: list[str] = field(default_factory=list)  # the facts' details, in plain words

    def describe(self) -> str:
        """Why the ticket skips L1, in words a support agent reads (the rule's id is ``Escalation.trigger``)."""
        what = (self.trigger.description or f"Escalation rule {self.trigger.id}").rstrip(".")
        words = [
            h.removeprefix("words ").removeprefix("keyword ")
            for h in self.hits
            if not h.startswith("evidence ")
        ]
        because = []
        if self.shown_by:
            because.append("the tool results show " + "; ".join(self.shown_by))
        if words:
            because.append("the ticket mentions " + _and(words))
        return f"{what}: {' and '.join(because)}" if because else what


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def match_triggers(
    config: RoutingConfig, text: str, signals: Signals | None, facts: Mapping[str, Fact]
) -> tuple[list[TriggerHit], list[str]]:
    """Rules that fire (best first) and, separately, rules an ``unless`` fact silenced (as notes)."""
    fired: list[tuple[tuple[int, int, int], TriggerHit]] = []
    silenced: list[str] = []
    for order, trigger in enumerate(config.triggers):
        hits = trigger.hits(text, signals)
        evidence = [f"evidence {f} ({facts[f].call_id})" for f in trigger.evidence if f in facts]
        if not hits and not evidence:
            continue
        blockers = [f for f in trigger.unless if f in facts]
        if blockers:
            silenced.append(
                f"trigger rule {trigger.id} ({', '.join(hits + evidence)}) was silenced by the evidence: "
                + "; ".join(f"{facts[f].detail} ({facts[f].call_id})" for f in blockers)
            )
            continue
        shown_by = [facts[f].detail for f in trigger.evidence if f in facts]
        hit = TriggerHit(trigger, evidence + hits, by_evidence=bool(evidence), shown_by=shown_by)
        fired.append(((-trigger.priority, 0 if evidence else 1, order), hit))
    fired.sort(key=lambda item: item[0])
    return [hit for _, hit in fired], silenced


@dataclass
class SymptomHit:
    symptom: Symptom
    level: Literal["evidence", "category", "words"]
    hits: list[str]
    order: int
    words: list[str] = field(default_factory=list)
    """What the ticket's words match of this symptom, whatever level it matched at."""

    def rank(self) -> tuple[int, int, int]:
        strength = {"evidence": 0, "category": 1, "words": 2}[self.level]
        return (strength, -len(self.hits), self.order)


def match_symptoms(
    config: RoutingConfig, diagnosis: Diagnosis, text: str, signals: Signals | None, facts: Mapping[str, Fact]
) -> list[SymptomHit]:
    """Every symptom with its strongest kind of match, best first."""
    found: list[SymptomHit] = []
    for order, symptom in enumerate(config.symptoms):
        words = symptom.hits(text, signals)
        evidence = [f"{f}: {facts[f].detail} ({facts[f].call_id})" for f in symptom.evidence if f in facts]
        if evidence:
            found.append(SymptomHit(symptom, "evidence", evidence, order, words))
        elif diagnosis.root_cause.category in symptom.categories:
            found.append(
                SymptomHit(symptom, "category", [f"category {diagnosis.root_cause.category}"], order, words)
            )
        elif words:
            found.append(SymptomHit(symptom, "words", words, order, words))
    found.sort(key=SymptomHit.rank)
    return found


@dataclass
class TeamChoice:
    team: str
    routed_by: str
    symptom: str | None
    why: list[str] = field(default_factory=list)


def select_team(
    config: RoutingConfig,
    diagnosis: Diagnosis,
    symptoms: Sequence[SymptomHit],
    trigger: TriggerHit | None,
) -> TeamChoice:
    """Trigger > evidence > the model's named team > category > words > fallback; explain disagreements."""
    best = symptoms[0] if symptoms else None
    # Where the ticket's words alone would send it: the symptom they match most.
    worded = sorted((s for s in symptoms if s.words), key=lambda s: (-len(s.words), s.order))
    words = worded[0] if worded else None
    named = (
        diagnosis.escalation.team
        if diagnosis.escalation and diagnosis.escalation.team in config.teams
        else None
    )
    category = diagnosis.root_cause.category
    # The symptom of the diagnosed category, however strongly it matched otherwise.
    by_category = next((s for s in symptoms if category in s.symptom.categories), None)
    threshold, _ = config.decision.rule(category)
    # A confident diagnosis of a cause decides; a weak or causeless one lets rules and evidence decide.
    decides = category not in UNINFORMATIVE and diagnosis.confidence.score >= min(threshold, 0.7)
    if trigger is not None and trigger.trigger.binding:
        choice = TeamChoice(trigger.trigger.team, "trigger", best.symptom.id if best else None)
    elif decides and named:
        # The diagnosed cause and its owner (the catalogue's, through the diagnosis) decide the team.
        choice = TeamChoice(named, "model", by_category.symptom.id if by_category else None)
        choice.why.append(f"the diagnosis ({category}) names its owner {named}")
    elif decides and by_category is not None:
        choice = TeamChoice(by_category.symptom.team, "category", by_category.symptom.id)
        choice.why.append(f"symptom {by_category.symptom.id} matched by the diagnosed category {category}")
    elif trigger is not None:
        choice = TeamChoice(trigger.trigger.team, "trigger", best.symptom.id if best else None)
    elif named and category in UNINFORMATIVE:
        # No cause found: the investigator's choice (the matched runbook's team, or L2 to ask the
        # customer) stands; evidence about another part of the system does not name a cause either.
        choice = TeamChoice(named, "model", best.symptom.id if best else None)
        choice.why.append(f"the diagnosis found no cause and names team {named}")
    elif best is not None and best.level == "evidence":
        choice = TeamChoice(best.symptom.team, "evidence", best.symptom.id)
        choice.why.append(f"symptom {best.symptom.id} matched by evidence: {'; '.join(best.hits)}")
    elif named:
        choice = TeamChoice(named, "model", best.symptom.id if best else None)
        choice.why.append(f"the diagnosis names team {named}")
    elif best is not None:
        choice = TeamChoice(best.symptom.team, best.level, best.symptom.id)
        choice.why.append(f"symptom {best.symptom.id} matched by {best.level}: {'; '.join(best.hits)}")
    else:
        choice = TeamChoice(config.decision.fallback_team, "fallback", None)
        choice.why.append("no symptom matched; sent to the fallback team")
    if trigger is not None and choice.routed_by != "trigger":
        choice.why.append(
            f"{trigger.describe()} (team {trigger.trigger.team}); the diagnosed {category} decides the team"
        )
    if choice.routed_by in {"evidence", "trigger"}:
        # Say so when the ticket's words, or the model's category, pointed somewhere else.
        if words is not None and words.symptom.team != choice.team:
            choice.why.append(
                f"the ticket's words point to {words.symptom.id} ({words.symptom.team}: {', '.join(words.words)}), "
                f"but the evidence wins and points to {choice.team}"
            )
        if by_category is not None and by_category.symptom.team != choice.team:
            choice.why.append(
                f"the diagnosis' category {diagnosis.root_cause.category} suggests {by_category.symptom.team}, "
                f"but the evidence points to {choice.team}"
            )
        if named and named != choice.team:
            choice.why.append(
                f"the diagnosis named {named}; routed to {choice.team} by the {choice.routed_by}"
            )
    return choice


@dataclass
class Decision:
    action: Literal["resolve", "escalate"]
    reason: str


def decide(
    config: RoutingConfig, diagnosis: Diagnosis, facts: Mapping[str, Fact], trigger: TriggerHit | None
) -> Decision:
    """The explicit resolve/escalate rule (see ``decision:`` in routing.yaml)."""
    if trigger is not None:
        return Decision("escalate", trigger.describe())
    category = diagnosis.root_cause.category
    threshold, fix = config.decision.rule(category)
    score = diagnosis.confidence.score
    # Reasons are read by support agents in the sidebar: plain words, percentages, no ids.
    kind = category.replace("_", " ")
    if diagnosis.action == "escalate" and config.decision.model_may_escalate:
        return Decision("escalate", f"The investigation recommends escalating ({score:.0%} confident)")
    if score < threshold:
        return Decision(
            "escalate", f"Only {score:.0%} confident; resolving a {kind} diagnosis needs {threshold:.0%}"
        )
    over = [
        f for f in (config.decision.categories.get(category) or CategoryRule()).resolve_when if f in facts
    ]
    if fix == "ours" and over:
        # A fix of ours that is already in place (the errors stopped): the reply explains, nothing to page.
        return Decision("resolve", f"{score:.0%} confident and it is over: {facts[over[0]].detail}")
    if fix == "ours":
        return Decision("escalate", f"This kind of problem ({kind}) needs a fix on our side")
    if fix == "workaround" and "known_bug_with_workaround" not in facts:
        return Decision(
            "escalate",
            f"This kind of problem ({kind}) is resolved only with a known bug's workaround; none was found",
        )
    how = {"customer": "the fix is on the customer's side", "documented": "the fix is documented"}.get(
        fix, f"{facts['known_bug_with_workaround'].detail}" if "known_bug_with_workaround" in facts else fix
    )
    return Decision("resolve", f"{score:.0%} confident (resolving needs {threshold:.0%}) and {how}")


# ---------------------------------------------------------------- loading and checking


def _line_of(node: yaml.Node | None, path: Sequence[str | int]) -> int:
    from casefile.agent.runbooks import _line_of as line_of  # the same YAML walk the runbook checker uses

    return line_of(node, path, 1)


def _parse(text: str, name: str) -> tuple[RoutingConfig | None, list[Problem]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [Problem(name, (mark.line + 1) if mark else 1, f"invalid YAML: {exc}")]
    if not isinstance(data, dict):
        return None, [
            Problem(name, 1, "the routing file must be a mapping (teams, decision, symptoms, triggers)")
        ]
    try:
        config = RoutingConfig.model_validate({**data, "path": name})
    except ValidationError as exc:
        return None, [
            Problem(name, _line_of(node, list(err["loc"])), pydantic_reason(RoutingConfig, err))
            for err in exc.errors()
        ]
    return config, _semantics(config, node, name)


def _semantics(config: RoutingConfig, node: yaml.Node | None, name: str) -> list[Problem]:
    """What the schema cannot see: references between sections, names, regexes."""
    problems: list[Problem] = []

    def problem(path: Sequence[str | int], reason: str) -> None:
        problems.append(Problem(name, _line_of(node, path), reason))

    for key, team in config.teams.items():
        for i, required in enumerate(team.requires):
            if required not in FIELDS:
                problem(
                    ["teams", key, "requires", i],
                    f"unknown packet field {required!r}; known: {', '.join(sorted(FIELDS))}",
                )
    if config.decision.fallback_team not in config.teams:
        problem(
            ["decision", "fallback_team"], f"fallback team {config.decision.fallback_team!r} is not in teams"
        )
    for category, rule in config.decision.categories.items():
        for j, fact in enumerate(rule.resolve_when):
            if fact not in FACTS:
                problem(
                    ["decision", "categories", category, "resolve_when", j], f"unknown evidence fact {fact!r}"
                )
        if category not in CATEGORIES:
            problem(["decision", "categories", category], f"unknown category {category!r}")

    def check_matchers(section: str, i: int, m: _Matchers, facts: Iterable[tuple[str, list[str]]]) -> None:
        for j, pattern in enumerate(m.regex):
            try:
                re.compile(pattern)
            except re.error as exc:
                problem([section, i, "regex", j], f"bad regex {pattern!r}: {exc}")
        for key, names in facts:
            for j, fact in enumerate(names):
                if fact not in FACTS:
                    problem(
                        [section, i, key, j],
                        f"unknown evidence fact {fact!r}; known: {', '.join(sorted(FACTS))}",
                    )
        for j, status in enumerate(m.statuses):
            if not 100 <= status <= 599:
                problem([section, i, "statuses", j], f"{status} is not an HTTP status")
        for j, keyword in enumerate(m.keywords):
            if not keyword.strip():
                problem([section, i, "keywords", j], "empty keyword (it would match every ticket)")

    sections: list[tuple[str, Sequence[Symptom | Trigger]]] = [
        ("symptoms", config.symptoms),
        ("triggers", config.triggers),
    ]
    for section, items in sections:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.id in seen:
                problem(
                    [section, i, "id"],
                    f"duplicate {section[:-1]} id {item.id!r} (first at item {seen[item.id] + 1})",
                )
            seen.setdefault(item.id, i)
            if item.team not in config.teams:
                problem([section, i, "team"], f"unknown team {item.team!r}; teams: {', '.join(config.teams)}")
            facts = [("evidence", item.evidence)]
            if isinstance(item, Trigger):
                facts.append(("unless", item.unless))
                if not any(
                    (
                        item.keywords,
                        item.regex,
                        item.statuses,
                        item.error_codes,
                        item.exceptions,
                        item.areas,
                        item.evidence,
                    )
                ):
                    problem([section, i], f"trigger {item.id!r} has no matcher, so it can never fire")
            check_matchers(section, i, item, facts)
            if isinstance(item, Symptom):
                for j, category in enumerate(item.categories):
                    if category not in CATEGORIES:
                        problem([section, i, "categories", j], f"unknown category {category!r}")
                for j, wanted in enumerate(item.collect):
                    if wanted not in FIELDS:
                        problem([section, i, "collect", j], f"unknown packet field {wanted!r}")
    return problems


def check_routing(path: Path | None = None) -> tuple[RoutingConfig | None, list[Problem]]:
    """Parse and validate a routing file: the config (when usable) and every problem, with its line."""
    path = Path(path or ROUTING_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 0, f"cannot read the routing file: {exc}")]
    return _parse(text, str(path))


@cache
def _cached(path: str, mtime: float) -> RoutingConfig:
    config, problems = check_routing(Path(path))
    if problems or config is None:
        raise RoutingError(problems)
    return config


def load_routing(path: Path | None = None) -> RoutingConfig:
    """The routing config; any problem raises :class:`RoutingError`. Cached per file version."""
    path = Path(path or ROUTING_FILE)
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise RoutingError([Problem(str(path), 0, f"cannot read the routing file: {exc}")]) from None
    return _cached(str(path.resolve()), mtime)


# ---------------------------------------------------------------- route


async def _run(
    calls: list[tuple[str, dict[str, Any]]],
    outcomes: list[ToolOutcome],
    toolbox: Toolbox,
    ctx: CallContext,
    on_event: Callable[[str, dict[str, Any]], None] | None,
) -> None:
    taken = {o.call_id for o in outcomes}
    done = {o.tool + repr(sorted(o.arguments.items())) for o in outcomes if o.ok}
    batch: list[ToolCall] = []
    n = 0
    for tool, args in calls:
        if tool + repr(sorted(args.items())) in done:
            continue
        n += 1
        while f"route-{n}" in taken:
            n += 1
        batch.append(ToolCall(id=f"route-{n}", tool=tool, arguments=args, origin="preflight"))
    if batch:
        outcomes.extend(await toolbox.execute_many(batch, ctx, on_event))


async def route(
    diagnosis: Diagnosis,
    outcomes: list[ToolOutcome],
    *,
    ticket: Ticket | None = None,
    signals: Signals | None = None,
    account: Mapping[str, Any] | None = None,
    toolbox: Toolbox | None = None,
    ctx: CallContext | None = None,
    config: RoutingConfig | None = None,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
    max_calls: int = 6,
) -> Diagnosis:
    """Decide resolve/escalate, the team and the packet. Never raises for bad sources.

    Calls routing makes (facts a trigger's ``unless`` needs, the team's required
    context, similar resolved tickets) go through ``toolbox`` and are appended to
    ``outcomes``, so the investigation's audit log holds them. Without a toolbox
    routing works from ``outcomes`` alone.
    """
    config = config or load_routing()
    text = ticket.full_text() if ticket is not None else f"{diagnosis.summary}"
    ctx = ctx or CallContext(now=ticket.created_at if ticket else datetime.now(UTC))
    account_id = (
        diagnosis.account_id or (account or {}).get("id") or (signals.account_id if signals else None)
    )
    end = signals.window_end if signals else ctx.now
    start = signals.window_start if signals else end - timedelta(hours=24)
    budget = [max_calls]

    def sources() -> Sources:
        return Sources(outcomes, ticket, signals, account, config.evidence.model_dump())

    async def collect(names: Sequence[str]) -> None:
        if toolbox is None or budget[0] <= 0:
            return
        fill = FillContext(account_id, start, end, sources())
        calls = fill_calls(names, fill, lambda tool: toolbox.get(tool) is not None)[: budget[0]]
        budget[0] -= len(calls)
        await _run(calls, outcomes, toolbox, ctx, on_event)

    facts = compute_facts(outcomes, config.evidence, diagnosis, ctx.now)
    fired, silenced = match_triggers(config, text, signals, facts)
    # A rule about to fire on words may be silenced by evidence nobody has collected yet: collect it.
    areas = set(signals.areas) if signals else set()
    probes = [
        FACT_PROBES[f][0]
        for hit in fired
        for f in hit.trigger.unless
        if f in FACT_PROBES and f not in facts and (not FACT_PROBES[f][1] or FACT_PROBES[f][1] & areas)
    ]
    if probes:
        await collect(probes)
        facts = compute_facts(outcomes, config.evidence, diagnosis, ctx.now)
        fired, silenced = match_triggers(config, text, signals, facts)
    trigger = fired[0] if fired else None
    overruled = ""
    if trigger is not None and not trigger.trigger.binding:
        # Words (or a fact about another part of the system) add urgency; they do not overturn a
        # confident, evidenced diagnosis whose fix is the customer's or documented.
        plain = decide(config, diagnosis, facts, None)
        if plain.action == "resolve" and diagnosis.root_cause.category not in UNINFORMATIVE:
            overruled = f"Routing: {trigger.describe()}, but the diagnosis resolves it ({plain.reason})."
            trigger = None
    decision = decide(config, diagnosis, facts, trigger)
    if decision.action == "resolve":
        note = "\n".join(x for x in (diagnosis.internal_note, overruled) if x)
        return diagnosis.model_copy(update={"action": "resolve", "escalation": None, "internal_note": note})

    symptoms = match_symptoms(config, diagnosis, text, signals, facts)
    choice = select_team(config, diagnosis, symptoms, trigger)
    team = config.teams.get(choice.team) or config.teams[config.decision.fallback_team]
    symptom = next((s.symptom for s in symptoms if s.symptom.id == choice.symptom), None)
    wanted = [*team.requires, *(symptom.collect if symptom else [])]
    await collect(wanted)
    if choice.routed_by not in {"trigger", "evidence"} and symptom is not None and symptom.collect:
        # What was just collected may settle the team (e.g. slowness: one account or everyone).
        facts = compute_facts(outcomes, config.evidence, diagnosis, ctx.now)
        symptoms = match_symptoms(config, diagnosis, text, signals, facts)
        rechosen = select_team(config, diagnosis, symptoms, trigger)
        if rechosen.team != choice.team and rechosen.routed_by == "evidence":
            choice = rechosen
            team = config.teams[choice.team]
            await collect(team.requires)
            wanted = [*team.requires, *wanted]

    fields, missing = build_fields(wanted, sources())
    missing += [
        f"{u.source} unavailable: {u.reason}"
        for u in diagnosis.unavailable_sources
        if not any(u.source in m for m in missing)
    ]
    used = {s for f in fields for s in f.sources} | {e.call_id for e in diagnosis.evidence}
    packet = Packet(
        ticket_id=diagnosis.ticket_id,
        account_id=account_id,
        account_name=(account or {}).get("name") or (signals.account_name if signals else None),
        team=choice.team,
        team_name=team.name,
        channel=team.channel,
        queue=team.queue,
        reason=decision.reason,
        trigger=trigger.trigger.id if trigger else None,
        symptom=choice.symptom,
        routed_by=choice.routed_by,
        why=[*choice.why, *silenced],
        summary=diagnosis.summary,
        root_cause=diagnosis.root_cause.model_dump(),
        confidence=diagnosis.confidence.score,
        evidence=[e.model_dump() for e in diagnosis.evidence],
        fields=fields,
        missing=missing,
        calls=[
            PacketCall(
                call_id=o.call_id, tool=o.tool, arguments=o.arguments, ok=o.ok, origin=o.origin, error=o.error
            )
            for o in outcomes
            if o.call_id in used or not o.ok
        ],
    )
    escalation = Escalation(
        team=choice.team,
        reason=decision.reason,
        packet=packet.model_dump(mode="json"),
        missing=missing,
        trigger=packet.trigger,
        symptom=packet.symptom,
        channel=team.channel,
        packet_markdown=render_markdown(packet),
    )
    return diagnosis.model_copy(update={"action": "escalate", "escalation": escalation})
