"""SSO connector: the customer's SAML IdP metadata, read safely, and what it says.

``sso_check`` answers "why can't this customer log in with SSO?" from the IdP's
own published metadata: which certificates it signs with, when they expire,
whether the certificate we have configured is still among them, which SSO
endpoints, NameID formats and signing algorithms it lists, whether our own ACS
endpoint answers, and what changed since the last configuration that worked.

Safety rules:

* **Only the configured URL is fetched.** The metadata URL comes from the
  account directory (``account["idp"]["metadata_url"]``); the argument model has
  no URL field, so neither a model nor ticket text can point the fetch anywhere.
* **SSRF guard** (``sso_address.py``): https only, a host name (never an IP
  literal) resolving only to global unicast addresses; at most
  :data:`MAX_REDIRECTS` redirects, followed by hand, each checked like the first.
  Each connection resolves the name once and connects only to an address it checked
  (``guarded_transport``), so a DNS server answering the check and the connection
  differently (DNS rebinding) reaches nothing. Through a proxy set in the environment,
  the proxy resolves the names and its egress rule is the guard.
* **Our ACS is probed only on our own origins**: ``settings.acs_origins`` (live),
  or a host the world serves. One GET; a SAML ACS answers it (405, 400, a
  redirect), a missing route answers 404, a broken one 5xx or nothing.

Last working configuration, in this order: the newest working document in the
snapshot history (``sso_history.py``: every check records what it fetched, in
casefile's database), else the file ``account["idp"]["last_working_snapshot"]``
relative to ``snapshot_dir`` (paths escaping it are ignored). A document that
differs from the one fetched for the same account minutes before says so: the
metadata changed while the investigation ran.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import httpx

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
)
from casefile.tools.retry import RetryableError, call_with_retry, is_retryable_status, parse_retry_after
from casefile.tools.settings import ConnectorSettings, SSOSettings
from casefile.tools.sso_address import (
    SOURCE,
    Resolver,
    UnsafeMetadataURL,
    check_public_address,
    guarded_transport,
    public_addresses,
    refuse,
    system_resolver,
)
from casefile.tools.sso_analysis import analyse, describe_certificate, diff_metadata, guess_vendor
from casefile.tools.sso_history import SnapshotHistory, digest_of
from casefile.tools.sso_metadata import (
    CertificateInfo,
    IdPMetadata,
    MetadataError,
    format_sha1,
    parse_idp_metadata,
)

__all__ = [
    "MAX_REDIRECTS",
    "CertificateInfo",
    "IdPMetadata",
    "MetadataError",
    "SSOCheckArgs",
    "SSOConnector",
    "UnsafeMetadataURL",
    "analyse",
    "check_public_address",
    "describe_certificate",
    "format_sha1",
    "guess_vendor",
    "parse_idp_metadata",
]

MAX_REDIRECTS = 3
# Two fetches of one account's metadata this close together belong to one investigation.
CHANGE_WINDOW_S = 900.0


async def _only_get(request: httpx.Request) -> None:
    if request.method != "GET":
        raise ReadOnlyViolation(SOURCE, f"{request.method} {request.url} refused: this connector only reads")


class SSOCheckArgs(ToolArgs):
    """Arguments of sso_check. There is deliberately no URL: it comes from the account directory."""

    account_id: AccountId


def _reader(transport: httpx.AsyncBaseTransport | None, timeout_s: float) -> httpx.AsyncClient:
    """A GET-only client that follows no redirect.

    Not tools.http.ReadOnlyHTTP: it turns a 3xx into an error without the Location, and each
    metadata hop needs the SSRF check before it is requested; the read-only rule is a request hook.
    """
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout_s,
        follow_redirects=False,
        headers={"Accept": "application/samlmetadata+xml, application/xml, text/xml"},
        event_hooks={"request": [_only_get]},
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class SSOConnector(Connector):
    """Reads a customer's SAML IdP metadata from the URL configured for the account.

    ``transport`` replaces the network (a world's emulator, or a test mock);
    ``resolver`` maps a host name to its addresses for the SSRF check (the
    system resolver by default; a world passes ``WorldTransport.resolve`` or
    ``casefile.tools.world.emulate_idp.resolver``). ``snapshot_dir`` (else
    ``settings.snapshot_dir``) is where last-working snapshot files live: the
    world directory in world mode, a directory of saved metadata in live mode.
    ``history`` keeps every fetched document (live mode: casefile's database; a
    world has none, so its evals never depend on the order its cases ran in).
    """

    source = SOURCE

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> SSOConnector:
        if world is None:
            url = (
                settings.sso.history_url
                or os.environ.get("CASEFILE_DATABASE_URL")
                or "sqlite:///.casefile/casefile.sqlite3"
            )
            return cls(settings.sso, history=SnapshotHistory(url))
        # A world resolves its IdP hosts itself, keeps last-working snapshots as files, and
        # serves our ACS endpoints on the hosts it knows.
        resolve = getattr(world.transport, "resolve", None)
        return cls(
            settings.sso,
            transport=world.transport,
            resolver=resolve,
            snapshot_dir=world.path,
            acs_host_known=(lambda host: bool(resolve(host))) if resolve is not None else None,
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
        history: SnapshotHistory | None = None,
        acs_host_known: Callable[[str], bool] | None = None,
    ) -> None:
        self.settings = settings
        self._resolver = resolver or system_resolver
        directory = snapshot_dir if snapshot_dir is not None else settings.snapshot_dir
        self._snapshot_dir = Path(directory) if directory is not None else None
        self._history = history
        self._acs_host_known = acs_host_known
        # account id -> (wall-clock time, digest, parsed document) of its latest fetch
        self._latest: dict[str, tuple[float, str, IdPMetadata]] = {}
        # The customer's IdP: every connection to an address the SSRF guard passed.
        self._client = _reader(transport or guarded_transport(self._resolver), settings.timeout_s)
        # Our own ACS origins only (never a customer's host), which may be on our network.
        self._acs_client = _reader(transport, settings.timeout_s)

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._acs_client.aclose()
        if self._history is not None:
            self._history.close()

    async def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise refuse(url, f"scheme is {parts.scheme or 'missing'}, only https is allowed")
        host = parts.hostname
        if not host:
            raise refuse(url, "no host")
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            raise refuse(url, f"host {host} is an IP literal, a host name is required")
        await public_addresses(self._resolver, host, url)

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
        raise refuse(url, f"more than {MAX_REDIRECTS} redirects")

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

    async def _probe_acs(self, url: str | None) -> dict[str, Any]:
        """Does our ACS endpoint answer? Only on our own origins (settings or the world's hosts)."""
        if not url:
            return {"checked": False, "reason": "no ACS URL configured for the account"}
        host = urlsplit(url).hostname or ""
        ours = _origin(url) in {_origin(o) for o in self.settings.acs_origins} or (
            self._acs_host_known is not None and self._acs_host_known(host)
        )
        if not ours:
            return {"url": url, "checked": False, "reason": "not one of our ACS origins (sso.acs_origins)"}
        try:
            response = await self._acs_client.get(url, headers={"Accept": "*/*"})
        except httpx.TimeoutException:
            return {"url": url, "checked": True, "answered": False, "status": None, "error": "timeout"}
        except httpx.TransportError as exc:
            return {
                "url": url,
                "checked": True,
                "answered": False,
                "status": None,
                "error": type(exc).__name__,
            }
        status = response.status_code
        return {"url": url, "checked": True, "answered": status < 500 and status != 404, "status": status}

    def _previous(
        self, account_id: str, idp: Any, ctx: CallContext
    ) -> tuple[IdPMetadata | None, str | None, str | None]:
        """The last working configuration: (document, why there is none, where it came from)."""
        entity_id = idp.get("entity_id")
        recorded = self._history.last_working(account_id, ctx.now) if self._history is not None else None
        if recorded is not None:
            try:
                return (
                    parse_idp_metadata(recorded.document, entity_id=entity_id),
                    None,
                    f"history {recorded.fetched_at}",
                )
            except MetadataError:
                pass
        if idp.get("last_working_snapshot"):
            name = str(idp["last_working_snapshot"])
            previous, error = self._load_snapshot(name, entity_id)
            return previous, error, f"file {name}" if previous is not None else None
        return None, None, None

    def _changed_meanwhile(self, account_id: str, digest: str, meta: IdPMetadata) -> dict[str, Any] | None:
        """How the document differs from this account's fetch a few minutes ago, if it does."""
        now = time.monotonic()
        before = self._latest.get(account_id)
        self._latest[account_id] = (now, digest, meta)
        if before is None or now - before[0] > CHANGE_WINDOW_S or before[1] == digest:
            return None
        return {
            "seconds_ago": round(now - before[0], 1),
            "changes": diff_metadata(meta, before[2])["changes"],
        }

    @operation("sso_check", SSOCheckArgs)
    async def sso_check(self, args: SSOCheckArgs, ctx: CallContext) -> dict[str, Any]:
        """Check a customer's SAML SSO setup against their IdP's live metadata.

        Use for "SSO login fails", "SAML error", "signature validation failed".
        Fetches the IdP metadata URL configured for the account (never a URL from
        the ticket) and reports: entityID, IdP vendor, SSO URLs, NameID formats,
        signing methods, every IdP certificate with use, subject, key, validity
        dates, days left and SHA-1; whether the certificate we have configured is
        still published and whether the signing certificate has expired; whether
        our ACS endpoint answers; the difference from the last metadata that
        worked (certificate, entity ID, SSO URLs, NameID format, signing
        algorithm), and whether the metadata changed during this investigation;
        and a list of problems in plain words.
        """
        account = ctx.account_for(SOURCE, args.account_id)
        idp = account.get("idp")
        if not idp or not idp.get("metadata_url"):
            raise SourceNotFound(SOURCE, f"account {args.account_id} has no SAML IdP configured")
        url = str(idp["metadata_url"])
        data = await self._fetch(url)
        try:
            meta = parse_idp_metadata(data, entity_id=idp.get("entity_id"))
        except MetadataError as exc:
            raise SourceMalformed(SOURCE, f"metadata from {url}: {exc}") from None
        previous, previous_error, source = self._previous(args.account_id, idp, ctx)
        result = analyse(
            meta,
            now=ctx.now,
            account_id=args.account_id,
            metadata_url=url,
            idp_config=idp,
            previous=previous,
            previous_error=previous_error,
            previous_source=source,
        )
        acs = await self._probe_acs(idp.get("sp_acs_url"))
        result["acs"] = {**acs, "configured": idp.get("sp_acs_url"), "sp_entity_id": idp.get("sp_entity_id")}
        if acs.get("checked") and not acs.get("answered"):
            result["problems"].append(
                f"our ACS endpoint {acs['url']} does not answer ({acs.get('status') or acs.get('error')})"
            )
        meanwhile = self._changed_meanwhile(args.account_id, digest_of(data), meta)
        result["changed_during_investigation"] = meanwhile
        if meanwhile:
            what = "; ".join(f"{c['what']}: {c['before']} -> {c['after']}" for c in meanwhile["changes"])
            result["problems"].append(
                f"the IdP metadata changed between two checks {meanwhile['seconds_ago']:g} s apart, "
                f"during this investigation ({what or 'same fields, other bytes'})"
            )
        if self._history is not None:
            self._history.record(args.account_id, ctx.now, data, working=not result["problems"])
        return result
