"""SSO beyond the error text: what the failing SAML responses changed, and the summary an engineer writes.

Each login the logs record carries the configuration its response was made with
(certificate, Issuer, Destination, Audience, NameID format, signing algorithm;
``tools/sso_responses.py``), so the last successful login is a snapshot of a
working configuration. :func:`config_causes` compares the latest failing response
with it (``config_changes``) and with what we expect (the account's ACS URL, SP
entity ID and IdP entity ID): a field that changed when the failures began is the
cause, cited from the result. :func:`told` rewrites every SSO hypothesis' summary
the way a senior engineer escalates one: what broke and since when, the last
successful login, the IdP ("Certificate expired 4 days ago, customer last logged
in successfully on March 3rd, IdP is Okta").
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from casefile.agent.differential.evidence import Evidence
from casefile.agent.differential.model import Cite, Hypothesis
from casefile.agent.differential.sources import account_name
from casefile.tools.base import parse_ts
from casefile.tools.sso_analysis import VENDOR_NAMES, ago, spoken_day
from casefile.tools.sso_responses import CHANGE_LABELS

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState

__all__ = ["admin_causes", "config_causes", "told"]

# Fields of a response we can compare with our own configuration: field -> the directory's key.
_OURS = {"acs_url": "sp_acs_url", "audience": "sp_entity_id", "idp_entity_id": "entity_id"}

_REPLIES = {
    "cert_sha1": "Your identity provider now signs with a different certificate than the one in your SSO settings "
    "with us. Upload the new certificate (or re-import the IdP metadata) in your SSO settings and sign-in works again.",
    "acs_url": "Your identity provider sends sign-ins to {after}, but your account's ACS (reply) URL with us is "
    "{expected}. Set the ACS URL of our app in your IdP back to {expected} and sign-in works again.",
    "audience": "Your identity provider addresses sign-ins to the audience {after}, but our SP entity ID for your "
    "account is {expected}. Set the app's Audience / SP Entity ID in your IdP to {expected}.",
    "idp_entity_id": "Your identity provider now identifies itself as {after} instead of {before}, which is the "
    "issuer configured in your SSO settings with us. Re-import the IdP metadata in your SSO settings (or undo the "
    "change in the IdP).",
    "nameid_format": "Your identity provider now sends the user's NameID as {after} instead of {before}, so we "
    "cannot match the user. Set the app's NameID format in your IdP back to {before}.",
    "sig_alg": "Your identity provider now signs sign-ins with {after} instead of {before}, which our SSO does not "
    "accept. Set the app's signature algorithm in your IdP back to {before} (SHA-256).",
}


def _mismatches(state: LoopState, latest: Any, last: Any) -> list[dict[str, str]]:
    """Fields of the latest failing response that differ from the last working one or from ours."""
    idp = (state.account or {}).get("idp") or {}
    found: dict[str, dict[str, str]] = {}
    for field in CHANGE_LABELS:
        after = getattr(latest, field, None)
        before = getattr(last, field, None) if last is not None else None
        expected = idp.get(_OURS[field]) if field in _OURS else None
        if not after:
            continue
        if before and before != after:
            found[field] = {
                "field": field,
                "before": str(before),
                "after": str(after),
                "expected": str(expected or before),
            }
        elif expected and expected != after:
            found[field] = {
                "field": field,
                "before": str(expected),
                "after": str(after),
                "expected": str(expected),
            }
    return list(found.values())


def config_causes(state: LoopState, evidence: Evidence) -> list[Hypothesis]:
    logins = evidence.logins
    if logins is None or not logins.data.failures or not logins.data.recent_failures:
        return []
    d = logins.data
    changes = _mismatches(state, d.recent_failures[0], d.last_success)
    if not changes:
        return []
    first = changes[0]
    what = ", ".join(f"{CHANGE_LABELS[c['field']]} {c['before']} -> {c['after']}" for c in changes)
    last_ts = d.last_success.ts if d.last_success is not None else None
    cites = [
        Cite(
            call_id=logins.call_id,
            tool=logins.tool,
            value=c["after"],
            claim=f"the failing SAML responses carry {CHANGE_LABELS[c['field']]} {c['after']}",
        )
        for c in changes
    ]
    if last_ts:
        cites.append(
            Cite(
                call_id=logins.call_id,
                tool=logins.tool,
                value=last_ts,
                claim=f"the last successful login was at {last_ts}",
            )
        )
    who = account_name(state)
    return [
        Hypothesis(
            category="sso_certificate_mismatch" if first["field"] == "cert_sha1" else "sso_config",
            confidence=0.85,
            statement=f"{who}'s SSO logins fail since {d.failing_since}: the IdP's responses changed ({what})"
            + (f" after the last successful login at {last_ts}" if last_ts else "")
            + ".",
            summary=f"SSO configuration changed at the IdP: {what}.",
            component="customer IdP configuration",
            reasons=["the failing SAML responses differ from the last working one in the logs"],
            evidence=cites,
            action="resolve",
            team=state.catalog.owner("auth"),
            reply="Thanks for reaching out. " + _REPLIES[first["field"]].format(**first),
            note=f"Changed since the last working login: {what}.",
        )
    ]


# What each vendor's admin console calls the two values, for the customer's reply.
_FIELD_NAMES = {
    ("okta", "ACS URL"): "Single sign-on URL",
    ("okta", "SP entity ID"): "Audience URI (SP Entity ID)",
    ("entra", "ACS URL"): "Reply URL (Assertion Consumer Service URL)",
    ("entra", "SP entity ID"): "Identifier (Entity ID)",
}
# The SAML response field that carries the same value, and our directory's key for it.
_RESPONSE_FIELD = {"ACS URL": ("acs_url", "Destination"), "SP entity ID": ("audience", "Audience")}


def _sources(evidence: Evidence) -> list[str]:
    """Each compared value with where it was read: IdP admin API, SAML response, metadata."""
    lines = []
    app, logins, check = evidence.idp_app, evidence.logins, evidence.sso
    latest = logins.data.recent_failures[0] if logins is not None and logins.data.recent_failures else None
    for value in app.data.values if app is not None else []:
        field, name = _RESPONSE_FIELD[value.what]
        said = getattr(latest, field, None) if latest is not None else None
        parts = [f"{value.source}: {', '.join(value.idp) or 'none'}"]
        if said:
            parts.append(f"latest SAML response ({name}): {said}")
        parts.append(f"ours: {value.ours or 'not configured'}")
        lines.append(f"{value.what}: " + "; ".join(parts))
    if check is not None and check.data.entity_id:
        issuer = getattr(latest, "idp_entity_id", None) if latest is not None else None
        lines.append(
            f"IdP entity ID: IdP metadata: {check.data.entity_id}"
            + (f"; latest SAML response (Issuer): {issuer}" if issuer else "")
        )
    return lines


def admin_causes(state: LoopState, evidence: Evidence) -> list[Hypothesis]:
    """The IdP's own app configuration (its admin API) sends assertions elsewhere than ours."""
    app = evidence.idp_app
    if app is None:
        return []
    d = app.data
    wrong = [v for v in d.values if v.matches is False]
    if not wrong and d.active:
        return []
    vendor = VENDOR_NAMES.get(d.vendor, d.vendor)
    said = [
        (f"{vendor} sends assertions to {v.idp[0]}; ours is {v.ours}")
        if v.what == "ACS URL"
        else (f"{vendor} addresses assertions to the audience {v.idp[0]}; our SP entity ID is {v.ours}")
        for v in wrong
    ]
    if not d.active:
        said.append(f"the app is {d.status} in {vendor}")
    cites = [
        Cite(
            call_id=app.call_id,
            tool=app.tool,
            value=v.idp[0],
            claim=f"{d.api} says the app's {v.what} is {v.idp[0]}, not ours ({v.ours})",
        )
        for v in wrong
    ]
    if not d.active:
        cites.append(
            Cite(
                call_id=app.call_id, tool=app.tool, value=d.status, claim=f"the app is {d.status} in {vendor}"
            )
        )
    fixes = [
        f"set the app's {_FIELD_NAMES[(d.vendor, v.what)]} in {vendor} to {v.ours}" for v in wrong if v.ours
    ] + ([f"activate the app in {vendor}"] if not d.active else [])
    who = account_name(state)
    sources = _sources(evidence)
    return [
        Hypothesis(
            category="sso_config",
            confidence=0.9,
            statement=f"{who}'s IdP is configured for another SAML endpoint than ours: "
            + "; ".join(said)
            + ".",
            summary="; ".join(said) + ".",
            component="customer IdP configuration",
            reasons=[f"read from the IdP's admin API ({d.api}, app {d.app_id})", *sources],
            evidence=cites,
            action="resolve",
            team=state.catalog.owner("auth"),
            reply="Thanks for reaching out. Your identity provider's app for us is configured with other values "
            f"than your account with us: {'; '.join(said)}. To fix it, {' and '.join(fixes)}; "
            "sign-in works again right after.",
            note="Where each value was read: " + " | ".join(sources),
        )
    ]


def _not_read(state: LoopState, evidence: Evidence) -> str | None:
    """Why the IdP's configuration of our app was not read, when the directory names the app."""
    idp = (state.account or {}).get("idp") or {}
    if not idp.get("app_id") or evidence.idp_app is not None:
        return None
    why = evidence.failed.get("sso_idp_app") or "no IdP admin API is configured"
    return (
        f"The IdP's configuration of our app was not read ({why}); the SAML responses in the logs stand in."
    )


def _spoken_day(ts: str) -> str:
    moment = parse_ts(ts)
    return spoken_day(moment) if moment is not None else ts


def _what_broke(h: Hypothesis, evidence: Evidence, now: datetime) -> str:
    check, logins = evidence.sso, evidence.logins
    since = logins.data.failing_since if logins is not None else None
    if h.category == "sso_certificate_expired" and check is not None:
        expired = next(
            (c for c in check.data.certificates if c.expired and c.use != "encryption" and c.not_after), None
        )
        until = parse_ts(expired.not_after) if expired is not None and expired.not_after else None
        if until is not None:
            return f"Certificate expired {ago((until - now).total_seconds())}"
    head = h.summary.rstrip(".")
    return head + (f" (failing since {since})" if since else "")


def told(state: LoopState, evidence: Evidence, hypotheses: list[Hypothesis]) -> list[Hypothesis]:
    """Each SSO hypothesis with the seeds' summary: what broke, since when, last success, IdP."""
    logins, check = evidence.logins, evidence.sso
    vendor = (check.data.vendor if check is not None else None) or (
        (state.account or {}).get("idp") or {}
    ).get("vendor")
    last = (
        logins.data.last_success.ts if logins is not None and logins.data.last_success is not None else None
    )
    not_read = _not_read(state, evidence)
    read = "Where each value was read: " + " | ".join(_sources(evidence)) if evidence.idp_app else None
    for h in hypotheses:
        for line in (not_read, read):
            if line and line not in h.note:
                h.note = f"{h.note} {line}".strip()
        parts = [_what_broke(h, evidence, state.ticket.created_at)]
        if logins is not None:
            parts.append(
                f"customer last logged in successfully on {_spoken_day(last)}"
                if last
                else "no successful login in the last 7 days"
            )
        if vendor:
            parts.append(f"IdP is {VENDOR_NAMES.get(vendor, vendor)}")
        h.summary = ", ".join(parts) + "."
    return hypotheses
