"""The SSO connector's SSRF guard: which metadata URLs may be fetched at all.

Even a configured URL is refused (:class:`UnsafeMetadataURL`) unless it is
``https``, names a host (never an IP literal) and that host resolves only to
globally routable unicast addresses.

The connection itself goes through :func:`guarded_transport`: each connection resolves the name
once, checks every address and connects to one of those very addresses, so a DNS server that
answers the check with a public address and the connection with an internal one (DNS rebinding)
reaches nothing (``tests/test_attack_sso_rebinding.py``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable
from urllib.request import getproxies

import httpcore
import httpx

from casefile.tools.errors import ToolError

__all__ = [
    "SOURCE",
    "Resolver",
    "UnsafeMetadataURL",
    "check_public_address",
    "guarded_transport",
    "public_addresses",
    "refuse",
    "system_resolver",
]

SOURCE = "sso"
Resolver = Callable[[str], list[str]]


class UnsafeMetadataURL(ToolError):
    """The configured metadata URL (or a redirect target) may not be fetched.

    Raised before any request is sent: not https, an IP literal, a host that
    resolves to a private, loopback, link-local, reserved or multicast address,
    a host that does not resolve, or too many redirects. It is a configuration
    or safety problem, not an outage, so it is not a ``SourceError``.
    """

    kind = "unsafe_url"


def refuse(url: str, why: str) -> UnsafeMetadataURL:
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


def system_resolver(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def public_addresses(resolver: Resolver, host: str, url: str) -> list[str]:
    """Every address ``host`` resolves to, each one checked; refused (naming ``url``) otherwise."""
    try:
        addresses = await asyncio.to_thread(resolver, host)
    except (OSError, UnicodeError) as exc:
        raise refuse(url, f"host {host} does not resolve ({exc})") from None
    if not addresses:
        raise refuse(url, f"host {host} does not resolve")
    for address in addresses:
        why = check_public_address(address)
        if why:
            raise refuse(url, f"host {host} resolves to {why}")
    return addresses


class _CheckedConnections(httpcore.AsyncNetworkBackend):
    """Connects to a name only at an address checked in the same lookup (no second resolution)."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await public_addresses(self._resolver, host, f"https://{host}:{port}")
        failed: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return await self._network.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failed = exc
        assert failed is not None  # public_addresses never returns an empty list
        raise failed

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise refuse(path, "a Unix socket is not a public host")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, resolver: Resolver, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=_CheckedConnections(resolver)
        )


def guarded_transport(resolver: Resolver) -> httpx.AsyncBaseTransport | None:
    """httpx's own transport, whose every connection goes to an address :func:`check_public_address` passed.

    None when the environment sends https through a proxy (``HTTPS_PROXY``, ``ALL_PROXY``): the
    proxy resolves the names then, and httpx's transport is kept so that the proxy is used.
    """
    proxies = getproxies()
    if proxies.get("https") or proxies.get("all"):
        return None
    return _GuardedTransport(resolver, httpx.create_ssl_context())
