"""Round-10 attacks on the SSO check's SSRF guard: DNS rebinding, and our ACS probe's redirects.

The guard resolves the metadata URL's host and checks every address; the connection then resolved
the name again. A DNS server the customer runs (the metadata URL is theirs) can answer a public
address to the check and an internal one to the connection a moment later (a rebinding attack), so
the request reached a host on casefile's own network. Each attack here is a real connection through
the connector's own transport (no mock): the internal host is a loopback listener, and the system's
name lookup is the rebinding server. Whatever the second answer (loopback, an internal address
beside a public one, IPv6 loopback), the listener must never be connected to.

Our ACS probe, only on our own origins, sends one GET and must not follow a redirect anywhere.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from test_sso import FRESH, METADATA_URL, PUBLIC_IP, TICKET_TIME, account, ctx, metadata, public_dns

from casefile.tools import sso_address
from casefile.tools.base import CallContext
from casefile.tools.errors import ToolError
from casefile.tools.settings import SSOSettings
from casefile.tools.sso import SSOCheckArgs, SSOConnector

IDP_HOST = "login.quillmoor-idp.example"
ACCOUNT = "quillmoor"


class Rebinding:
    """A DNS server that answers the check with a public address, and every later lookup otherwise."""

    def __init__(self, later: list[str]) -> None:
        self.later = later
        self.lookups = 0

    def __call__(self, host: str) -> list[str]:
        assert host == IDP_HOST, host
        self.lookups += 1
        return [PUBLIC_IP] if self.lookups == 1 else self.later


@contextlib.contextmanager
def internal_host(family: socket.AddressFamily, address: str) -> Iterator[tuple[socket.socket, int]]:
    """A listener standing for a host on casefile's network; a connection waits in its backlog."""
    try:
        server = socket.create_server((address, 0), family=family)
    except OSError:
        pytest.skip(f"no {address} on this machine")
    with server:
        server.setblocking(False)
        yield server, server.getsockname()[1]


def was_reached(server: socket.socket) -> bool:
    """A TCP connection completes in the kernel's backlog whether or not it was accepted."""
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def rebinding_lookups(monkeypatch: pytest.MonkeyPatch, dns: Rebinding) -> None:
    """The system's name lookup (what a connection resolves with) asks the same rebinding server."""
    guarded = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if (host.decode() if isinstance(host, bytes) else host) == IDP_HOST:
            return [info for address in dns(IDP_HOST) for info in guarded(address, *args, **kwargs)]
        return guarded(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def context(port: int) -> CallContext:
    idp = {"vendor": "okta", "metadata_url": f"https://{IDP_HOST}:{port}/app/saml/metadata"}
    return CallContext.for_account(ACCOUNT, {ACCOUNT: {"id": ACCOUNT, "idp": idp}}, now=TICKET_TIME)


@pytest.mark.parametrize(
    ("family", "internal", "later"),
    [
        (socket.AF_INET, "127.0.0.1", ["127.0.0.1"]),
        (socket.AF_INET6, "::1", ["::1"]),
        (socket.AF_INET, "127.0.0.1", ["127.0.0.1", PUBLIC_IP]),
    ],
    ids=["loopback", "ipv6-loopback", "internal-beside-public"],
)
async def test_a_rebinding_dns_answer_reaches_no_internal_host(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    waits: list[float],
    family: socket.AddressFamily,
    internal: str,
    later: list[str],
) -> None:
    dns = Rebinding(later)
    rebinding_lookups(monkeypatch, dns)
    with internal_host(family, internal) as (server, port):
        connector = SSOConnector(SSOSettings(timeout_s=1.0), resolver=dns, snapshot_dir=tmp_path)
        try:
            with pytest.raises(ToolError) as refused:
                await connector.sso_check(SSOCheckArgs(account_id=ACCOUNT), context(port))
        finally:
            await connector.aclose()
        assert not was_reached(server), "the metadata request connected to an internal host"
    assert dns.lookups >= 2, "the name was resolved once: the attack tests nothing"
    assert refused.value.kind == "unsafe_url", refused.value
    assert internal in str(refused.value) and "nothing was fetched" in str(refused.value)


async def test_our_acs_probe_follows_no_redirect(tmp_path: Path) -> None:
    """One GET of our own ACS; a 302 to an internal address is its answer, never a second request."""
    acs = "https://app.quillmoor-sp.example/sso/acs"
    settings = SSOSettings(acs_origins=["https://app.quillmoor-sp.example"])
    connector = SSOConnector(settings, resolver=public_dns, snapshot_dir=tmp_path)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(METADATA_URL).respond(200, content=metadata((FRESH[0], "signing")))
        mock.get(acs).respond(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        anywhere = mock.route().respond(200)
        try:
            ours = account()
            ours["idp"]["sp_acs_url"] = acs
            result = await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx(ours))
        finally:
            await connector.aclose()
    assert anywhere.call_count == 0
    assert result["acs"]["status"] == 302 and result["acs"]["answered"] is True


async def test_a_connection_goes_to_the_address_that_was_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guarded transport connects to the resolver's own answer: the system never resolves the name."""
    monkeypatch.setattr(sso_address, "check_public_address", lambda address: None)  # loopback stands in
    with internal_host(socket.AF_INET, "127.0.0.1") as (server, port):
        transport = sso_address.guarded_transport(lambda host: ["127.0.0.1"])
        assert transport is not None
        async with httpx.AsyncClient(transport=transport, timeout=1.0) as client:
            with pytest.raises(httpx.TransportError):  # the listener never answers TLS
                await client.get(f"https://{IDP_HOST}:{port}/")
        assert was_reached(server)
