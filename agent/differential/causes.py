"""Candidate causes of an account's API errors: error semantics × scope × change correlation.

The account's dominant error class says whose side the fix is on (credentials,
permission, validation, a removed endpoint: theirs; server errors and timeouts:
ours), and two checks can overturn it: many accounts getting the same error
(then it is ours whatever the status) and a deploy that went live shortly before
the onset and touched what serves the failing endpoint (then it is our
regression). Every hypothesis cites the values it rests on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from casefile.agent.differential.changes import Change, ChangeVerdict, correlate, echoed
from casefile.agent.differential.codes import naming
from casefile.agent.differential.evidence import Evidence
from casefile.agent.differential.model import Hypothesis, cite
from casefile.agent.differential.picture import ErrorPicture
from casefile.agent.differential.semantics import CUSTOMER_SIDE, OUR_SIDE, describe, specific_code
from casefile.agent.differential.sources import account_name
from casefile.agent.phrasebook import reading
from casefile.agent.signals.text import code_name
from casefile.tools.base import parse_ts
from casefile.tools.docs import Article
from casefile.tools.logs_results import TopError

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState

__all__ = ["api_causes", "change_hints"]

# Words a change relevant to an error class would carry in its file names.
_HINTS: dict[str, tuple[str, ...]] = {
    "rate_limit": ("ratelimit", "rate_limit", "rate-limit", "limiter", "throttl", "quota"),
    "plan_limit": ("limit", "quota", "plan", "bulk", "batch"),
    "credentials": ("auth", "token", "oauth", "credential", "apikey", "api_key"),
    "test_key": ("auth", "apikey", "api_key", "mode"),
    "permission": ("permission", "allowlist", "scope", "acl", "policy", "auth"),
    "billing": ("billing", "subscription", "entitlement"),
    "gone": ("route", "deprecat", "version", "router"),
}
# The customer says they changed something on their side.
_THEIR_CHANGE = re.compile(
    r"\b(?:we|our (?:team|devs?|engineers?))\s+(?:have\s+|just\s+)?(?:changed|updated|upgraded|migrated|moved|rotated"
    r"|deployed|switched|released|rolled out|refactored|replaced)\b|\bafter (?:our|we) (?:deploy|release|update|migration)"
    r"|\bnew (?:api )?(?:key|server|ip|environment|version of our)\b",
    re.IGNORECASE,
)


def change_hints(cls: str | None) -> tuple[str, ...]:
    return _HINTS.get(cls or "", ())


def _change(state: LoopState, evidence: Evidence, picture: ErrorPicture) -> Change:
    return correlate(
        evidence, state.catalog, parse_ts(picture.onset), "api", picture.path, change_hints(picture.cls)
    )


def api_causes(
    state: LoopState, evidence: Evidence, picture: ErrorPicture
) -> tuple[list[Hypothesis], Change]:
    """Hypotheses from the account's dominant errors, and the change picture behind them."""
    top = picture.top
    if top is None or not picture.elevated or evidence.top is None:
        return [], Change(None, [], 0)
    change = _change(state, evidence, picture)
    who = account_name(state)
    cls = picture.cls or "other"
    tid, tool = evidence.top.call_id, "logs_top_errors"
    spike = evidence.summary.data.spike if evidence.summary else None
    # The onset is cited from the result that holds it: the spike's summary or the error rows.
    from_spike = evidence.summary is not None and spike is not None and spike.onset == picture.onset
    onset_call = evidence.summary.call_id if from_spike and evidence.summary else tid
    onset_tool = "logs_error_summary" if from_spike else tool
    code = top.error_code or str(top.status)
    where = f" to {picture.path}" if picture.path else ""
    since = f" since {picture.onset}" if picture.onset else ""
    ended = f"; the last one was at {picture.last_at}, so it has stopped" if picture.ended else ""
    base = [
        *cite(
            tid,
            tool,
            top.error_code or top.status,
            f"{top.count} requests{where} failed with {top.status} {top.error_code}".strip(),
        ),
        *cite(onset_call, onset_tool, picture.onset, f"the first of them at {picture.onset}"),
        *cite(tid, tool, top.message, f"the error message reads: {top.message}"),
    ]
    # The same class under other codes (a token endpoint's invalid_client behind every later
    # invalid_token): each is what the customer sees somewhere, and the earliest is often the cause.
    firsts: dict[tuple[int, str], TopError] = {}
    for r in picture.rows:
        if r.error_code and r.error_code != top.error_code:
            firsts.setdefault((r.status, r.error_code), r)
    also = list(firsts.values())[:2]
    for r in also:
        base += cite(
            tid,
            tool,
            r.error_code,
            f"{r.count} requests to {r.path or 'the API'} failed with {r.status} {r.error_code}",
        )
    facts = (
        f"{who}'s requests{where} fail with {top.status} {top.error_code}".rstrip()
        + "".join(f", {r.status} {r.error_code} on {r.path or 'other endpoints'}" for r in also)
        + f" ({picture.count} of {picture.total} errors{since}{ended})"
    )
    ruled = change.ruled_out_text()
    ruled_note = f" Deploys ruled out: {ruled}." if ruled else ""
    owner = state.catalog.owner("api", picture.path)
    shared = picture.scope == "many accounts"
    suspect = change.suspect
    out: list[Hypothesis] = []
    # A refusal that looks like the customer's (a 400) but that the customer describes in the very
    # words of what a deploy of ours just changed in the failing endpoint is our regression.
    echo = (
        echoed(evidence, suspect, f"{state.ticket.subject} {state.ticket.body}", picture.path)
        if suspect is not None and suspect.relevance == "touched" and cls in CUSTOMER_SIDE and not shared
        else []
    )
    their_change = bool(_THEIR_CHANGE.search(reading(state.ticket.full_text())))
    # Payloads the endpoint took until minutes after a deploy that changed it, and refuses since, were
    # not changed by the customer that minute: the deploy's stricter reading of them is. So is a refusal
    # the account never got before, beginning minutes after a deploy of what serves the endpoint (the
    # catalogue's component, whatever its files are named), unless the customer says they changed something.
    stricter = (
        _refused_since_deploy(evidence, suspect, picture)
        if suspect is not None
        and cls == "validation"
        and not shared
        and (
            suspect.relevance == "touched"
            or (_serves(state, suspect, picture.path) and _new_refusal(picture) and not their_change)
        )
        else None
    )

    if (
        suspect is not None
        and (suspect.relevance in ("touched", "component") or stricter)
        and (cls in OUR_SIDE or shared or echo or stricter)
    ):
        strength = 0.75 if echo or stricter else {"touched": 0.8, "component": 0.7}[suspect.relevance]
        repo_owner = next((c.team for c in state.catalog.for_repo(suspect.deploy.repo) if c.team), owner)
        out.append(
            Hypothesis(
                category="deploy_regression",
                confidence=strength,
                statement=(
                    f"Regression from {suspect.label}, live at {suspect.deploy.created_at}, "
                    f"{suspect.minutes_before:.0f} minutes before the errors began: {facts}; the deploy {suspect.reason}."
                    + ruled_note
                ),
                summary=f"{describe(cls).capitalize()}{where}{since} follow deploy {suspect.label}; escalate to its owner.",
                component=picture.path or "api",
                reasons=[
                    "the errors begin shortly after a production deploy",
                    f"the deploy {suspect.reason}",
                    "many accounts get the same error"
                    if shared
                    else f"the ticket describes what the deploy changed ({', '.join(echo)})"
                    if echo
                    else stricter
                    if stricter
                    else "the errors are server-side",
                ],
                evidence=base
                + (
                    cite(
                        evidence.deploys.call_id,
                        "deploys_list",
                        suspect.deploy.sha,
                        f"{suspect.label} went live at {suspect.deploy.created_at}",
                    )
                    if evidence.deploys
                    else []
                )
                + (
                    cite(
                        suspect.compare_call,
                        "deploys_compare",
                        suspect.touched[0] if suspect.touched else None,
                        f"the deploy changed {suspect.touched[0] if suspect.touched else ''}",
                    )
                    if suspect.compare_call
                    else []
                ),
                action="escalate",
                team=repo_owner,
                deploy_sha=suspect.deploy.sha,
                reply=(
                    f"Thanks for reporting this, and sorry for the disruption. We've confirmed that requests{where} have been "
                    f"failing{since} following a change on our side"
                    + (", and they have stopped since" if picture.ended else "")
                    + ". Our engineering team has the details and is working on it; we'll update you as soon as it's fixed."
                ),
                note=f"Suspect deploy {suspect.label} ({suspect.deploy.sha}): {suspect.reason}.{ruled_note}",
            )
        )

    # Other accounts getting the same 4xx is the usual background of client mistakes, not an
    # incident; only server-side classes make "many accounts" an incident of ours.
    if cls in OUR_SIDE:
        if shared:
            out.append(
                Hypothesis(
                    category="platform_incident",
                    confidence=(0.8 if picture.ended else 0.7) if not suspect else 0.55,
                    statement=(
                        f"{facts}, and {picture.shared.accounts if picture.shared else 'other'} other accounts got the same "
                        f"error in the window: an incident on our side, not this account's integration.{ruled_note}"
                    ),
                    summary=f"{describe(cls).capitalize()} across accounts{since}"
                    + (" (ended)." if picture.ended else "."),
                    component=picture.path or "api",
                    reasons=["other accounts get the same status and code", "no account-specific cause"],
                    evidence=base
                    + cite(
                        tid,
                        tool,
                        picture.shared.accounts if picture.shared else None,
                        "other accounts with the same error",
                    ),
                    action="resolve" if picture.ended else "escalate",
                    team=None,
                    reply=(
                        "Thanks for reporting this. We can confirm errors on our side affecting several customers"
                        + (
                            f"{since}; they stopped at {picture.last_at}"
                            if picture.ended
                            else f"{since}, and our on-call engineers are on it"
                        )
                        + ". We'll follow up with what happened."
                    ),
                    note="Same status and code at other accounts." + ruled_note,
                )
            )
        elif not (suspect and suspect.relevance in ("touched", "component")):
            possible = f" A deploy was considered: {suspect.label} ({suspect.reason})." if suspect else ""
            out.append(
                Hypothesis(
                    category="insufficient_evidence",
                    confidence=0.4,
                    statement=(
                        f"{facts}: {describe(cls)} that only this account gets, and no deploy shortly before the onset "
                        f"explains them.{possible}{ruled_note}"
                    ),
                    summary=f"{describe(cls).capitalize()}{where}{since}; cause not visible in the tools, escalating.",
                    component=picture.path or "api",
                    reasons=[
                        "the errors are real and on our side",
                        "no relevant deploy or known bug explains them",
                    ],
                    evidence=base,
                    action="escalate",
                    team=owner,
                    reply=(
                        f"Thanks for the report. We can see the failing requests on our side{where}{since}"
                        + (f" (they stopped at {picture.last_at})" if picture.ended else "")
                        + " and have passed the details to our engineering team to find the cause. We'll update you soon."
                    ),
                    note="Server-side errors without a visible cause." + ruled_note,
                )
            )

    if cls in CUSTOMER_SIDE:
        touched = suspect is not None and (suspect.relevance == "touched" or bool(stricter))
        # Other accounts are the control group: a change of ours that broke this would fail them too,
        # so a deploy that touched the code weakens, but does not overturn, "only this account" —
        # unless the error itself says the customer's own system refused (a deploy of ours does not
        # make their database refuse only them).
        # The company's own help center saying what the code means (a condition of the customer's
        # account) is not weakened by a deploy's timing either.
        article = _code_article(evidence, top.error_code, top.status)
        documented = article is not None
        confidence = 0.8 if not touched or documented or (cls == "customer_system" and not shared) else 0.7
        if their_change:
            confidence = min(0.85, confidence + 0.05)
        if picture.share < 0.3:
            confidence -= 0.1
        if shared:
            confidence -= 0.15  # other accounts get it too: less clearly this one's doing
        twin = _new_at_another(evidence, picture) if not shared else None
        if twin:
            confidence -= 0.15  # two customers rarely begin the same new mistake the same day
        if echo or stricter:
            confidence = 0.5  # the deploy that touched the endpoint is what they describe, or what refuses
        only = ", which only this account gets" if not shared and not twin else ""
        key = picture.failing_key
        key_text = (
            f", all from one API key ({key.api_key_hash}) while the account's other keys work" if key else ""
        )
        category = "rate_limit" if cls == "rate_limit" else "customer_error"
        out.append(
            Hypothesis(
                category=category,
                confidence=round(confidence, 2),
                statement=(
                    f"{facts}{key_text}: {describe(cls)}{only}; the fix is on the customer's side."
                    + (f" Deploy {suspect.label} was considered: {suspect.reason}." if suspect else "")
                    + ruled_note
                ),
                summary=f"{describe(cls).capitalize()}{where}{since}: a problem in the customer's integration, not an outage.",
                component="customer integration",
                reasons=[
                    f"the dominant errors are {top.status} {top.error_code}".strip(),
                    twin
                    if twin
                    else "no other account gets them"
                    if not shared
                    else "other accounts get them too",
                    "no deploy on our side touched the failing endpoint"
                    if not touched
                    else "a deploy touched that code, but only this account fails",
                ],
                evidence=base
                + cite(tid, tool, key.api_key_hash if key else None, "the failing requests use this API key")
                + (
                    cite(
                        article[1],
                        "docs_search",
                        article[0].title,
                        f"the help center explains {top.error_code}",
                    )
                    if article
                    else []
                ),
                action="resolve",
                team=owner,
                reply=_customer_reply(cls, top.status, code, picture, key.api_key_hash if key else None)
                + (
                    f"\n\nOur help center explains this code: {article[0].title} — {article[0].url}"
                    if article and article[0].url
                    else ""
                ),
                note=f"Customer-side {cls}: {top.status} {top.error_code}.{ruled_note}",
            )
        )
    for h in out:
        h.failing_share = picture.rate
    return out, change


# How close another account's first error of the same new code is to this account's onset.
_SAME_DAY = timedelta(hours=24)


def _new_at_another(evidence: Evidence, picture: ErrorPicture) -> str | None:
    """Why the account's refusal is less clearly its own, or ``None``: a code that says more than its status
    (``specific_code``), which neither this account nor any other got in the days before, that another
    account (too few to call it many) began getting within a day of this account's onset, about as often.
    Two customers rarely begin the same new mistake the same day: a change of ours, or a tool both use."""
    top, errors = picture.top, evidence.top.data if evidence.top else None
    onset = parse_ts(picture.onset)
    if top is None or errors is None or onset is None or not specific_code(top.error_code):
        return None
    twin = errors.shared(top.status, top.error_code)
    began = parse_ts(twin.first_at) if twin is not None else None
    if twin is None or began is None or not twin.accounts or twin.before or twin.count < 0.2 * top.count:
        return None
    mine = [r for r in picture.rows if (r.status, r.error_code) == (top.status, top.error_code)]
    if any(r.before for r in mine) or abs(began - onset) > _SAME_DAY:
        return None
    return (
        f"{twin.accounts} other account{'s' if twin.accounts > 1 else ''} began getting the same new "
        f"{top.status} {top.error_code} within a day ({twin.count} since {twin.first_at})"
    )


# A deploy this close before the first refusal is the change the refusals follow (the next requests after
# it went live), not a customer's change made the same minutes.
_STRICTER_WITHIN = 10.0
# The endpoint took the account's requests before (its own error rate then at most this) and refuses a
# large share of them since (at least this).
_TOOK_BEFORE = 0.05
_REFUSES_SINCE = 0.2


def _refused_since_deploy(evidence: Evidence, suspect: ChangeVerdict, picture: ErrorPicture) -> str | None:
    """Why the refusals of ``picture``'s endpoint are ``suspect``'s stricter validation, or ``None``: the
    account sent the endpoint requests it took (few errors in the baseline), the deploy that changed the
    endpoint went live minutes before the first refusal, and a large share of the endpoint's requests is
    refused since (over the window, or the account's rate after the jump the summary found on them).
    A customer's own malformed payloads start with their change, not with ours."""
    summary = evidence.summary.data if evidence.summary else None
    endpoint = next((e for e in summary.top_endpoints if e.path == picture.path), None) if summary else None
    if endpoint is None or endpoint.baseline_error_rate is None or suspect.minutes_before > _STRICTER_WITHIN:
        return None
    spike = summary.spike if summary is not None else None
    top = picture.top
    jumped = (
        spike.after_rate
        if spike is not None
        and top is not None
        and spike.onset == picture.onset
        and spike.status in (None, top.status)
        else 0.0
    )
    since = max(endpoint.error_rate, jumped)
    if endpoint.baseline_error_rate > _TOOK_BEFORE or since < _REFUSES_SINCE:
        return None
    return (
        f"the endpoint took the account's requests before ({endpoint.baseline_error_rate:.0%} refused) and refuses "
        f"{since:.0%} since, from {suspect.minutes_before:.0f} minutes after the deploy"
    )


def _serves(state: LoopState, suspect: ChangeVerdict, path: str | None) -> bool:
    """Whether ``suspect`` deploys the repository the catalogue declares as serving ``path``."""
    serving = state.catalog.for_path(path)
    repo = suspect.deploy.repo.lower()
    return serving is not None and not serving.inferred and repo in {r.lower() for r in serving.repos}


def _new_refusal(picture: ErrorPicture) -> bool:
    """Every row of the class is a code the account never got in the week before."""
    return bool(picture.rows) and all(r.error_code and r.before == 0 for r in picture.rows)


def _customer_reply(cls: str, status: int, code: str, picture: ErrorPicture, key: str | None) -> str:
    where = f" to {picture.path}" if picture.path else ""
    since = f" since {picture.onset}" if picture.onset else ""
    opening = (
        f"Thanks for reaching out. Our API is working normally; your requests{where} are being refused with "
        f"{status} {code}{since}" + (f", all from one API key (hash {key})" if key else "") + ". "
    )
    advice = {
        "customer_system": "That means the system on your side that we connect to (your database, source or "
        "destination) refused or dropped our connection. Please check that it is up, accepts connections from our "
        "addresses (firewall or allow-list changes) and that its credentials are still valid.",
        "credentials": "That means the credentials sent are not accepted: the API key or OAuth client was revoked, "
        "rotated or is mistyped. Please check which credentials that service uses and replace them with active ones.",
        "test_key": "That means a test-mode key is being used against the live environment (or the reverse). Please "
        "use the live key for production requests.",
        "permission": "That means the request is not permitted for this key: if you restrict API access by IP address, "
        "the requests come from an address that is not on your allow-list; otherwise the key lacks the permission or "
        "scope for this operation. Please add the address or adjust the key's permissions.",
        "validation": "The error body names the field that was rejected; please check the payloads against the API "
        "reference (a change on your side around that time is the first place to look).",
        "not_found": "Those requests refer to objects or routes that do not exist; please check the ids and paths "
        "your integration sends.",
        "gone": "That endpoint has been removed; please move to its replacement as described in our API changelog.",
        "rate_limit": "Your requests are exceeding your plan's rate limit. Please honour the Retry-After header and "
        "back off exponentially; if you need a higher limit, we can discuss a plan change.",
    }.get(cls, "Please check your integration's requests against the API reference.")
    return opening + advice + " If you think this is wrong, reply with a request id and we'll trace it."


def summarise_ruled_out(change: Change) -> Sequence[str]:
    return [f"{v.label}: {v.reason}" for v in change.ruled_out]


def _documented(evidence: Evidence, code: str | None) -> bool:
    """Whether the help center's answer to this investigation's search for ``code`` has an article naming it."""
    return _code_article(evidence, code) is not None


def _code_article(
    evidence: Evidence, code: str | None, status: int | None = None
) -> tuple[Article, str] | None:
    """The first article of the help center's answer to this investigation's search for ``code`` that names
    it, and that call's id: the company's own words on the code the account gets, labelled or not."""
    found = evidence.code_docs.get(code_name(code)) if code else None
    if found is None or code is None:
        return None
    article = next((a for a in found.data.articles if naming(code_name(code), status, a)), None)
    return (article, found.call_id) if article is not None else None
