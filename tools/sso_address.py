"""The SSO connector's SSRF guard: which metadata URLs may be fetched at all.

Even a configured URL is refused (:class:`UnsafeMetadataURL`) unless it is
``https``, names a host (never an IP literal) and that host resolves only to
globally routable unicast addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from casefile.tools.errors import ToolError

__all__ = ["SOURCE", "Resolver", "UnsafeMetadataURL", "check_public_address", "refuse", "system_resolver"]

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
