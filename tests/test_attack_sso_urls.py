"""Round-9 attacks on the SSO check's SSRF guard: a redirect whose address two URL parsers read apart.

The guard reads a hop's host with Python's ``urlsplit`` and checks what it resolves to; httpx then
parses the same text again to connect. A ``Location`` that one parser reads as a public host and the
other as an internal one (a backslash or ``%2f`` before ``@``, a fragment or query holding ``@``, an
ideographic full stop for a dot, decimal, hexadecimal and short IPv4 forms, an IPv4-mapped IPv6
literal, a trailing-dot ``localhost``, a scheme-relative or upper-case scheme) would let the check pass
and the request reach the internal host. Each is served as the IdP's redirect; no request may reach
any host but the IdP's and the public CDN's. (httpx 0.29 and Python 3.11 read every one alike: 0
through.)
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import respx
from test_sso import EXPIRED, METADATA_URL, PUBLIC_IP, ctx, metadata

from casefile.tools.sso import SSOCheckArgs, SSOConnector, SSOSettings
from casefile.tools.sso_address import UnsafeMetadataURL

ALLOWED_HOSTS = {"initech.okta.com", "cdn.example.com"}
LOCATIONS = [
    "https://127.0.0.1\\@cdn.example.com/md",
    "https://cdn.example.com\\@127.0.0.1/md",
    "https://cdn.example.com%2f@127.0.0.1/md",
    "https://cdn.example.com:443\\@127.0.0.1/md",
    "https://cdn.example.com#@127.0.0.1/md",
    "https://127.0.0.1#@cdn.example.com/md",
    "https://127.0.0.1?@cdn.example.com/md",
    "https://cdn.example.com@169.254.169.254/md",
    "https://127。0。0。1/md",
    "https://2130706433/md",
    "https://0x7f000001/md",
    "https://127.1/md",
    "https://[::ffff:127.0.0.1]/md",
    "https://localhost./md",
    "//127.0.0.1/md",
    "HTTPS://127.0.0.1/md",
]


def resolve(host: str) -> list[str]:
    """Public names to a public address; anything else as the C library reads an IPv4 (inet_aton)."""
    if host in ALLOWED_HOSTS:
        return [PUBLIC_IP]
    try:
        return [socket.inet_ntoa(socket.inet_aton(host.encode("idna").decode("ascii")))]
    except (OSError, UnicodeError):
        return []


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
async def connector(tmp_path: Path) -> AsyncIterator[SSOConnector]:
    conn = SSOConnector(SSOSettings(), resolver=resolve, snapshot_dir=tmp_path)
    yield conn
    await conn.aclose()


@pytest.mark.parametrize("location", LOCATIONS)
async def test_a_redirect_read_apart_reaches_no_internal_host(
    mock: respx.MockRouter, connector: SSOConnector, location: str
) -> None:
    mock.get(METADATA_URL).respond(302, headers={"Location": location.encode()})  # as a server sends it
    anywhere = mock.route().respond(200, content=metadata((EXPIRED[0], "signing")))
    with contextlib.suppress(UnsafeMetadataURL):
        await connector.sso_check(SSOCheckArgs(account_id="initech"), ctx())
    reached = {call.request.url.host for call in mock.calls}
    assert reached <= ALLOWED_HOSTS, (location, reached)
    assert anywhere.call_count == 0 or reached == {"initech.okta.com", "cdn.example.com"}
