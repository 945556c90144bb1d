"""SSO connector: the customer's SAML IdP metadata, read safely, and what it says.

``sso_check`` answers "why can't this customer log in with SSO?" from the IdP's
own published metadata: which certificates it signs with, when they expire,
whether the certificate we have configured is still among them, which SSO
endpoints it lists, and what changed since the last snapshot that worked.

Two safety rules shape this module:

* **Only the configured URL is fetched.** The metadata URL comes from the
  account directory (``account["idp"]["metadata_url"]``); the argument model has
  no URL field, so neither a model nor ticket text can point the fetch anywhere.
* **SSRF guard.** Even a configured URL is refused (:class:`UnsafeMetadataURL`)
  unless it is ``https``, names a host (never an IP literal) and that host
  resolves only to globally routable unicast addresses. Redirects are not
  followed by the HTTP client; at most :data:`MAX_REDIRECTS` are followed by
  hand, each target checked like the first URL.

  Known limit: the address check and the connection resolve the name
  separately (a DNS-rebinding window). Closing it needs connecting to the
  checked address with the original SNI, which httpx does not offer simply;
  deployments that need it should route egress through a proxy that enforces
  the same rule.

Metadata is parsed with lxml configured not to resolve entities, not to touch
the network and not to lift its size limits, and any document with a DOCTYPE is
refused outright: SAML metadata never needs one, and it is how XXE and
"billion laughs" documents arrive.

The last working snapshot (``account["idp"]["last_working_snapshot"]``, e.g.
``sso/initech-okta.xml``) is a file path relative to ``snapshot_dir``: the world
directory in world mode, a directory of saved metadata in live mode. Paths that
escape that directory are ignored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from lxml import etree

from casefile.tools.base import (
    AccountId,
    CallContext,
    Connector,
    LinkContext,
    SourceLink,
    StandIns,
    ToolArgs,
    ToolOutcome,
    operation,
)
from casefile.tools.errors import (
    ReadOnlyViolation,
    SourceMalformed,
    SourceNotFound,
    SourceRateLimited,
    SourceTimeout,
    SourceTooLarge,
    SourceUnavailable,
    ToolError,
)
from casefile.tools.retry import RetryableError, call_with_retry, is_retryable_status, parse_retry_after
from casefile.tools.settings import ConnectorSettings, SSOSettings

__all__ = [
    "MAX_REDIRECTS",
    "CertificateInfo",
    "IdPMetadata",
    "MetadataError",
    "SSOCheckArgs",
    "SSOConnector",
    "UnsafeMetadataURL",
    "check_public_address",
    "describe_certificate",
    "format_sha1",
    "guess_vendor",
    "parse_idp_metadata",
]

SOURCE = "sso"
MAX_REDIRECTS = 3
# Certificates expiring within this many days are reported as a problem ahead of time.
EXPIRY_WARNING_DAYS = 30

MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_NS = {"md": MD_NS, "ds": DS_NS}

Resolver = Callable[[str], list[str]]


class UnsafeMetadataURL(ToolError):
    """The configured metadata URL (or a redirect target) may not be fetched.

    Raised before any request is sent: not https, an IP literal, a host that
    resolves to a private, loopback, link-local, reserved or multicast address,
    a host that does not resolve, or too many redirects. It is a configuration
    or safety problem, not an outage, so it is not a ``SourceError``.
    """

    kind = "unsafe_url"


class MetadataError(ValueError):
    """The bytes are not usable SAML IdP metadata (the message says why)."""


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class CertificateInfo:
    """One X.509 certificate from an ``md:IDPSSODescriptor/md:KeyDescriptor``."""

    use: str | None  # "signing", "encryption", or None: no use attribute, so both
    subject: str
    not_before: datetime
    not_after: datetime
    sha1: str  # colon-separated upper-case hex, as admin consoles show it

    @property
    def for_signing(self) -> bool:
        return self.use in (None, "signing")


@dataclass(frozen=True)
class IdPMetadata:
    """The parts of an IdP's metadata document that an SSO diagnosis needs."""

    root_element: str
    entity_count: int
    entity_id: str
    valid_until: str | None
    sso_urls: list[dict[str, str]]
    certificates: list[CertificateInfo] = field(default_factory=list)


def _safe_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network, libxml2's default size limits kept.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_pis=True,
    )


def format_sha1(der: bytes | str) -> str:
    """SHA-1 of a DER certificate (or normalise a hex fingerprint) as ``AB:CD:…``."""
    if isinstance(der, str):
        hex_digits = "".join(ch for ch in der if ch not in ": \t\n").upper()
    else:
        digest = hashes.Hash(hashes.SHA1())
        digest.update(der)
        hex_digits = digest.finalize().hex().upper()
    return ":".join(hex_digits[i : i + 2] for i in range(0, len(hex_digits), 2))


def _load_certificate(text: str, use: str | None) -> CertificateInfo:
    # Many IdPs wrap the base64 (newlines, spaces, even tabs): drop all whitespace first.
    compact = "".join(text.split())
    try:
        der = base64.b64decode(compact, validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as exc:
        raise MetadataError(f"an X509Certificate is not a valid DER certificate ({exc})") from None
    return CertificateInfo(
        use=use,
        subject=cert.subject.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha1=format_sha1(der),
    )


def _pick_entity(root: etree._Element, entity_id: str | None) -> tuple[etree._Element, int]:
    tag = etree.QName(root).localname
    if tag == "EntityDescriptor":
        entities = [root]
    elif tag == "EntitiesDescriptor":
        # Nested EntitiesDescriptor groups are allowed by the schema; search them all.
        entities = list(root.iter(f"{{{MD_NS}}}EntityDescriptor"))
    else:
        raise MetadataError(f"root element is {tag}, not EntityDescriptor or EntitiesDescriptor")
    idps = [e for e in entities if e.find("md:IDPSSODescriptor", _NS) is not None]
    if not idps:
        raise MetadataError("no entity in the document has an IDPSSODescriptor")
    if entity_id:
        for entity in idps:
            if entity.get("entityID") == entity_id:
                return entity, len(entities)
    return idps[0], len(entities)


def parse_idp_metadata(data: bytes, *, entity_id: str | None = None) -> IdPMetadata:
    """Parse SAML 2.0 IdP metadata safely.

    Accepts an ``EntityDescriptor`` or an ``EntitiesDescriptor`` (then the entity
    whose ``entityID`` is ``entity_id``, else the first with an
    ``IDPSSODescriptor``). Only certificates under
    ``md:IDPSSODescriptor/md:KeyDescriptor`` count; those in the document's own
    signature or in WS-Federation ``RoleDescriptor`` elements are ignored.
    Raises :class:`MetadataError` for anything unusable, DOCTYPEs included.
    """
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise MetadataError("document has a DOCTYPE/ENTITY declaration; refused (XXE / entity expansion)")
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        raise MetadataError(f"not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MetadataError("document has a DOCTYPE; refused")
    entity, count = _pick_entity(root, entity_id)
    idp = entity.find("md:IDPSSODescriptor", _NS)
    assert idp is not None  # _pick_entity only returns entities that have one

    sso_urls = [
        {"binding": el.get("Binding", ""), "location": el.get("Location", "")}
        for el in idp.findall("md:SingleSignOnService", _NS)
    ]
    certificates: list[CertificateInfo] = []
    for key in idp.findall("md:KeyDescriptor", _NS):
        use = key.get("use") or None
        for cert_el in key.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS):
            # itertext() skips comments, which some IdPs put inside the element.
            certificates.append(_load_certificate("".join(cert_el.itertext()), use))
    return IdPMetadata(
        root_element=etree.QName(root).localname,
        entity_count=count,
        entity_id=entity.get("entityID", ""),
        valid_until=entity.get("validUntil") or root.get("validUntil"),
        sso_urls=sso_urls,
        certificates=certificates,
    )


# --------------------------------------------------------------------------- analysis

_VENDOR_MARKERS: list[tuple[str, tuple[str, ...]]] = [
    ("okta", ("okta.com", "oktapreview.com", "okta-emea.com")),
    ("entra", ("sts.windows.net", "login.microsoftonline.com", "login.microsoftonline.us", "windows.net")),
    ("google", ("accounts.google.com",)),
    ("onelogin", ("onelogin.com",)),
    ("adfs", ("/adfs/",)),
    ("shibboleth", ("/idp/shibboleth", "/idp/profile/", "shibboleth")),
]


def guess_vendor(entity_id: str, urls: list[str]) -> str | None:
    """Best guess of the IdP product from its entityID and endpoint URLs, else None."""
    haystack = " ".join([entity_id, *urls]).lower()
    for vendor, markers in _VENDOR_MARKERS:
        if any(marker in haystack for marker in markers):
            return vendor
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ago(delta_s: float) -> str:
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
        "matches_configured": bool(configured_sha1) and cert.sha1 == format_sha1(configured_sha1 or ""),
    }


def _diff(current: IdPMetadata, previous: IdPMetadata) -> dict[str, Any]:
    now_certs = {c.sha1 for c in current.certificates}
    then_certs = {c.sha1 for c in previous.certificates}
    added = sorted(now_certs - then_certs)
    removed = sorted(then_certs - now_certs)
    urls_changed = sorted((u["binding"], u["location"]) for u in current.sso_urls) != sorted(
        (u["binding"], u["location"]) for u in previous.sso_urls
    )
    entity_changed = current.entity_id != previous.entity_id
    return {
        "available": True,
        "changed": bool(added or removed or urls_changed or entity_changed),
        "added_certs": added,
        "removed_certs": removed,
        "sso_urls_changed": urls_changed,
        "entity_id_changed": entity_changed,
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
            text = f"{role} certificate {cert.subject} expired {info['not_after']} ({_ago(delta)})"
            if info["for_signing"] and any(c["for_signing"] and not c["expired"] for c in certs):
                text += "; another signing certificate is still valid"
            problems.append(text)
        elif info["days_left"] < EXPIRY_WARNING_DAYS:
            problems.append(f"{role} certificate {cert.subject} expires {info['not_after']} ({_ago(delta)})")
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
    if diff.get("available") and diff.get("sso_urls_changed"):
        problems.append("SSO endpoint URLs differ from the last working snapshot")
    if diff.get("available") and diff.get("entity_id_changed"):
        problems.append("entityID differs from the last working snapshot")
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
        diff = _diff(meta, previous)
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
        "certificates": certs,
        "configured_cert_sha1": configured,
        "configured_cert_present": configured_present,
        "signing_cert_expired": signing_expired,
        "diff_vs_last_working": diff,
        "problems": _problems(
            meta, certs, now, configured, configured_present, idp_config.get("entity_id"), diff
        ),
    }


# --------------------------------------------------------------------------- fetching


def _refuse(url: str, why: str) -> UnsafeMetadataURL:
    return UnsafeMetadataURL(SOURCE, f"metadata URL {url} refused: {why}; nothing was fetched")


# IPv6 ranges that carry an IPv4 address a packet may end up at: reaching the IPv6 address can
# reach that IPv4 host (127.0.0.1 behind 2002:7f00:1::, 64:ff9b::a9fe:a9fe, …).
_IPV4_EMBEDDING = tuple(
    (ipaddress.IPv6Network(net), label)
    for net, label in (
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("::/96", "IPv4-compatible"),
        ("::ffff:0:0:0/96", "IPv4-translated"),
        ("64:ff9b::/96", "NAT64"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("2002::/16", "6to4"),
        ("2001::/32", "Teredo"),
    )
)
# Global unicast IPv6 is 2000::/3 (RFC 4291); anything else is not a public host.
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
# Not hosts anyone serves metadata from: IETF protocol assignments (192.0.0.0/24, some of which
# Python counts as global) and the 6to4 anycast prefix, which forwards into 6to4.
_IPV4_NOT_HOSTS = (
    (ipaddress.IPv4Network("192.0.0.0/24"), "an IETF protocol assignment"),
    (ipaddress.IPv4Network("192.88.99.0/24"), "the 6to4 anycast prefix"),
)


def check_public_address(address: str) -> str | None:
    """Why an address may not be contacted (None when it is a global unicast address).

    Refused: every non-global address (loopback, private, link-local, shared, reserved,
    documentation, benchmarking, multicast, unspecified), and every IPv6 form that embeds an
    IPv4 address (mapped, compatible, translated, NAT64, 6to4, Teredo), whatever that IPv4 is.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    for label, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("unspecified", ip.is_unspecified),
    ):
        if flag:
            return f"{ip} is a {label} address"
    if isinstance(ip, ipaddress.IPv6Address):
        for network, label in _IPV4_EMBEDDING:
            if ip in network:
                return f"{ip} is an {label} address (it embeds an IPv4 address)"
        if ip not in _IPV6_GLOBAL_UNICAST:
            return f"{ip} is not a global unicast address"
    else:
        for v4_network, label in _IPV4_NOT_HOSTS:
            if ip in v4_network:
                return f"{ip} is in {label}"
    if not ip.is_global:
        return f"{ip} is not a globally routable address"
    return None


def _system_resolver(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def _only_get(request: httpx.Request) -> None:
    if request.method != "GET":
        raise ReadOnlyViolation(SOURCE, f"{request.method} {request.url} refused: this connector only reads")


class SSOCheckArgs(ToolArgs):
    """Arguments of sso_check. There is deliberately no URL: it comes from the account directory."""

    account_id: AccountId


class SSOConnector(Connector):
    """Reads a customer's SAML IdP metadata from the URL configured for the account.

    ``transport`` replaces the network (a world's emulator, or a test mock);
    ``resolver`` maps a host name to its addresses for the SSRF check (the
    system resolver by default; a world passes ``WorldTransport.resolve`` or
    ``casefile.tools.world.emulate_idp.resolver``). ``snapshot_dir`` (else
    ``settings.snapshot_dir``) is where last-working snapshots live: the world
    directory in world mode, a directory of saved metadata in live mode.
    """

    source = SOURCE

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> SSOConnector:
        if world is None:
            return cls(settings.sso)
        # A world resolves its IdP hosts itself, and keeps last-working snapshots as files.
        return cls(
            settings.sso,
            transport=world.transport,
            resolver=getattr(world.transport, "resolve", None),
            snapshot_dir=world.path,
        )

    settings_key: ClassVar[str | None] = "sso"

    @classmethod
    def live_configured(cls, settings: ConnectorSettings) -> bool:
        return False  # needs no credentials: each account's metadata URL is in the account directory

    @classmethod
    def source_link(cls, outcome: ToolOutcome, context: LinkContext) -> SourceLink | None:
        """The IdP metadata document that was checked."""
        data = outcome.data if isinstance(outcome.data, dict) else {}
        url = data.get("metadata_url") or (context.account.get("idp") or {}).get("metadata_url")
        return SourceLink(label="IdP metadata", url=url) if url else None

    def __init__(
        self,
        settings: SSOSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        snapshot_dir: str | Path | None = None,
    ) -> None:
        self.settings = settings
        self._resolver = resolver or _system_resolver
        directory = snapshot_dir if snapshot_dir is not None else settings.snapshot_dir
        self._snapshot_dir = Path(directory) if directory is not None else None
        # Not tools.http.ReadOnlyHTTP: it turns a 3xx into an error without the Location,
        # and each hop here needs the SSRF check before it is requested. The same
        # read-only rule is applied by a request hook.
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=settings.timeout_s,
            follow_redirects=False,
            headers={"Accept": "application/samlmetadata+xml, application/xml, text/xml"},
            event_hooks={"request": [_only_get]},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise _refuse(url, f"scheme is {parts.scheme or 'missing'}, only https is allowed")
        host = parts.hostname
        if not host:
            raise _refuse(url, "no host")
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            raise _refuse(url, f"host {host} is an IP literal, a host name is required")
        try:
            addresses = await asyncio.to_thread(self._resolver, host)
        except (OSError, UnicodeError) as exc:
            raise _refuse(url, f"host {host} does not resolve ({exc})") from None
        if not addresses:
            raise _refuse(url, f"host {host} does not resolve")
        for address in addresses:
            why = check_public_address(address)
            if why:
                raise _refuse(url, f"host {host} resolves to {why}")

    async def _get_limited(self, url: str) -> httpx.Response | bytes:
        """One GET attempt: a redirect comes back as the response, a body as bytes within the cap."""
        limit = self.settings.max_metadata_bytes
        try:
            async with self._client.stream("GET", url) as response:
                if response.is_redirect:
                    return response
                status = response.status_code
                if status == 404:
                    raise SourceNotFound(SOURCE, f"metadata URL {url} answered 404")
                if is_retryable_status(status):
                    error_cls = SourceRateLimited if status == 429 else SourceUnavailable
                    raise RetryableError(
                        error_cls(SOURCE, f"metadata URL {url} answered HTTP {status}"),
                        retry_after=parse_retry_after(response.headers.get("retry-after")),
                    )
                if status >= 400:
                    raise SourceUnavailable(SOURCE, f"metadata URL {url} answered HTTP {status}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise SourceTooLarge(
                        SOURCE, f"metadata is {declared} bytes, more than the {limit} allowed"
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        # Stop reading: memory stays bounded whatever the server sends.
                        raise SourceTooLarge(SOURCE, f"metadata is more than the {limit} bytes allowed")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TimeoutException:
            raise RetryableError(
                SourceTimeout(SOURCE, f"no answer from {url} within {self.settings.timeout_s} s")
            ) from None
        except httpx.TransportError as exc:
            raise RetryableError(SourceUnavailable(SOURCE, f"{url}: {type(exc).__name__}")) from None

    async def _fetch(self, url: str) -> bytes:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            await self._check_url(current)
            got = await call_with_retry(SOURCE, functools.partial(self._get_limited, current))
            if isinstance(got, bytes):
                return got
            location = got.headers.get("location")
            if not location:
                raise SourceMalformed(SOURCE, f"{current} redirected without a Location")
            current = urljoin(current, location)
        raise _refuse(url, f"more than {MAX_REDIRECTS} redirects")

    def _load_snapshot(self, relative: str, entity_id: str | None) -> tuple[IdPMetadata | None, str | None]:
        if self._snapshot_dir is None:
            return None, "no snapshot directory configured"
        base = self._snapshot_dir.resolve()
        path = (base / relative).resolve()
        if not path.is_relative_to(base):
            return None, f"snapshot path {relative} is outside the snapshot directory"
        try:
            data = path.read_bytes()
        except OSError:
            return None, f"snapshot {relative} not found"
        try:
            return parse_idp_metadata(data, entity_id=entity_id), None
        except MetadataError as exc:
            return None, f"snapshot {relative} unreadable: {exc}"

    @operation("sso_check", SSOCheckArgs)
    async def sso_check(self, args: SSOCheckArgs, ctx: CallContext) -> dict[str, Any]:
        """Check a customer's SAML SSO setup against their IdP's live metadata.

        Use for "SSO login fails", "SAML error", "signature validation failed".
        Fetches the IdP metadata URL configured for the account (never a URL from
        the ticket) and reports: entityID, IdP vendor, SSO URLs, every IdP
        certificate with use, subject, validity dates, days left and SHA-1;
        whether the certificate we have configured is still published and
        whether the signing certificate has expired; the difference from the last
        metadata that worked; and a list of problems in plain words.
        """
        account = ctx.account_for(SOURCE, args.account_id)
        idp = account.get("idp")
        if not idp or not idp.get("metadata_url"):
            raise SourceNotFound(SOURCE, f"account {args.account_id} has no SAML IdP configured")
        url = str(idp["metadata_url"])
        data = await self._fetch(url)
        entity_id = idp.get("entity_id")
        try:
            meta = parse_idp_metadata(data, entity_id=entity_id)
        except MetadataError as exc:
            raise SourceMalformed(SOURCE, f"metadata from {url}: {exc}") from None
        previous: IdPMetadata | None = None
        previous_error: str | None = None
        if idp.get("last_working_snapshot"):
            previous, previous_error = self._load_snapshot(str(idp["last_working_snapshot"]), entity_id)
        return analyse(
            meta,
            now=ctx.now,
            account_id=args.account_id,
            metadata_url=url,
            idp_config=idp,
            previous=previous,
            previous_error=previous_error,
        )
