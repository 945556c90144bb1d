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
from typing import TYPE_CHECKING

from casefile.agent.differential.changes import Change, correlate, echoed
from casefile.agent.differential.evidence import Evidence
from casefile.agent.differential.glossary import english
from casefile.agent.differential.model import Cite, Hypothesis
from casefile.agent.differential.picture import ErrorPicture, reported_statuses
from casefile.agent.differential.queries import path_words, rank_issues, stems, terms
from casefile.agent.differential.semantics import CUSTOMER_SIDE, OUR_SIDE, describe, specific_code
from casefile.agent.phrasebook import reading
from casefile.tools.base import parse_ts
from casefile.tools.bugs_results import Issue
from casefile.tools.logs_results import TopError

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState

__all__ = ["api_causes", "change_hints", "known_bug"]

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


# The customer asks whether this is a known problem or for a workaround (in the ticket's reading in
# English: other languages' phrases for these are in differential/languages/).
_ASKS_WORKAROUND = re.compile(r"work-?around|known (?:issue|problem|bug)", re.IGNORECASE)


def change_hints(cls: str | None) -> tuple[str, ...]:
    return _HINTS.get(cls or "", ())


def _who(state: LoopState) -> str:
    account = state.account or {}
    return str(account.get("name") or account.get("id") or "the account")


def _cite(evidence_id: str, tool: str, value: object, claim: str) -> Cite | None:
    text = "" if value is None else str(value)
    # One character ("3", "0") grounds nothing: such facts stay in the statement, not the evidence.
    return Cite(call_id=evidence_id, tool=tool, value=text, claim=claim) if len(text) > 1 else None


def _cites(*items: Cite | None) -> list[Cite]:
    return [c for c in items if c is not None]


def known_bug(
    state: LoopState, evidence: Evidence, picture: ErrorPicture, change: Change | None = None
) -> Hypothesis | None:
    """An open bug whose words match the ticket (its own words, codes and the failing endpoint).

    A bug filed before a deploy that touched the failing endpoint, when this account's errors
    began only after that deploy, explains them less well than the deploy does.
    """
    if not evidence.bugs:
        return None
    top = picture.top
    codes = [*state.signals.error_codes, *([top.error_code] if top and top.error_code else [])]
    said = f"{state.ticket.subject} {state.ticket.body}"
    pool = [issue for issue, _ in evidence.bugs]
    # When nothing shares the ticket's own words (the failing endpoint's words aside), rank by their
    # English equivalents too: bugs are filed in English.
    translated = [] if rank_issues(pool, said, codes) else english(said)
    ranked = rank_issues(pool, " ".join([said, *translated, *path_words(picture.path)]), codes)
    call = {issue.identifier: call_id for issue, call_id in evidence.bugs}
    # Words of the product itself ("<Product> API") match every bug: they are not evidence.
    product = stems(terms(state.catalog.product or "")) | {"api"}
    wanted = stems(terms(" ".join([said, *english(said)]))) - product
    path_stems = stems(path_words(picture.path))
    # A code that only restates its status ("internal") matches every bug about such errors.
    code_stems = stems(
        [specific_code(top.error_code).lower()] if top and specific_code(top.error_code) else []
    )
    for i, (score, issue) in enumerate(ranked[:3]):
        if not issue.open:
            continue
        title = stems(terms(issue.title))
        hits = wanted & title
        code_hit = bool(stems(c.lower() for c in state.signals.error_codes) & title)
        # The account's own failing errors are what the bug describes: their code, or their endpoint
        # together with another of the ticket's words (an endpoint's name alone is too common).
        data_hit = picture.elevated and (
            bool(code_stems & title) or bool(path_stems & title and (hits - path_stems))
        )
        if len(hits) < 2 and not code_hit and not data_hit:
            continue
        runner_up = next((s for s, other in ranked if other is not issue), 0.0)
        confidence = 0.5 + (0.1 if issue.workaround else 0.0) + 0.1 * min(len(hits) - 1, 2)
        if code_hit or data_hit:
            confidence += 0.15
        if _ASKS_WORKAROUND.search(reading(state.ticket.full_text())):
            confidence += 0.05  # the customer recognises a known problem and asks how to live with it
        if i == 0 and score >= 1.5 * runner_up:
            confidence += 0.05  # it stands out from every other candidate
        older = _older_than_suspect(issue, change) or _other_status(issue, picture)
        if older:
            confidence = min(confidence, 0.85) - 0.25
        when = f" since {picture.onset}" if picture.elevated and picture.onset else ""
        return Hypothesis(
            category="known_bug",
            confidence=round(min(confidence, 0.85), 2),
            statement=f"Known bug {issue.identifier} ({issue.title}) matches what {_who(state)} reports{when}.",
            summary=f"Known bug {issue.identifier}"
            + (" with a workaround." if issue.workaround else "; no workaround yet."),
            component=picture.path or "api",
            reasons=["an open bug's title and description match the ticket's own words and codes"]
            + (["it has a workaround"] if issue.workaround else ["it has no workaround yet"])
            + ([older] if older else []),
            evidence=_cites(
                _cite(
                    call[issue.identifier],
                    "bugs_search",
                    issue.identifier,
                    f"open bug {issue.identifier}: {issue.title}",
                ),
                _cite(
                    evidence.top.call_id,
                    "logs_top_errors",
                    top.error_code,
                    f"{top.count} requests failed with {top.error_code}",
                )
                if evidence.top and top and top.error_code and picture.elevated
                else None,
            ),
            action="resolve" if issue.workaround and confidence >= 0.75 else "escalate",
            reply=(
                f"Thanks for the report. This is a known issue on our side ({issue.identifier}) that our engineers are "
                "working on"
                + (f" ({issue.eta})" if issue.eta else "")
                + "."
                + (
                    f" In the meantime: {issue.workaround}"
                    if issue.workaround
                    else " We'll update you as soon as it's fixed."
                )
            ),
            note=f"Matched {issue.identifier} by the ticket's words (score {score:.1f}).",
        )
    return None


# An HTTP status as issue text states one ("returns `500 internal`", "HTTP 413"), not "450 items".
_STATUS = re.compile(r"(?:\bhttp|\bstatus|\breturns?|\banswers?|\bwith|`)\s*`?([45]\d\d)\b", re.IGNORECASE)


def _other_status(issue: Issue, picture: ErrorPicture) -> str:
    """Why ``issue`` does not describe the account's errors: it names other HTTP statuses, or ''."""
    top = picture.top
    text = f"{issue.title} {issue.description}"
    described = {int(s) for s in _STATUS.findall(text)} | reported_statuses(issue.title)
    if not picture.elevated or top is None or not described or top.status in described:
        return ""
    shown = ", ".join(str(s) for s in sorted(described))
    return f"the bug describes HTTP {shown}, while the account's errors are {top.status} {top.error_code}".rstrip()


def _older_than_suspect(issue: Issue, change: Change | None) -> str:
    """Why a deploy explains the errors better than ``issue``, or ''."""
    suspect = change.suspect if change else None
    filed, deployed = parse_ts(issue.created_at), parse_ts(suspect.deploy.created_at) if suspect else None
    if (
        suspect is None
        or suspect.relevance != "touched"
        or filed is None
        or deployed is None
        or filed >= deployed
    ):
        return ""
    return f"the bug was filed before {suspect.label}, which touched the failing endpoint just before the errors began"


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
    who = _who(state)
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
    base = _cites(
        _cite(
            tid,
            tool,
            top.error_code or top.status,
            f"{top.count} requests{where} failed with {top.status} {top.error_code}".strip(),
        ),
        _cite(onset_call, onset_tool, picture.onset, f"the first of them at {picture.onset}"),
        _cite(tid, tool, top.message, f"the error message reads: {top.message}"),
    )
    # The same class under other codes (a token endpoint's invalid_client behind every later
    # invalid_token): each is what the customer sees somewhere, and the earliest is often the cause.
    firsts: dict[tuple[int, str], TopError] = {}
    for r in picture.rows:
        if r.error_code and r.error_code != top.error_code:
            firsts.setdefault((r.status, r.error_code), r)
    also = list(firsts.values())[:2]
    base += _cites(
        *(
            _cite(
                tid,
                tool,
                r.error_code,
                f"{r.count} requests to {r.path or 'the API'} failed with {r.status} {r.error_code}",
            )
            for r in also
        )
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

    if (
        suspect is not None
        and suspect.relevance in ("touched", "component")
        and (cls in OUR_SIDE or shared or echo)
    ):
        strength = 0.75 if echo else {"touched": 0.8, "component": 0.7}[suspect.relevance]
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
                    else "the errors are server-side",
                ],
                evidence=base
                + _cites(
                    _cite(
                        evidence.deploys.call_id,
                        "deploys_list",
                        suspect.deploy.sha,
                        f"{suspect.label} went live at {suspect.deploy.created_at}",
                    )
                    if evidence.deploys
                    else None,
                    _cite(
                        suspect.compare_call,
                        "deploys_compare",
                        suspect.touched[0] if suspect.touched else None,
                        f"the deploy changed {suspect.touched[0] if suspect.touched else ''}",
                    )
                    if suspect.compare_call
                    else None,
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
                    + _cites(
                        _cite(
                            tid,
                            tool,
                            picture.shared.accounts if picture.shared else None,
                            "other accounts with the same error",
                        )
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
        their_change = bool(_THEIR_CHANGE.search(reading(state.ticket.full_text())))
        touched = suspect is not None and suspect.relevance == "touched"
        # Other accounts are the control group: a change of ours that broke this would fail them too,
        # so a deploy that touched the code weakens, but does not overturn, "only this account" —
        # unless the error itself says the customer's own system refused (a deploy of ours does not
        # make their database refuse only them).
        confidence = 0.8 if not touched or (cls == "customer_system" and not shared) else 0.7
        if their_change:
            confidence = min(0.85, confidence + 0.05)
        if picture.share < 0.3:
            confidence -= 0.1
        if shared:
            confidence -= 0.15  # other accounts get it too: less clearly this one's doing
        if echo:
            confidence = 0.5  # the deploy that touched the endpoint is what they describe
        only = ", which only this account gets" if not shared else ""
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
                    "no other account gets them" if not shared else "other accounts get them too",
                    "no deploy on our side touched the failing endpoint"
                    if not touched
                    else "a deploy touched that code, but only this account fails",
                ],
                evidence=base
                + _cites(
                    _cite(
                        tid, tool, key.api_key_hash if key else None, "the failing requests use this API key"
                    ),
                ),
                action="resolve",
                team=owner,
                reply=_customer_reply(cls, top.status, code, picture, key.api_key_hash if key else None),
                note=f"Customer-side {cls}: {top.status} {top.error_code}.{ruled_note}",
            )
        )
    return out, change


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
