"""The general differential diagnosis, run on every ticket before and beside the runbooks.

The way a senior engineer reasons about a ticket whatever the company:

* **scope** — this account, one endpoint, or every account (against a baseline);
* **onset and shape** — the first bad minute, still going on or ended, failures or delays;
* **error semantics** — what the account's own dominant errors mean (credentials,
  permission, billing, plan limit, validation, rate limit, removed endpoint, server
  error, timeout), quoting their status, code and message;
* **change correlation** — a deploy is a suspect only when it went live shortly before
  the onset AND touched what serves the failing component (catalogue, or the changed
  files against the endpoint); deploys ruled out are said so;
* **source health** — billing standing, plan limits, the webhook endpoint, SSO, latency.

:func:`collect` gathers the evidence (``evidence.py``); :func:`assess` turns it into a
:class:`Differential` with ranked, cited hypotheses. The offline investigator weighs them
against the runbooks' findings; an LLM gets :meth:`Differential.render` in its first message.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from casefile.agent.differential.background import platform_change
from casefile.agent.differential.billing import ENDED_AT_ONSET, billing_causes
from casefile.agent.differential.causes import api_causes
from casefile.agent.differential.evidence import Cited, Evidence, collect
from casefile.agent.differential.incidents import as_incident, delivery_span, link_incident
from casefile.agent.differential.known_bug import DESCRIBES_ERRORS, known_bug, words_only
from casefile.agent.differential.model import Cite, Differential, Hypothesis
from casefile.agent.differential.named import named_causes
from casefile.agent.differential.named_times import told_incidents
from casefile.agent.differential.picture import (
    ENDED_AFTER,
    ErrorPicture,
    error_picture,
    recent,
    reported_statuses,
)
from casefile.agent.differential.refute import refutations
from casefile.agent.differential.semantics import CUSTOMER_SIDE, classify, describe
from casefile.agent.differential.slowness import latency_causes
from casefile.agent.differential.sources import (
    account_name,
    healthy,
    infra_causes,
    sso_causes,
    webhook_causes,
)
from casefile.agent.differential.sso_story import admin_causes, config_causes, told
from casefile.agent.differential.topic import (
    evidence_first,
    names_deliveries,
    names_failure_not_slowness,
    names_other_than_slowness,
    names_other_trouble,
    unread,
)
from casefile.agent.phrasebook import reading
from casefile.tools.base import iso, parse_ts

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState

__all__ = ["Cite", "Cited", "Differential", "Evidence", "Hypothesis", "assess", "classify", "collect"]


def assess(state: LoopState, evidence: Evidence) -> Differential:
    """The differential for ``state``'s ticket from the collected ``evidence``."""
    diff = Differential()
    if not (state.account or {}).get("id"):
        return diff
    signals = state.signals
    said = reading(state.ticket.full_text())
    statuses = reported_statuses(said, signals.statuses)
    picture = error_picture(evidence, state.ticket.created_at, statuses, set(signals.error_codes), said)
    ended: list[str] = []
    if _before_window(state, picture):
        # Errors that were over before the time the ticket speaks of (the time it names, or the day
        # before a complaint about now) explain only what happened then: the ticket is weighed on
        # what the account gets since, and the ended episode is said.
        ended.append(
            f"its {describe(picture.cls or '')} ({picture.count}, first at {picture.onset}) ended at "
            f"{picture.last_at}, before the time the ticket speaks of"
        )
        picture = error_picture(
            recent(evidence, signals.window_start),
            state.ticket.created_at,
            statuses,
            set(signals.error_codes),
            said,
        )
    diff.error_class = picture.cls if picture.elevated else None
    diff.onset = picture.onset if picture.elevated else None
    diff.ended_at = picture.last_at if picture.elevated and picture.ended else None
    diff.scope = picture.scope if picture.elevated else "no elevated errors"
    diff.shape = "failures" if picture.elevated else "none"
    if picture.elevated and picture.top is not None and evidence.top is not None:
        top = picture.top
        call = evidence.top.call_id
        diff.own_errors = [
            Cite(call_id=call, tool="logs_top_errors", value=v, claim=c)
            for v, c in (
                (
                    top.error_code,
                    f"the account's requests fail with {top.status} {top.error_code} ({picture.count} since {picture.onset})",
                ),
                (top.message or "", f"the error message reads: {top.message}"),
                (top.api_key_hash or "", "the failing requests use this API key"),
            )
            if len(v) > 1
        ]
        diff.observations.append(
            f"the account's dominant errors: {picture.count} × {top.status} {top.error_code or ''}".rstrip()
            + f" ({describe(picture.cls or '')}) on {top.path or 'various endpoints'}, {picture.rate:.1%} of requests "
            f"against {picture.baseline_rate:.1%} before, first at {picture.onset}, last at {picture.last_at}"
            + (f"; message: {top.message}" if top.message else "")
        )
    hypotheses: list[Hypothesis] = []
    api, change = api_causes(state, evidence, picture)
    if picture.elevated and picture.elsewhere.reading == "platform" and picture.cls in CUSTOMER_SIDE:
        # A client-side code every account began getting at once is a change of ours.
        for h in api:
            if h.category in ("customer_error", "rate_limit"):
                h.confidence = min(h.confidence, 0.4)
                h.reasons.append("every other account began getting it at the same time")
        if evidence.top is not None:
            api.append(
                platform_change(
                    account_name(state), picture.rows, picture.onset, picture.elsewhere, evidence.top.call_id
                )
            )
    sso, sso_notes = sso_causes(state, evidence)
    sso = told(state, evidence, admin_causes(state, evidence) + config_causes(state, evidence) + sso)
    topic = _elsewhere(state, signing_in=bool(sso))
    for h in api if topic else []:
        # The account's API errors are real, but not what this ticket asks about.
        h.confidence = round(max(0.05, h.confidence - 0.25), 2)
        h.reasons.append(f"the ticket is about {topic}, not failing API requests")
    hypotheses += api
    diff.ruled_out += [f"deploy {v.label}: {v.reason}" for v in change.ruled_out]
    diff.ruled_out_deploys += [v.deploy.sha for v in change.ruled_out]
    if change.suspect is not None and change.suspect.relevance == "possible":
        diff.ruled_out.append(
            f"deploy {change.suspect.label} is not a clear suspect: {change.suspect.reason}"
        )
    bug = known_bug(state, evidence, picture, change)
    if bug is not None:
        hypotheses.append(bug)
        if DESCRIBES_ERRORS in bug.reasons and bug.confidence >= 0.7:
            # An open bug of ours that names these very errors explains them better than the
            # customer's requests do (a carrier refusing labels since our adapter changed).
            for h in api:
                if h.category == "customer_error":
                    h.confidence = round(h.confidence - 0.1, 2)
                    h.reasons.append(
                        f"open bug {bug.evidence[0].value if bug.evidence else ''} names these errors"
                    )
    found, notes = billing_causes(state, evidence, picture)
    # Refusals that began the minute the subscription ended are its enforcement, not the customer's mistake.
    enforced = [h for h in found if ENDED_AT_ONSET in h.reasons]
    for h in api if enforced else []:
        if h.category in ("customer_error", "rate_limit"):
            h.confidence = round(max(0.05, h.confidence - 0.25), 2)
            h.reasons.append(f"they began when the subscription ended ({enforced[0].category})")
    notes = ended + notes
    if not picture.elevated and picture.top is not None and picture.elsewhere.reading == "usual":
        top = picture.top
        notes.append(
            f"its {describe(picture.cls or '')} ({top.status} {top.error_code}".rstrip()
            + f"…) come at the rate every account gets them ({picture.elsewhere.said()}): the usual noise"
        )
    hypotheses += found
    hooks, hook_notes = webhook_causes(state, evidence)
    # An outage of our deliveries, when the account's requests are sound, is not set aside for a trouble
    # the ticket's words name (its area only: no status, code or endpoint) whose own check found nothing
    # wrong: "guests left without paying" beside billing in good standing is what the deliveries that
    # never came lost them.
    ours = not picture.elevated and any(h.category == "webhook_platform" for h in hooks)
    other = names_other_trouble(state, _sound(evidence, picture) if ours else ())
    _, last_failed = delivery_span(evidence)
    over = _failed_until(evidence)
    if hooks and not names_deliveries(state) and over is not None and over < state.signals.window_start:
        # Deliveries that failed before the time a ticket not about them speaks of: said, not weighed.
        hook_notes.append(f"deliveries failed until {iso(over)}, before the time the ticket speaks of")
        hooks = []
    # Deliveries are checked on every ticket; failing ones are said beside a ticket about another
    # symptom, not chosen for it, and slow ones only answer a ticket about deliveries.
    unasked = (
        f"the ticket speaks of {other}, not of data that did not reach their systems"
        if other
        else "the ticket does not speak of deliveries, and they do not fail"
        if last_failed is None and not names_deliveries(state)
        else None
    )
    for h in hooks:
        if unasked is not None:
            h.confidence = min(h.confidence, UNASKED)
            h.reasons.append(unasked)
    hypotheses += hooks
    # An incident of ours is linked to the tracker's record of it, found by the failures' own times.
    linked = {
        **{
            i: h
            for h in api
            if (i := link_incident(h, evidence, parse_ts(picture.onset), parse_ts(picture.last_at)))
        },
        **{i: h for h in hooks if (i := link_incident(h, evidence, *delivery_span(evidence)))},
    }
    confirmed = as_incident(bug, linked)
    # An incident record stating the times the ticket names, in any language (``named_times``).
    by_times = told_incidents(state, evidence, {c.value for h in hypotheses for c in h.evidence})
    hypotheses += by_times + sso
    slow = latency_causes(state, evidence)
    aside = names_other_than_slowness(state) or (
        "failing requests"
        if picture.elevated and not picture.ended and names_failure_not_slowness(state)
        else None
    )
    for h in slow if aside else []:
        # Latency is checked before "nothing is wrong"; it does not answer a ticket about another trouble.
        h.confidence = min(h.confidence, UNASKED)
        h.reasons.append(f"the ticket speaks of {aside}, not of slowness")
    unsaid = not aside and names_failure_not_slowness(state)
    for h in slow if unsaid else []:
        # A ticket that says in words we read that something fails (goes missing, is refused) and nothing of
        # slowness may be seeing the slowness, but did not say so: an alternative, not a confident answer.
        if h.confidence > UNSAID:
            h.confidence = UNSAID
            h.reasons.append("the ticket says something fails, not that it is slow")
    hypotheses += slow
    if slow:
        diff.shape = "delays" if not picture.elevated else "failures and delays"
    hypotheses += infra_causes(state, evidence, picture)
    notes += hook_notes + sso_notes
    diff.observations += notes
    if (
        not any(h.category != "no_issue_found" and h.confidence >= 0.5 for h in hypotheses)
        and not (hooks and not unasked)
        and not sso
    ):
        well = healthy(state, evidence, picture, notes)
        if well is not None:
            hypotheses.append(well)
    words_only(bug, hypotheses)
    diff.unresolved = state.catalog.unresolved(_kinds(state, evidence))
    diff.observations += [f"{tool} failed: {why}" for tool, why in evidence.failed.items()]
    kind = unread(state)
    if kind is not None:
        # The ticket does not say what is wrong: the evidence alone picks, with its own confidence.
        # A cause whose statement or values carry a name the ticket writes is not the data alone.
        # The incident the bug's record turned out to be stands where the bug stood: found by the
        # failures' times and by the search, it is no more the data alone than the bug was.
        named = [
            *([bug] if bug is not None else []),
            *([confirmed] if confirmed is not None else []),
            *named_causes(state, evidence, [h for h in hypotheses if h is not bug and h is not confirmed]),
        ]
        hypotheses = evidence_first(
            kind,
            hypotheses,
            over=api if picture.ended else [],
            named=named,
            timely=[*_since_then(state, picture, api), *by_times],
            agreed=[*enforced, *_recorded_ongoing(state, picture, api, linked)],
        )
    diff.hypotheses = sorted(hypotheses, key=lambda h: -h.confidence)
    diff.against = refutations(evidence, diff)
    return diff


# How likely failing deliveries are the answer to a ticket about another trouble: an alternative only.
UNASKED = 0.35
# How likely slowness is the answer to a ticket that says something fails and nothing of slowness.
UNSAID = 0.6
# Areas whose trouble API error responses do not explain (deliveries we send; how numbers are counted).
_ELSEWHERE = ("webhook", "data")
# Areas whose trouble failing API requests may be (an invoice question beside them is not one).
_API_AREAS = frozenset({"api", "oauth", "export", "performance", "ui"})


def _elsewhere(state: LoopState, *, signing_in: bool) -> str | None:
    """The area the ticket is about when it is not the API: it names no status, code or endpoint.
    Signing in is such an area when the account's SSO logins themselves fail (``signing_in``): "can't
    log in" may be an integration's credentials too, and then its API errors are the answer."""
    s = state.signals
    # Numbers that do not match are read where they are shown ("the dashboard's per-day numbers"):
    # the page is not what fails.
    shown = {"ui"} if "data" in s.areas else set()
    if s.statuses or s.error_codes or s.endpoints or set(s.areas) & (_API_AREAS - shown):
        return None
    return next((a for a in (*_ELSEWHERE, *(("sso",) if signing_in else ())) if a in s.areas), None)


# How long before the time a ticket names ("the past hour and a half", read roughly) an onset may be.
_NAMED_TIME_SLACK = timedelta(hours=1)


def _since_then(state: LoopState, picture: ErrorPicture, api: list[Hypothesis]) -> list[Hypothesis]:
    """The incident of ours across accounts, still going on, that began about when the ticket says its
    trouble did: what that time points at."""
    onset = parse_ts(picture.onset)
    s = state.signals
    if not s.time_hint or onset is None or picture.ended:
        return []
    if not s.window_start - _NAMED_TIME_SLACK <= onset <= s.window_end:
        return []
    return [h for h in api if h.category == "platform_incident"]


# How long before a ticket an incident still going on began, for a ticket whose words we do not read to be
# written about it (the customer writes while it happens).
_FRESH = timedelta(hours=3)


def _recorded_ongoing(
    state: LoopState, picture: ErrorPicture, api: list[Hypothesis], linked: dict[str, Hypothesis]
) -> list[Hypothesis]:
    """The incident of ours the account's errors are part of, begun within ``_FRESH`` before the ticket and
    still going on, whose tracker record the failures' own times linked: two sources agree (every account's
    logs, the on-call's record) and the customer wrote while it happened, so it is clear without the
    ticket's words, as a cancellation the refusals began with is. One begun days before the ticket is not
    what a ticket we cannot read is clearly about."""
    onset = parse_ts(picture.onset)
    if picture.ended or onset is None or not timedelta(0) <= state.ticket.created_at - onset <= _FRESH:
        return []
    return [h for h in api if h.category == "platform_incident" and any(h is x for x in linked.values())]


def _sound(evidence: Evidence, picture: ErrorPicture) -> list[str]:
    """The areas whose own check found nothing wrong: billing in good standing, the API without elevated
    errors, sign-ins that all succeeded."""
    logins = evidence.logins.data if evidence.logins is not None else None
    return [
        *(["billing"] if evidence.billing is not None and evidence.billing.data.in_good_standing else []),
        *(["api"] if evidence.summary is not None and not picture.elevated else []),
        *(["sso"] if logins is not None and logins.attempts and not logins.failures else []),
    ]


def _failed_until(evidence: Evidence) -> datetime | None:
    """When the account's failing run of deliveries was over (its last bucket's end), if they failed."""
    _, last = delivery_span(evidence)
    return last + ENDED_AFTER if last is not None else None


def _before_window(state: LoopState, picture: ErrorPicture) -> bool:
    """The account's errors were over before the time the ticket speaks of: the time it names ("this
    morning"), or, naming none, the day before it. The day before the window is read for an onset
    just before it, not as the ticket's complaint."""
    last = parse_ts(picture.last_at) if picture.elevated else None
    # An incident other accounts still get is not over because this account stopped trying.
    return last is not None and last < state.signals.window_start and not picture.goes_on


def _kinds(state: LoopState, evidence: Evidence) -> list[str]:
    kinds = ["api"]
    if evidence.webhooks is not None:
        kinds.append("webhooks")
    if "ui" in state.signals.areas:
        kinds.append("dashboard")
    return kinds
