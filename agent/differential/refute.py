"""What speaks *against* each kind of cause, read from the evidence the differential collected.

A ranked hypothesis is only useful to a support engineer with the facts that argue
against it: "billing? the subscription is active", "their endpoint? the platform
failed 40 % of every account's deliveries in that hour". Each check here reads one
typed result and cites the value that refutes a category, so the refutation is
grounded like any evidence. Nothing here changes which cause is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from casefile.agent.differential.evidence import Cited, Evidence
from casefile.agent.differential.model import Cite, Differential

__all__ = ["refutations"]

_BILLING = ("billing_past_due", "billing_canceled", "billing_card_declined")


def _cite(result: Cited[Any], value: str, claim: str, field: str | None = None) -> list[Cite]:
    return [Cite(call_id=result.call_id, tool=result.tool, value=value, field=field, claim=claim)]


def _billing(evidence: Evidence, diff: Differential) -> list[Cite]:
    billing = evidence.billing
    sub = billing.data.subscription if billing is not None else None
    if billing is None or sub is None or not billing.data.in_good_standing:
        return []
    return _cite(
        billing, sub.status, f"the subscription is {sub.status} and billing is in good standing", "status"
    )


def _deploys(evidence: Evidence, diff: Differential) -> list[Cite]:
    if evidence.deploys is None or any(h.category == "deploy_regression" for h in diff.hypotheses):
        return []  # a deploy is a suspect: the others being ruled out says nothing against it
    # ``ruled_out`` starts with one line per ruled-out deploy, in the order of ``ruled_out_deploys``.
    return [
        Cite(
            call_id=evidence.deploys.call_id, tool=evidence.deploys.tool, value=sha, claim=f"ruled out: {why}"
        )
        for sha, why in zip(diff.ruled_out_deploys, diff.ruled_out, strict=False)
    ][:2]


def _not_shared(evidence: Evidence, diff: Differential) -> list[Cite]:
    top = evidence.top
    if top is None or not top.data.top:
        return []
    first = top.data.top[0]
    shared = top.data.shared(first.status, first.error_code)
    if shared is not None and shared.accounts > 0:
        return []
    value = first.error_code or str(first.status)
    if len(value) < 2:
        return []
    return _cite(
        top,
        value,
        f"no other account gets {first.status} {first.error_code}".rstrip() + ": not platform-wide",
    )


def _errors_seen(evidence: Evidence, diff: Differential) -> list[Cite]:
    return [c.model_copy(update={"claim": f"errors are elevated: {c.claim}"}) for c in diff.own_errors[:1]]


def _hooks_platform_fine(evidence: Evidence, diff: Differential) -> list[Cite]:
    hooks = evidence.webhooks_interval or evidence.webhooks
    platform = hooks.data.platform if hooks is not None else None
    if hooks is None or platform is None or not platform.attempts or platform.failure_rate >= 0.05:
        return []
    return _cite(
        hooks,
        str(platform.attempts),
        f"the platform delivered other accounts' webhooks normally ({platform.failure_rate:.1%} failed)",
        "platform.attempts",
    )


def _hooks_platform_failing(evidence: Evidence, diff: Differential) -> list[Cite]:
    hooks = evidence.webhooks_interval or evidence.webhooks
    platform = hooks.data.platform if hooks is not None else None
    if hooks is None or platform is None or platform.failure_rate < 0.2:
        return []
    return _cite(
        hooks,
        str(platform.failures),
        "deliveries to other accounts failed in the same interval: the platform, not their endpoint",
        "platform.failures",
    )


def _cert_valid(evidence: Evidence, diff: Differential) -> list[Cite]:
    check = evidence.sso
    if check is None or check.data.signing_cert_expired:
        return []
    valid = next((c for c in check.data.certificates if c.use != "encryption" and not c.expired), None)
    if valid is None or not valid.not_after:
        return []
    return _cite(check, valid.not_after, "the IdP's signing certificate is valid until then")


def _cert_published(evidence: Evidence, diff: Differential) -> list[Cite]:
    check = evidence.sso
    if check is None or not check.data.configured_cert_present or not check.data.configured_cert_sha1:
        return []
    return _cite(
        check,
        check.data.configured_cert_sha1,
        "the certificate we trust is still published in the IdP metadata",
    )


def _logins_succeed(evidence: Evidence, diff: Differential) -> list[Cite]:
    logins = evidence.logins
    if logins is None or logins.data.failures or not logins.data.attempts:
        return []
    return _cite(logins, str(logins.data.attempts), "SSO logins in the window all succeeded", "attempts")


Check = Callable[[Evidence, Differential], list[Cite]]
_CHECKS: dict[str, tuple[Check, ...]] = {
    **{category: (_billing,) for category in _BILLING},
    "deploy_regression": (_deploys,),
    "platform_incident": (_not_shared,),
    "no_issue_found": (_errors_seen,),
    "webhook_platform": (_hooks_platform_fine,),
    "webhook_customer_endpoint": (_hooks_platform_failing,),
    "sso_certificate_expired": (_cert_valid, _logins_succeed),
    "sso_certificate_mismatch": (_cert_published, _logins_succeed),
    "sso_config": (_logins_succeed,),
    "sso_clock_skew": (_logins_succeed,),
}


def refutations(evidence: Evidence, diff: Differential) -> dict[str, list[Cite]]:
    """Category → the cited facts against it (only categories something refutes)."""
    found: dict[str, list[Cite]] = {}
    for category, checks in _CHECKS.items():
        cites = [cite for check in checks for cite in check(evidence, diff)]
        if cites:
            found[category] = cites
    return found
