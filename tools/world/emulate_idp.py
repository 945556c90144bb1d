"""Emulated identity providers: each account's SAML metadata URL, served from files.

``<world>/sso/urls.json`` maps metadata URLs to files in ``<world>/sso/``::

    {"https://initech.okta.com/app/exk1/sso/saml/metadata": "initech-okta.xml"}

Each host in that map gets a handler that answers ``GET`` of the exact path
(and query) with the file, ``404`` for anything else on that host, and ``405``
for any other method.

Each Okta org of ``sso/apps.json`` also answers its Apps API and Microsoft Graph its
servicePrincipals (:mod:`emulate_idp_admin`). Our own side is served too: each account's ``idp.sp_acs_url`` (``accounts.json``)
answers ``GET`` with 405 (a SAML ACS takes POST only, as a real one says), unless
``<world>/sso/acs.json`` gives that URL another status (``{"https://…/acs/x": 503}``:
our ACS broken for that account); any other path on that host answers 404.

The SSO connector refuses hosts that do not resolve to a public address, and a
world's hosts are not in any DNS. :func:`resolver` is the world's DNS: every
host of ``urls.json`` resolves to :data:`WORLD_HOST_ADDRESS`, every other name
resolves to nothing (so it is refused like an unknown host). The address is
never contacted: the world transport answers in its place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from casefile.tools.world.emulate_idp_admin import graph_handlers, okta_handlers

__all__ = ["WORLD_HOST_ADDRESS", "handlers", "load_urls", "resolver"]

# A global unicast address (not private, not a documentation range, which the SSRF
# check would rightly refuse). Nothing is ever sent to it.
WORLD_HOST_ADDRESS = "52.10.20.30"


def load_urls(world_dir: Path) -> dict[str, Path]:
    """Metadata URL -> file, from ``sso/urls.json`` (empty when the world has no SSO)."""
    sso_dir = Path(world_dir) / "sso"
    index = sso_dir / "urls.json"
    if not index.is_file():
        return {}
    raw = json.loads(index.read_text(encoding="utf-8"))
    return {str(url): sso_dir / str(name) for url, name in raw.items()}


def _target(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    path = parts.path or "/"
    return (parts.hostname or "").lower(), path + (f"?{parts.query}" if parts.query else "")


def acs_routes(world_dir: Path) -> dict[str, int]:
    """Our ACS URL of every account with an IdP -> the status its GET answers."""
    accounts_file = Path(world_dir) / "accounts.json"
    if not accounts_file.is_file():
        return {}
    accounts = json.loads(accounts_file.read_text(encoding="utf-8")).get("accounts", [])
    routes = {str(a["idp"]["sp_acs_url"]): 405 for a in accounts if (a.get("idp") or {}).get("sp_acs_url")}
    overrides = Path(world_dir) / "sso" / "acs.json"
    if overrides.is_file():
        routes.update({str(u): int(s) for u, s in json.loads(overrides.read_text(encoding="utf-8")).items()})
    return routes


def handlers(world_dir: Path) -> dict[str, Callable[[httpx.Request], httpx.Response]]:
    """One handler per IdP host of the world, and one per host of our ACS endpoints."""
    by_host: dict[str, dict[str, Path]] = {}
    for url, file in load_urls(world_dir).items():
        host, target = _target(url)
        by_host.setdefault(host, {})[target] = file
    acs_by_host: dict[str, dict[str, int]] = {}
    for url, status in acs_routes(world_dir).items():
        host, target = _target(url)
        acs_by_host.setdefault(host, {})[target] = status

    def make(routes: dict[str, Path]) -> Callable[[httpx.Request], httpx.Response]:
        def handle(request: httpx.Request) -> httpx.Response:
            if request.method != "GET":
                return httpx.Response(405, text="method not allowed", headers={"allow": "GET"})
            file = routes.get(request.url.raw_path.decode("ascii"))
            if file is None or not file.is_file():
                return httpx.Response(404, text="not found")
            return httpx.Response(
                200,
                content=file.read_bytes(),
                headers={"content-type": "application/samlmetadata+xml"},
            )

        return handle

    def make_acs(routes: dict[str, int]) -> Callable[[httpx.Request], httpx.Response]:
        def handle(request: httpx.Request) -> httpx.Response:
            status = routes.get(request.url.raw_path.decode("ascii"))
            if status is None:
                return httpx.Response(404, text="not found")
            if status == 405:
                return httpx.Response(405, text="SAML ACS: POST a SAMLResponse", headers={"allow": "POST"})
            return httpx.Response(status, text=f"HTTP {status}")

        return handle

    served = {host: make_acs(routes) for host, routes in acs_by_host.items()}
    served.update({host: make(routes) for host, routes in by_host.items()})
    # An Okta org serves its Apps API beside its metadata (emulate_idp_admin.py); Graph has its own host.
    for host, admin in okta_handlers(world_dir).items():
        served[host] = _beside(admin, served.get(host))
    served.update(graph_handlers(world_dir))
    return served


def _beside(
    admin: Callable[[httpx.Request], httpx.Response | None],
    other: Callable[[httpx.Request], httpx.Response] | None,
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        answer = admin(request)
        if answer is not None:
            return answer
        return other(request) if other is not None else httpx.Response(404, text="not found")

    return handle


def resolver(world_dir: Path) -> Callable[[str], list[str]]:
    """The world's name resolution for the SSO connector's address check."""
    hosts = {_target(url)[0] for url in [*load_urls(world_dir), *acs_routes(world_dir)]}
    hosts |= set(okta_handlers(world_dir)) | set(graph_handlers(world_dir))

    def resolve(host: str) -> list[str]:
        return [WORLD_HOST_ADDRESS] if host.lower() in hosts else []

    return resolve
