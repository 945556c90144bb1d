"""Source health: webhook endpoint, SSO, latency, the customer's own hosts (billing: ``billing.py``).

Each check reads one system's typed result and proposes what it shows, with the
values it rests on. Healthy results are observations too ("billing in good
standing"), which the no-issue hypothesis and the ruled-out list use.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from casefile.agent.differential.changes import correlate
from casefile.agent.differential.evidence import Evidence, failing_run
from casefile.agent.differential.model import Hypothesis, cite
from casefile.agent.differential.picture import ENDED_AFTER, ErrorPicture
from casefile.tools.base import iso, parse_ts

if TYPE_CHECKING:
    from casefile.agent.models.base import LoopState

__all__ = [
    "account_name",
    "cite",
    "healthy",
    "infra_causes",
    "sso_causes",
    "webhook_causes",
]

_DB_PORTS = {"5432", "3306", "6379", "27017", "1433", "1521", "9042", "5672", "9200", "11211"}
_CONNECT_CODES = {"ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "ECONNRESET"}


def account_name(state: LoopState) -> str:
    account = state.account or {}
    return str(account.get("name") or account.get("id") or "the account")


# A deploy at a bucket's very end went live in the next bucket.
_INSIDE = timedelta(seconds=1)


def webhook_causes(state: LoopState, evidence: Evidence) -> tuple[list[Hypothesis], list[str]]:
    full = evidence.webhooks
    if full is None or not full.data.attempts:
        return [], []
    narrow = evidence.webhooks_interval
    view = narrow or full
    d, fd = view.data, full.data
    platform = d.platform.failure_rate if d.platform else 0.0
    failing = d.attempts and (
        d.failure_rate >= 0.2 or (fd.failing_since is not None and fd.failure_rate >= 0.05)
    )
    # The failing run of the finest history at hand (the interval's buckets are the narrower ones).
    hours = failing_run(d.history) or failing_run(fd.history)
    last_bad = parse_ts(hours[-1].hour) if hours else None
    # The last failing bucket ends one bucket after its start.
    starts = [
        t for t in (parse_ts(h.hour) for h in (d.history if narrow else fd.history)[:2]) if t is not None
    ]
    bucket = starts[1] - starts[0] if len(starts) == 2 else ENDED_AFTER
    ended = last_bad is not None and state.ticket.created_at - (last_bad + bucket) > ENDED_AFTER
    who = account_name(state)
    urls = ", ".join(fd.endpoint_urls[:2]) or "their endpoint"
    top_status = next((s for s in fd.by_response_status if not 200 <= s.status < 300), None)
    top_error = next((e for e in fd.by_error if e.error), None)
    answer = (f"mostly HTTP {top_status.status}" if top_status and top_status.status else "") + (
        f"{', ' if top_status and top_status.status else ''}{top_error.error}" if top_error else ""
    )
    out: list[Hypothesis] = []
    notes: list[str] = []
    owner = state.catalog.owner("webhooks")
    if failing and platform >= 0.15:
        first_bad = parse_ts(hours[0].hour) if hours else None
        change = correlate(evidence, state.catalog, parse_ts(fd.failing_since) or first_bad, "webhooks")
        if change.suspect is None and first_bad is not None and not fd.failing_since:
            # Known to the bucket only, the onset is before the first failing bucket's end: a deploy
            # inside that bucket may have preceded the failures (one before it is surer), one at its end
            # went live in the next bucket, with the failures under way (a revert, often).
            change = correlate(evidence, state.catalog, first_bad + bucket - _INSIDE, "webhooks")
        suspect = change.suspect
        window = " in the same hours" if narrow else ""
        out.append(
            Hypothesis(
                category="webhook_platform",
                confidence=0.8 if narrow else 0.75,
                statement=(
                    f"Webhook deliveries failed for many customers, not just {who}: {platform:.0%} of other "
                    f"accounts' deliveries failed{window}"
                    + (f", and it ended by {iso(last_bad + bucket)}" if ended and last_bad else "")
                    + (
                        f"; deploy {suspect.label} went live at {suspect.deploy.created_at}, just before the failures began"
                        f" ({suspect.reason})"
                        if suspect
                        else ""
                    )
                    + "."
                ),
                summary="Webhook delivery failed on our side for many customers"
                + (" (ended)." if ended else "."),
                component="webhooks",
                reasons=["other accounts' deliveries failed in the same interval"],
                evidence=view.cite(
                    d.platform.failure_rate if d.platform else None,
                    "other accounts' failure rate in the interval",
                )
                + full.cite(
                    fd.failing_since,
                    f"deliveries failed from {fd.failing_since}",
                )
                + (
                    evidence.deploys.cite(
                        suspect.deploy.sha,
                        f"{suspect.label} went live at {suspect.deploy.created_at}",
                    )
                    if suspect and evidence.deploys
                    else []
                ),
                action="escalate",
                team=owner,
                deploy_sha=suspect.deploy.sha if suspect else None,
                reply=(
                    "Thanks for reporting this. We've confirmed a problem on our side that affected webhook deliveries for "
                    "several customers"
                    + (" and has since been fixed" if ended else "; our engineers are on it")
                    + ". Failed events are retried automatically; we'll confirm once everything has been redelivered."
                ),
                note=f"Platform webhook failure rate {platform:.1%} in the failing interval.",
            )
        )
    elif failing:
        out.append(
            Hypothesis(
                category="webhook_customer_endpoint",
                confidence=0.85 if narrow or platform < 0.05 else 0.7,
                statement=(
                    f"We are delivering {who}'s webhooks, but {urls} has been failing since {fd.failing_since} "
                    f"({fd.failures} of {fd.attempts} attempts{', ' + answer if answer else ''}), while other customers' "
                    f"deliveries succeed ({platform:.1%} failures)."
                ),
                summary="Webhooks fail at the customer's endpoint; our delivery is healthy.",
                component="customer webhook endpoint",
                reasons=[
                    "failures are confined to this customer's endpoint",
                    "other accounts' failure rate is normal in the same interval",
                ],
                evidence=full.cite(
                    fd.failing_since,
                    f"deliveries have failed since {fd.failing_since}",
                )
                + full.cite(
                    top_status.status if top_status and top_status.status else None,
                    "the endpoint's answer",
                )
                + full.cite(
                    top_error.error if top_error else None,
                    "how attempts end",
                )
                + full.cite(
                    fd.endpoint_urls[0] if fd.endpoint_urls else None,
                    "the endpoint",
                ),
                action="resolve",
                team=owner,
                reply=(
                    f"Thanks for reaching out. We've checked our delivery logs: we kept sending your events, but since "
                    f"{fd.failing_since} your endpoint {urls} has {'been answering ' + answer if answer else 'been failing'}, "
                    "while deliveries to other customers work. Could you check that endpoint (server health, firewall, TLS "
                    "certificate, recent changes on your side)? Failed events are retried, and you can replay older ones."
                ),
                note=f"Customer endpoint failing since {fd.failing_since}; platform failure rate {platform:.1%}.",
            )
        )
    elif fd.failure_rate < 0.02:
        p95 = [h.p95_ms for h in fd.history if h.p95_ms is not None]
        slow = len(p95) >= 4 and max(p95[len(p95) // 2 :]) >= 3 * max(
            1.0, sorted(p95[: len(p95) // 2])[len(p95) // 4]
        )
        if slow:
            out.append(
                Hypothesis(
                    category="webhook_customer_endpoint",
                    confidence=0.6,
                    statement=f"{who}'s webhooks are delivered, but {urls} answers ever more slowly (p95 up to {max(p95):.0f} ms): delays, not failures.",
                    summary="Webhook deliveries are slow at the customer's endpoint, not failing.",
                    component="customer webhook endpoint",
                    reasons=["deliveries succeed", "the endpoint's response time rose"],
                    evidence=full.cite(
                        f"{max(p95):g}",
                        "the endpoint's slowest hourly p95",
                    ),
                    action="resolve",
                    team=owner,
                    reply=f"Thanks for reaching out. Your webhook events are being delivered, but {urls} has been answering slowly (up to {max(p95):.0f} ms), which delays processing on your side. Could you check that endpoint's load?",
                    note="Webhook endpoint slow, deliveries succeed.",
                )
            )
        else:
            notes.append(
                f"webhooks delivered normally ({fd.attempts} attempts, {fd.failure_rate:.1%} failures)"
            )
    for h in out:
        h.failing_share = d.failure_rate if h.category == "webhook_platform" else fd.failure_rate
    return out, notes


_SSO_CONFIG = re.compile(
    r"destination|recipient|acs|audience|assign|not assigned|entity ?id|issuer|redirect_uri|nameid|attribute|aadsts|"
    r"invalid_client|unauthorized_client|consent|not allowed|not permitted|user .* not|"
    # an IdP saying our app is not set up (for the user, the domain, the tenant) is their configuration
    r"not configured|not enabled|not provisioned|misconfigur|not set up|"
    # the IdP's own access policy refusing the user (AD FS reports it as MSISnnnn, Entra as AADSTSnnnnn)
    r"msis\d{4}|access (?:control )?polic|authori[sz]ation (?:failed|denied)|access denied|denied (?:the |this )?user",
    re.IGNORECASE,
)
_SSO_CLOCK = re.compile(r"clock|skew|notbefore|notonorafter|not yet valid|expired assertion", re.IGNORECASE)
_SSO_CERT = re.compile(r"signature|certificate|cert\b|x509|fingerprint", re.IGNORECASE)


def sso_causes(state: LoopState, evidence: Evidence) -> tuple[list[Hypothesis], list[str]]:
    logins, check = evidence.logins, evidence.sso
    out: list[Hypothesis] = []
    notes: list[str] = []
    owner = state.catalog.owner("auth")
    if check is not None and check.data.signing_cert_expired:
        expired = next((c for c in check.data.certificates if c.expired and c.use != "encryption"), None)
        out.append(
            Hypothesis(
                category="sso_certificate_expired",
                confidence=0.85,
                statement=f"The signing certificate in {account_name(state)}'s IdP metadata expired"
                + (f" on {expired.not_after}" if expired else "")
                + ", so every assertion it signs is rejected.",
                summary="SSO fails because the IdP signing certificate expired.",
                component="customer IdP signing certificate",
                evidence=check.cite(
                    expired.not_after if expired else None,
                    "the certificate's expiry",
                ),
                action="resolve",
                team=owner,
                reply="Thanks for flagging this. The signing certificate in your identity provider has expired, so sign-in assertions can no longer be trusted. Generate a new signing certificate in your IdP and upload it (or the new metadata) in your SSO settings with us; sign-in works again right after.",
            )
        )
    elif check is not None and check.data.configured_cert_present is False:
        out.append(
            Hypothesis(
                category="sso_certificate_mismatch",
                confidence=0.8,
                statement=f"{account_name(state)}'s IdP signs with a new certificate; the one we trust ({check.data.configured_cert_sha1}) is no longer published.",
                summary="SSO fails: the certificate was rotated at the IdP, not on our side.",
                component="SSO configuration",
                evidence=check.cite(check.data.configured_cert_sha1, "the certificate we trust"),
                action="resolve",
                team=owner,
                reply="Thanks for reaching out. Your identity provider now signs with a new certificate, but your SSO settings with us still hold the old one. Upload the new certificate (or re-import the metadata) and sign-in will work again.",
            )
        )
    if logins is None or not logins.data.failures:
        if logins is not None and logins.data.attempts:
            notes.append(f"SSO logins succeed ({logins.data.attempts} attempts, none failed)")
        return out, notes
    d = logins.data
    error = next((e.error for e in d.top_errors if e.error), "") or ""
    share = (d.top_errors[0].count / d.failures) if d.top_errors and d.failures else 0.0
    skew = next(
        (f.clock_skew_s for f in d.recent_failures if f.clock_skew_s and abs(f.clock_skew_s) > 120), None
    )
    cites = logins.cite(error, f"failed logins report: {error}") + logins.cite(
        d.failing_since, f"logins fail since {d.failing_since}"
    )
    if skew is not None or _SSO_CLOCK.search(error):
        category, text, conf = (
            "sso_clock_skew",
            "the IdP's clock is off: assertions arrive outside their validity window",
            0.75,
        )
        reply = "Thanks for the report. The sign-in assertions from your identity provider carry timestamps outside their validity window; please make sure the IdP server's clock is synchronised (NTP). Sign-in works again right after."
    elif _SSO_CONFIG.search(error):
        category, text, conf = (
            "sso_config",
            "the IdP application is configured differently from what we expect",
            0.75 if share >= 0.6 else 0.6,
        )
        reply = (
            f'Thanks for reaching out. Sign-in fails with "{error}", which comes from the configuration of our app in '
            "your identity provider (for example a user who is not assigned to the app, or a wrong ACS / reply URL or "
            "audience). Please check the app's assignments and URLs in your IdP; nothing is failing on our side."
        )
    elif _SSO_CERT.search(error) and not out:
        category, text, conf = "sso_certificate_mismatch", "assertions fail signature checks", 0.55
        reply = "Thanks for the report. Sign-in assertions from your identity provider fail our signature check; if the IdP's signing certificate changed, please upload the new one in your SSO settings with us."
    else:
        notes.append(f"{d.failures} failed SSO logins ({error or 'no error text'})")
        return out, notes
    out.append(
        Hypothesis(
            category=category,
            confidence=conf,
            statement=f"{account_name(state)}'s SSO logins fail"
            + (f" since {d.failing_since}" if d.failing_since else "")
            + f' ({d.failures} of {d.attempts}): {text}; the error reads "{error}".',
            summary=f"SSO logins fail: {text}.",
            component="customer IdP configuration",
            reasons=["the login errors name the cause"],
            evidence=cites,
            action="resolve",
            team=owner,
            reply=reply,
            note=f"Top SSO error: {error}",
        )
    )
    return out, notes


def _foreign(host: str) -> bool:
    """A host that is the customer's own: a private address, or a database/queue port."""
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    try:
        private = ipaddress.ip_address(name or host).is_private
    except ValueError:
        private = (name or host) in ("localhost",) or (name or host).endswith(
            (".internal", ".local", ".lan", ".corp")
        )
    return private or port in _DB_PORTS


def infra_causes(state: LoopState, evidence: Evidence, picture: ErrorPicture) -> list[Hypothesis]:
    """The ticket's connection errors point at the customer's own host while our side is healthy."""
    codes = {c.upper() for c in state.signals.error_codes} & _CONNECT_CODES
    hosts = [h for h in state.signals.hosts if _foreign(h)]
    if not codes or not hosts or picture.elevated or evidence.summary is None:
        return []
    s = evidence.summary.data
    return [
        Hypothesis(
            category="customer_error",
            confidence=0.7,
            statement=(
                f"The {', '.join(sorted(codes))} errors in the ticket are about {', '.join(hosts[:2])}, a host on "
                f"{account_name(state)}'s own network, while their requests to our API are served normally "
                f"({s.requests} requests, {s.error_rate:.1%} errors, no spike)."
            ),
            summary="The customer's own infrastructure refuses connections; our API is healthy.",
            component="customer infrastructure",
            reasons=[
                "the refused host is a private address or a database port",
                "our API serves the account normally",
            ],
            evidence=evidence.summary.cite(s.requests, "requests served in the window"),
            action="resolve",
            reply=(
                f"Thanks for the details. The connection errors you quote are for {', '.join(hosts[:2])}, which is on your "
                "side (a private address or your own database), not our API, which is serving your requests normally. "
                "Please check that service is up and accepting connections; if our API returns errors too, send us a request id."
            ),
        )
    ]


def healthy(
    state: LoopState, evidence: Evidence, picture: ErrorPicture, notes: list[str]
) -> Hypothesis | None:
    s = evidence.summary
    if s is None or picture.elevated or s.data.spike is not None:
        return None
    checked = 1 + len(notes)
    confidence = 0.75 if s.data.requests else 0.5
    if checked >= 2:
        confidence += 0.05
    return Hypothesis(
        category="no_issue_found",
        confidence=round(confidence, 2),
        statement=(
            f"Nothing is failing for {account_name(state)} on our side: {s.data.requests} requests in the window with "
            f"{s.data.error_rate:.1%} errors (baseline {s.data.baseline.error_rate:.1%}) and no spike"
            + ("; " + "; ".join(notes) if notes else "")
            + "."
        ),
        summary="No problem found on our side; asked the customer for a concrete example.",
        component="none",
        reasons=["no error spike or elevated error class", *notes],
        evidence=s.cite(s.data.requests, "requests served in the window"),
        action="resolve",
        reply=(
            "Thanks for checking with us. We looked at your account: requests are being served normally and we see no "
            "incident on our side. So we can dig further, could you send an example (a request id or the exact time, the "
            "endpoint or page, and what you saw)?"
        ),
        note="Healthy on our side; asked for a request id or example.",
    )
