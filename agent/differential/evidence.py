"""What the differential diagnosis collects on every ticket, before and beside the runbooks.

Two waves through the toolbox (audited like every call, ids continuing the
preflight's ``c<n>``; a call a runbook already made with the same arguments is
reused, not repeated):

1. the account's picture: error summary and its own dominant errors (status, code,
   endpoint, key, message, and who else sees them) over the ticket's window and the
   day before, billing standing, deploys over the three days before; webhook
   deliveries, SSO logins and metadata, latency when the ticket's areas (or a
   matched runbook) touch them, or always for a ticket in a language we do not read;
2. follow-ups that depend on the first: the compare of each deploy shortly before
   the onset, the webhook failures' own interval (so a short outage on our side is
   not diluted by a two-day window), bug searches in the ticket's own words, and help-center
   searches for the error codes that say nothing by their words (``codes.py``).

Results are read through the connectors' typed views (``tools/*_results.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from casefile.agent.differential.codes import opaque
from casefile.agent.differential.model import Cite, cite
from casefile.agent.differential.queries import bug_queries, docs_query
from casefile.agent.differential.topic import examine_all, names_deliveries, names_other_trouble, unread
from casefile.agent.ledger import CallLedger
from casefile.agent.phrasebook import reading
from casefile.agent.signals.text import code_key, code_name
from casefile.tools.base import CallContext, ToolOutcome, iso, parse_ts
from casefile.tools.billing_results import BillingAccount
from casefile.tools.bugs_results import BugSearch, Issue
from casefile.tools.deploys_results import Compare, Deployment, DeploysList
from casefile.tools.docs import DocsSearchResult
from casefile.tools.logs_results import (
    DeliveryHour,
    EndpointLatency,
    ErrorSummary,
    Latency,
    SsoLogins,
    TopErrors,
    WebhookDeliveries,
)
from casefile.tools.sso_admin import IdPApp
from casefile.tools.sso_results import SsoCheck
from casefile.tools.values import GarbledResult

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState

__all__ = [
    "PLATFORM_ACCOUNTS",
    "PLATFORM_SLOW",
    "SLOWED",
    "Cited",
    "Evidence",
    "collect",
    "failing_run",
    "slowed_endpoint",
]

T = TypeVar("T", bound=BaseModel)
V = TypeVar("V", bound=BaseModel)

# How long before the onset a deploy may be a suspect at all (the tight window is decided later).
CHANGE_LOOKBACK = timedelta(hours=6)
MAX_COMPARES = 3
MAX_BUG_SEARCHES = 3
MAX_CODE_SEARCHES = 2
# The platform is slow when this many accounts are at this many times their own baseline p95.
PLATFORM_SLOW = 1.5
PLATFORM_ACCOUNTS = 3


@dataclass(frozen=True)
class Cited(Generic[T]):
    """A typed tool result and the call that produced it (what evidence cites)."""

    data: T
    call_id: str
    tool: str

    def cite(self, value: object, claim: str) -> list[Cite]:
        """``value`` of this result, cited with its own call and tool."""
        return cite(self.call_id, self.tool, value, claim)


@dataclass
class Evidence:
    """Everything the differential reads, typed and cited. ``None``: not collected or failed."""

    summary: Cited[ErrorSummary] | None = None
    top: Cited[TopErrors] | None = None
    billing: Cited[BillingAccount] | None = None
    deploys: Cited[DeploysList] | None = None
    compares: dict[str, Cited[Compare]] = field(default_factory=dict)
    """head SHA → the compare of that deploy with the previous deploy of its repository."""
    webhooks: Cited[WebhookDeliveries] | None = None
    webhooks_interval: Cited[WebhookDeliveries] | None = None
    logins: Cited[SsoLogins] | None = None
    sso: Cited[SsoCheck] | None = None
    idp_app: Cited[IdPApp] | None = None
    """The IdP's own configuration of our app (its admin API), when the account names the app."""
    latency: Cited[Latency] | None = None
    latency_all: Cited[Latency] | None = None
    latency_endpoint: Cited[Latency] | None = None
    """The platform's latency on the account's slowed endpoint (every account's ratio there, unnamed), read
    when that one endpoint crawls: a slowdown of one endpoint for everyone barely moves anyone's overall p95."""
    served: Cited[Latency] | None = None
    """The account's own latency read for where it is served (its regions), when production has stacks."""
    bugs: list[tuple[Issue, str]] = field(default_factory=list)
    """Open and closed issues found by the bug searches, best first, with the search's call id."""
    code_docs: dict[str, Cited[DocsSearchResult]] = field(default_factory=dict)
    """An error code that says nothing by its words → the help center's answer to a search for it."""
    failed: dict[str, str] = field(default_factory=dict)
    """tool → why its call failed."""

    def previous(self, deploy: Deployment) -> Deployment | None:
        """The live deploy of the same repository, to the same stack, just before ``deploy``."""
        if self.deploys is None:
            return None
        earlier = [
            d
            for d in self.deploys.data.deployments
            if d.repo == deploy.repo
            and d.live
            and d.stack == deploy.stack
            and d.created_at < deploy.created_at
        ]
        return max(earlier, key=lambda d: d.created_at, default=None)

    def regions(self) -> list[str]:
        """Where the account's requests are served (the log's region of each), as far as latency was read."""
        views = [v.data for v in (self.latency, self.served) if v is not None and v.data.scope == "account"]
        return list(dict.fromkeys(r.region for v in views for r in v.by_region if r.region))


def _view(outcome: ToolOutcome | None, model: type[V]) -> Cited[V] | None:
    if outcome is None or not outcome.ok:
        return None
    try:
        return Cited(outcome.view(model), outcome.call_id, outcome.tool)
    except GarbledResult:
        return None


class _Caller:
    """Runs calls in waves through the investigation's call ledger (identical earlier calls reused,
    within the tool-call budget), noting which sources failed."""

    def __init__(
        self, state: LoopState, ctx: CallContext, on_event: Callable[[str, dict[str, Any]], None]
    ) -> None:
        self.state = state
        self.ledger = state.calls or CallLedger(
            state.toolbox, ctx, budget=state.budgets.max_tool_calls, on_event=on_event, record=state.outcomes
        )
        self.failed: dict[str, str] = {}

    async def wave(self, calls: Sequence[tuple[str, dict[str, Any]]]) -> list[ToolOutcome | None]:
        known = [(tool, args) for tool, args in calls if self.ledger.has_tool(tool)]
        answers = iter(await self.ledger.run(known, "preflight"))
        results = [next(answers) if self.ledger.has_tool(tool) else None for tool, _ in calls]
        for result in results:
            if result is not None and not result.ok:
                self.failed.setdefault(result.tool, result.error or "failed")
        return results


def _wants(state: LoopState, area: str, runbook_words: tuple[str, ...]) -> bool:
    if area in state.signals.areas:
        return True
    return any(any(w in m.runbook.id for w in runbook_words) for m in state.matches)


async def collect(
    state: LoopState, ctx: CallContext, on_event: Callable[[str, dict[str, Any]], None]
) -> Evidence:
    """Collect the general evidence for ``state``'s ticket; nothing without a resolved account."""
    evidence = Evidence()
    account = (state.account or {}).get("id")
    if not account:
        return evidence
    caller = _Caller(state, ctx, on_event)
    start, end = state.signals.window_start, state.signals.window_end
    wide = {"start": iso(start - timedelta(days=1)), "end": iso(end)}
    first: list[tuple[str, dict[str, Any]]] = [
        ("logs_error_summary", {"account_id": account, **wide}),
        ("logs_top_errors", _top_errors_args(state, account, wide)),
        ("billing_account", {"account_id": account}),
        ("deploys_list", {"start": iso(start - timedelta(days=3)), "end": iso(end)}),
    ]
    # A ticket in a language we do not read, naming no signal, or one not in English whose read words
    # name nowhere it fails: every source is examined, so the evidence can pick the cause its words
    # may have named. (A vague ticket in English is asked first.)
    kind = unread(state)
    broad = kind == "foreign" or examine_all(state)
    # Deliveries into the customer's own systems are checked on every ticket that says something is
    # wrong: what "never reached" them is told in the product's own words (events, callbacks, "the
    # sync"), any language. Not on one that says nothing concrete, which is asked first.
    webhooks = kind != "vague"
    saml = broad or _wants(state, "sso", ("sso",))
    # OAuth tickets may be about an IdP's logins too, but a SAML metadata check only concerns SAML
    # (and an account without one would read as an unavailable source).
    sso = saml or "oauth" in state.signals.areas
    slow = broad or _wants(state, "performance", ("slow",))
    if webhooks:
        first.append(("logs_webhook_deliveries", {"account_id": account, **wide}))
    if sso:
        first.append(
            (
                "logs_sso_logins",
                {"account_id": account, "start": iso(start - timedelta(days=2)), "end": iso(end)},
            )
        )
        if saml:
            first.append(("sso_check", {"account_id": account}))
    # The IdP's configuration of our app, from its admin API, when the directory names the app.
    admin = saml and bool(((state.account or {}).get("idp") or {}).get("app_id"))
    if admin:
        first.append(("sso_idp_app", {"account_id": account}))
    if slow:
        first += _latency_calls(account, start, end)
    got = iter(await caller.wave(first))
    evidence.summary = _view(next(got), ErrorSummary)
    evidence.top = _view(next(got), TopErrors)
    evidence.billing = _view(next(got), BillingAccount)
    evidence.deploys = _view(next(got), DeploysList)
    if webhooks:
        evidence.webhooks = _view(next(got), WebhookDeliveries)
    if sso:
        evidence.logins = _view(next(got), SsoLogins)
        evidence.sso = _view(next(got), SsoCheck) if saml else None
    if admin:
        evidence.idp_app = _view(next(got), IdPApp)
    if slow:
        evidence.latency = _view(next(got), Latency)
        evidence.latency_all = _view(next(got), Latency)

    second: list[tuple[str, dict[str, Any]]] = []
    # Failing deliveries date the trouble only of a ticket that names no other.
    asked = names_other_trouble(state) is None
    compares = _compare_calls(evidence, _onset(evidence, deliveries=asked) or end)
    second += compares
    # A failing run over before the time a ticket not about deliveries speaks of is not looked into.
    interval = _webhook_interval(evidence, after=None if names_deliveries(state) else start)
    if interval is not None:
        second.append(("logs_webhook_deliveries", {"account_id": account, **interval}))
    # A complaint the account's API errors do not bear out is checked for slowness before "nothing is
    # wrong" (a slow answer is no error): two cheap queries.
    quiet = evidence.summary is not None and evidence.summary.data.spike is None
    timing = [] if slow or kind == "vague" or not quiet else _latency_calls(account, start, end)
    second += timing
    # A deploy that reached one stack of production concerns the accounts served there: where this one
    # is served is read from its requests (one query), unless its latency already says it.
    served = (
        [("logs_latency", {"account_id": account, "start": iso(start), "end": iso(end)})]
        if not slow and not timing and _stacked(evidence)
        else []
    )
    second += served
    # The account's one slowed endpoint is compared across the platform on that endpoint alone.
    along = _endpoint_call(evidence, start, end)
    second += along
    searches = [("bugs_search", {"query": q}) for q in bug_queries(state, evidence)[:MAX_BUG_SEARCHES]]
    second += searches
    # Codes that say nothing by their words (E2412) are explained, if at all, in the help center.
    codes = [
        ("docs_search", {"query": code}) for code in _opaque_codes(evidence, _reported_codes(state, evidence))
    ]
    second += codes
    # The help center searched with what the ticket says and what the logs found, not its subject
    # alone (the runbook's search): an article labelled with the cause is offered in the reply.
    about = docs_query(state, evidence)
    if about and about != state.ticket.subject:
        second.append(("docs_search", {"query": about}))
    results = await caller.wave(second)
    results = results[: len(second) - 1] if about and about != state.ticket.subject else results
    for (_, args), outcome in zip(codes, results[len(results) - len(codes) :], strict=True):
        answer = _view(outcome, DocsSearchResult)
        if answer is not None:
            evidence.code_docs[str(args["query"])] = answer
    results = results[: len(results) - len(codes)]
    for (_, args), outcome in zip(compares, results[: len(compares)], strict=True):
        view = _view(outcome, Compare)
        if view is not None:
            evidence.compares[str(args["head"])] = view
    rest = results[len(compares) :]
    if interval is not None:
        evidence.webhooks_interval = _view(rest[0], WebhookDeliveries)
        rest = rest[1:]
    if timing:
        evidence.latency, evidence.latency_all = (_view(r, Latency) for r in rest[:2])
        rest = rest[2:]
    if served:
        evidence.served = _view(rest[0], Latency)
        rest = rest[1:]
    if along:
        evidence.latency_endpoint = _view(rest[0], Latency)
        rest = rest[1:]
    seen: set[str] = set()
    for outcome in rest:
        found = _view(outcome, BugSearch)
        for issue in found.data.issues if found else []:
            if issue.identifier not in seen:
                seen.add(issue.identifier)
                evidence.bugs.append((issue, found.call_id))  # type: ignore[union-attr]
    # Latency read only now (a complaint the errors do not bear out) may show one endpoint crawling too.
    late = _endpoint_call(evidence, start, end) if timing else []
    if late:
        evidence.latency_endpoint = _view((await caller.wave(late))[0], Latency)
    evidence.failed = caller.failed
    return evidence


def _latency_calls(account: str, start: datetime, end: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The account's latency and the platform's over the ticket's window."""
    window = {"start": iso(start), "end": iso(end)}
    return [("logs_latency", {"account_id": account, **window}), ("logs_latency", window)]


# An endpoint of the account is slowed when its p95 is this many times its own baseline, over enough requests.
SLOWED = 2.0
SLOWED_REQUESTS = 20


def slowed_endpoint(latency: Latency) -> EndpointLatency | None:
    """The account's endpoint whose p95 rose most against its own baseline, when it at least doubled
    over ``SLOWED_REQUESTS`` requests or more: one endpoint can crawl while the account's p95 barely moves."""
    slowed = [
        e
        for e in latency.by_endpoint
        if e.path
        and e.requests >= SLOWED_REQUESTS
        and e.p95_ms
        and e.baseline_p95_ms
        and e.p95_ms >= SLOWED * e.baseline_p95_ms
    ]
    return max(slowed, key=lambda e: (e.p95_ms or 0) / (e.baseline_p95_ms or 1), default=None)


def _endpoint_call(evidence: Evidence, start: datetime, end: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The platform's latency on the account's slowed endpoint, unless the platform is already seen slow
    as a whole (three accounts at 1.5× their baseline) or no endpoint of the account slowed."""
    mine = evidence.latency.data if evidence.latency is not None else None
    worst = slowed_endpoint(mine) if mine is not None else None
    everyone = evidence.latency_all.data.p95_ratios if evidence.latency_all is not None else []
    if worst is None or sum(r >= PLATFORM_SLOW for r in everyone) >= PLATFORM_ACCOUNTS:
        return []
    return [("logs_latency", {"start": iso(start), "end": iso(end), "path": worst.path})]


def _opaque_codes(evidence: Evidence, quoted: Sequence[str] = ()) -> list[str]:
    """The error codes that name no meaning by their words, as the help center would name them (a
    problem type's slug, not its URI): those the ticket quotes first, then the account's, those that
    grew most first."""
    rows = evidence.top.data.top if evidence.top else []
    codes = [*quoted, *(r.error_code for r in rows if r.error_code)]
    found: dict[str, str] = {}
    for code in codes:
        if opaque(code_name(code)):
            found.setdefault(code_key(code), code_name(code))
    return list(found.values())[:MAX_CODE_SEARCHES]


def _reported_codes(state: LoopState, evidence: Evidence) -> list[str]:
    """The codes the ticket quotes, then those of the rows it reports (their status, their operation)."""
    from casefile.agent.differential.picture import reported_rows, reported_statuses

    said = reading(state.ticket.full_text())
    rows = evidence.top.data.top if evidence.top else []
    quoted = {code_key(c) for c in state.signals.error_codes}
    reported = reported_rows(rows, reported_statuses(said, state.signals.statuses), quoted, said)
    return [*state.signals.error_codes, *(r.error_code for r in reported if r.error_code)]


def _top_errors_args(state: LoopState, account: str, window: dict[str, str]) -> dict[str, Any]:
    from casefile.agent.differential.picture import reported_statuses

    reported = sorted(
        s for s in reported_statuses(reading(state.ticket.full_text()), state.signals.statuses) if s >= 400
    )
    return {"account_id": account, **window, **({"statuses": reported[:10]} if reported else {})}


def _onset(evidence: Evidence, *, deliveries: bool = True) -> datetime | None:
    """When the account's trouble began, as far as the first wave shows (``deliveries``: their failures
    may say it)."""
    if evidence.summary and evidence.summary.data.spike:
        return parse_ts(evidence.summary.data.spike.onset)
    if deliveries and evidence.webhooks and evidence.webhooks.data.failing_since:
        return parse_ts(evidence.webhooks.data.failing_since)
    if evidence.logins and evidence.logins.data.failing_since:
        return parse_ts(evidence.logins.data.failing_since)
    return None


def _compare_calls(evidence: Evidence, onset: datetime) -> list[tuple[str, dict[str, Any]]]:
    """Compares of the live deploys in the hours before the onset (nearest first)."""
    if evidence.deploys is None:
        return []
    candidates = []
    for deploy in evidence.deploys.data.deployments:
        at = parse_ts(deploy.created_at)
        if deploy.live and at is not None and timedelta(0) <= onset - at <= CHANGE_LOOKBACK:
            candidates.append((onset - at, deploy))
    calls = []
    for _, deploy in sorted(candidates, key=lambda c: c[0])[:MAX_COMPARES]:
        previous = evidence.previous(deploy)
        if previous is not None:
            calls.append(("deploys_compare", {"repo": deploy.repo, "base": previous.sha, "head": deploy.sha}))
    return calls


def _stacked(evidence: Evidence) -> bool:
    """Whether a live deploy of the window reached one stack of production only."""
    return evidence.deploys is not None and any(d.live and d.stack for d in evidence.deploys.data.deployments)


def failing_run(history: Sequence[DeliveryHour]) -> list[DeliveryHour]:
    """The unbroken run of failing buckets around the worst one, in time order.

    A bucket fails when at least a fifth of its attempts and at least two of them failed
    (one failure among four attempts is a customer's hiccup, not an outage); buckets with
    no attempts are absent from the history, so neighbours in the list are neighbours in
    time as far as deliveries go. The worst bucket anchors the run, so a stray failure
    days earlier does not stretch a 30-minute outage into a two-day interval.
    """

    def bad(h: DeliveryHour) -> bool:
        return bool(h.attempts) and h.failures >= 2 and h.failures / h.attempts >= 0.2

    if not any(bad(h) for h in history):
        return []
    worst = max(range(len(history)), key=lambda i: (bad(history[i]), history[i].failures))
    first = last = worst
    while first > 0 and bad(history[first - 1]):
        first -= 1
    while last + 1 < len(history) and bad(history[last + 1]):
        last += 1
    return list(history[first : last + 1])


def _webhook_interval(evidence: Evidence, after: datetime | None = None) -> dict[str, str] | None:
    """The hours the account's deliveries failed in, when they are not the whole window: the platform is
    compared over those hours (a day of failures at one endpoint is not diluted by an outage before it).
    None for a run that was over before ``after``."""
    if evidence.webhooks is None:
        return None
    hours = evidence.webhooks.data.history
    run = failing_run(hours)
    if not run or len(run) >= len(hours):
        return None
    first, last = parse_ts(run[0].hour), parse_ts(run[-1].hour)
    if first is None or last is None:
        return None
    step = (parse_ts(hours[1].hour) - parse_ts(hours[0].hour)) if len(hours) > 1 else timedelta(hours=1)  # type: ignore[operator]
    if after is not None and last + step < after:
        return None
    return {"start": iso(first), "end": iso(last + step)}
