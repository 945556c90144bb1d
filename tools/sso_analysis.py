"""What an IdP's metadata says about a customer's SSO: certificates, configuration, changes.

Pure functions (no I/O): :func:`analyse` builds the ``sso_check`` result from parsed
metadata, the account's configuration and the last working snapshot, if any.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from casefile.tools.sso_metadata import CertificateInfo, IdPMetadata, format_sha1

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "VENDOR_NAMES",
    "ago",
    "analyse",
    "describe_certificate",
    "diff_metadata",
    "guess_vendor",
    "spoken_day",
]

# Certificates expiring within this many days are reported as a problem ahead of time.
EXPIRY_WARNING_DAYS = 30

_VENDOR_MARKERS: list[tuple[str, tuple[str, ...]]] = [
    ("okta", ("okta.com", "oktapreview.com", "okta-emea.com")),
    ("entra", ("sts.windows.net", "login.microsoftonline.com", "login.microsoftonline.us", "windows.net")),
    ("google", ("accounts.google.com",)),
    ("onelogin", ("onelogin.com",)),
    ("adfs", ("/adfs/",)),
    # PingOne's entity ID is auth.pingone.<region>/<environment>; PingFederate's SSO service /idp/SSO.saml2.
    ("ping", ("pingone.", "pingidentity.com", "/idp/sso.saml2")),
    # A Keycloak realm's descriptor: entity ID <host>/realms/<realm>, endpoints …/protocol/saml.
    ("keycloak", ("/realms/", "/protocol/saml")),
    ("shibboleth", ("/idp/shibboleth", "/idp/profile/", "shibboleth")),
    ("jumpcloud", ("jumpcloud.com",)),
    ("auth0", ("auth0.com",)),
]
VENDOR_NAMES = {
    "okta": "Okta",
    "entra": "Microsoft Entra ID",
    "google": "Google Workspace",
    "onelogin": "OneLogin",
    "adfs": "AD FS",
    "shibboleth": "Shibboleth",
    "jumpcloud": "JumpCloud",
    "auth0": "Auth0",
    "ping": "Ping Identity",
    "keycloak": "Keycloak",
}


def guess_vendor(entity_id: str, urls: list[str]) -> str | None:
    """Best guess of the IdP product from its entityID and endpoint URLs, else None."""
    haystack = " ".join([entity_id, *urls]).lower()
    for vendor, markers in _VENDOR_MARKERS:
        if any(marker in haystack for marker in markers):
            return vendor
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def spoken_day(moment: datetime) -> str:
    """'March 3rd': the day a person would say (UTC)."""
    day = moment.astimezone(UTC).day
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{moment.astimezone(UTC):%B} {day}{suffix}"


def ago(delta_s: float) -> str:
    """'9 hours ago' / 'in 3 days' for a signed number of seconds (negative: past)."""
    seconds = abs(delta_s)
    if seconds < 3600:
        amount, unit = max(1, round(seconds / 60)), "minute"
    elif seconds < 86400:
        amount, unit = round(seconds / 3600), "hour"
    else:
        amount, unit = int(seconds // 86400), "day"
    text = f"{amount} {unit}{'s' if amount != 1 else ''}"
    return f"{text} ago" if delta_s < 0 else f"in {text}"


def describe_certificate(cert: CertificateInfo, now: datetime, configured_sha1: str | None) -> dict[str, Any]:
    """The contract's certificate record; ``days_left`` is whole days, floored (negative when expired)."""
    remaining = cert.not_after - now
    return {
        "use": cert.use,
        "for_signing": cert.for_signing,
        "subject": cert.subject,
        "not_before": _iso(cert.not_before),
        "not_after": _iso(cert.not_after),
        "days_left": remaining.days,
        "expired": cert.not_after <= now,
        "sha1": cert.sha1,
        "key": cert.key,
        "matches_configured": bool(configured_sha1) and cert.sha1 == format_sha1(configured_sha1 or ""),
    }


def _signing_keys(meta: IdPMetadata) -> list[str]:
    return sorted({c.key for c in meta.certificates if c.for_signing and c.key})


def diff_metadata(current: IdPMetadata, previous: IdPMetadata) -> dict[str, Any]:
    """What changed between two metadata documents: certificates, entity ID, SSO endpoints,
    NameID formats and signing algorithm (declared methods and the signing keys' kind)."""
    now_certs = {c.sha1 for c in current.certificates}
    then_certs = {c.sha1 for c in previous.certificates}
    added = sorted(now_certs - then_certs)
    removed = sorted(then_certs - now_certs)
    changes: list[dict[str, str]] = []
    if added or removed:
        changes.append(
            {
                "what": "certificate",
                "before": ", ".join(sorted(then_certs)),
                "after": ", ".join(sorted(now_certs)),
            }
        )
    for what, before, after in (
        ("entity ID", previous.entity_id, current.entity_id),
        (
            "SSO URLs",
            ", ".join(sorted(u["location"] for u in previous.sso_urls)),
            ", ".join(sorted(u["location"] for u in current.sso_urls)),
        ),
        ("NameID format", ", ".join(previous.nameid_formats), ", ".join(current.nameid_formats)),
        ("signing algorithm", ", ".join(previous.signing_methods), ", ".join(current.signing_methods)),
        ("signing key", ", ".join(_signing_keys(previous)), ", ".join(_signing_keys(current))),
    ):
        if before != after:
            changes.append({"what": what, "before": before, "after": after})
    urls_changed = any(c["what"] == "SSO URLs" for c in changes)
    return {
        "available": True,
        "changed": bool(changes),
        "changes": changes,
        "added_certs": added,
        "removed_certs": removed,
        "sso_urls_changed": urls_changed,
        "entity_id_changed": current.entity_id != previous.entity_id,
    }


def _problems(
    meta: IdPMetadata,
    certs: list[dict[str, Any]],
    now: datetime,
    configured: str | None,
    configured_present: bool,
    account_entity_id: str | None,
    diff: dict[str, Any],
) -> list[str]:
    problems: list[str] = []
    for cert, info in zip(meta.certificates, certs, strict=True):
        role = "signing" if cert.use == "signing" else ("encryption" if cert.use else "signing/encryption")
        delta = (cert.not_after - now).total_seconds()
        if info["expired"]:
            text = f"{role} certificate {cert.subject} expired {info['not_after']} ({ago(delta)})"
            if info["for_signing"] and any(c["for_signing"] and not c["expired"] for c in certs):
                text += "; another signing certificate is still valid"
            problems.append(text)
        elif info["days_left"] < EXPIRY_WARNING_DAYS:
            problems.append(f"{role} certificate {cert.subject} expires {info['not_after']} ({ago(delta)})")
    signing = [c for c in certs if c["for_signing"]]
    if not signing:
        problems.append("the IdP metadata lists no signing certificate")
    elif all(c["expired"] for c in signing) and len(signing) > 1:
        problems.append("every signing certificate in the IdP metadata has expired")
    if configured and not configured_present:
        problems.append(
            f"configured certificate {configured} is no longer in the IdP metadata: "
            "rotated at the IdP but not on our side"
        )
    if account_entity_id and meta.entity_id != account_entity_id:
        problems.append(f"IdP entityID is {meta.entity_id} but we are configured for {account_entity_id}")
    if meta.valid_until:
        try:
            valid_until = datetime.fromisoformat(meta.valid_until.replace("Z", "+00:00"))
        except ValueError:
            valid_until = None
        if valid_until is not None and valid_until.tzinfo is not None and valid_until <= now:
            problems.append(f"the metadata itself expired (validUntil {meta.valid_until})")
    if diff.get("available"):
        problems += [
            f"{c['what']} differs from the last working snapshot: {c['before'] or 'none'} -> {c['after'] or 'none'}"
            for c in diff.get("changes", [])
            if c["what"] != "certificate"
        ]
    return problems


def analyse(
    meta: IdPMetadata,
    *,
    now: datetime,
    account_id: str,
    metadata_url: str,
    idp_config: Mapping[str, Any],
    previous: IdPMetadata | None,
    previous_error: str | None = None,
    previous_source: str | None = None,
) -> dict[str, Any]:
    """Build the ``sso_check`` result from parsed metadata (pure: no I/O)."""
    configured_raw = idp_config.get("configured_cert_sha1")
    configured = format_sha1(configured_raw) if configured_raw else None
    certs = [describe_certificate(c, now, configured) for c in meta.certificates]
    configured_present = any(c["matches_configured"] for c in certs)
    signing = [c for c in certs if c["for_signing"]]
    matched_signing = [c for c in signing if c["matches_configured"]]
    # The IdP signs with one key; when our configured one is listed, that is the one
    # that matters, otherwise the metadata is only usable if some signing cert is valid.
    if matched_signing:
        signing_expired = all(c["expired"] for c in matched_signing)
    else:
        signing_expired = bool(signing) and all(c["expired"] for c in signing)
    if previous is not None:
        diff = {**diff_metadata(meta, previous), "source": previous_source}
    else:
        diff = {
            "available": False,
            "changed": None,
            "added_certs": [],
            "removed_certs": [],
            "sso_urls_changed": None,
            "reason": previous_error or "no last working snapshot configured",
        }
    vendor = guess_vendor(meta.entity_id, [u["location"] for u in meta.sso_urls] + [metadata_url])
    return {
        "account_id": account_id,
        "metadata_url": metadata_url,
        "entity_id": meta.entity_id,
        "vendor": vendor or idp_config.get("vendor"),
        "valid_until": meta.valid_until,
        "sso_urls": meta.sso_urls,
        "nameid_formats": meta.nameid_formats,
        "signing_methods": meta.signing_methods,
        "certificates": certs,
        "configured_cert_sha1": configured,
        "configured_cert_present": configured_present,
        "signing_cert_expired": signing_expired,
        "diff_vs_last_working": diff,
        "problems": _problems(
            meta, certs, now, configured, configured_present, idp_config.get("entity_id"), diff
        ),
    }
