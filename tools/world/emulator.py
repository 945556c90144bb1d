"""Local stand-ins for the HTTP APIs a world replaces, as one httpx transport.

The connectors' real clients are built with ``transport=build_transport(world)``
instead of the network; nothing else changes. Each provider's emulation lives in
its own module (``emulate_linear``, ``emulate_github``, ``emulate_stripe``,
``emulate_idp``) exposing ``handlers(world_dir) -> {host: handler}``; a handler
is a plain function from ``httpx.Request`` to ``httpx.Response``.

:class:`WorldTransport` dispatches by host. An unknown host fails like an
unreachable one (``httpx.ConnectError``), so a connector pointed at the wrong
place in a world behaves as it would in production. Every request is recorded
in :attr:`WorldTransport.requests` so tests can prove no write left a connector.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "EMULATOR_MODULES",
    "STOPWORDS",
    "WORLD_HOST_ADDRESS",
    "Handler",
    "WorldTransport",
    "build_transport",
    "json_response",
    "search_page",
]

log = logging.getLogger("casefile.world")

Handler = Callable[[httpx.Request], httpx.Response]

# What every emulated host "resolves" to for connectors that check addresses (the SSO
# connector's SSRF guard). Globally routable, so the check passes; never contacted.
WORLD_HOST_ADDRESS = "52.10.20.30"

# One module per provider; the last two are optional until they exist.
EMULATOR_MODULES = (
    "casefile.tools.world.emulate_linear",
    "casefile.tools.world.emulate_github",
    "casefile.tools.world.emulate_stripe",
    "casefile.tools.world.emulate_idp",
    "casefile.tools.world.emulate_zendesk",
)


# Words the stand-ins' searches (Linear's searchIssues, the help center's) do not match on.
STOPWORDS = frozenset(
    """
    a an and are as at be but by can cant do for from has have how i in is it its my no not of on or
    our since so that the this to was we were with you your
    """.split()  # noqa: SIM905 - a word list reads better as prose
)


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> httpx.Response:
    """A JSON response as the emulated APIs send it (compact, UTF-8)."""
    return httpx.Response(
        status,
        content=json.dumps(data, separators=(",", ":")).encode(),
        headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
    )


class WorldTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """An httpx transport that answers from handlers keyed by host, sync or async.

    Keys are host names (``"api.linear.app"``) or ``"host:port"`` when a port
    must be told apart. A handler that raises answers HTTP 500 with a JSON body,
    the way a buggy server would, rather than crashing the client.
    """

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self.handlers = dict(handlers)
        #: (method, host, path) of every request received, in order.
        self.requests: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        with self._lock:
            self.requests.append((request.method, host, request.url.path))
        handler = None
        if request.url.port is not None:
            handler = self.handlers.get(f"{host}:{request.url.port}")
        handler = handler or self.handlers.get(host)
        if handler is None:
            raise httpx.ConnectError(f"no emulated host {host!r} in this world", request=request)
        try:
            return handler(request)
        except Exception as exc:  # the emulator's own bug: answer like a server error would
            log.exception("emulated %s failed on %s %s", host, request.method, request.url.path)
            return json_response(500, {"error": f"emulator error: {type(exc).__name__}: {exc}"})

    def resolve(self, host: str) -> list[str]:
        """The world's DNS: an emulated host resolves to :data:`WORLD_HOST_ADDRESS`, others to nothing."""
        host = host.lower()
        known = host in self.handlers or any(key.split(":", 1)[0] == host for key in self.handlers)
        return [WORLD_HOST_ADDRESS] if known else []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._dispatch(request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._dispatch(request)


def search_page(params: httpx.QueryParams, default_per_page: int) -> tuple[int, int] | httpx.Response:
    """Zendesk's search paging (``page`` from 1, ``per_page`` 1..100), or its 400 for a search with
    no query or a page that is not a number."""
    if not params.get("query", "").strip():
        return json_response(400, {"error": "InvalidSearch", "description": "query is required"})
    try:
        per_page = min(max(int(params.get("per_page", str(default_per_page))), 1), 100)
        page = max(int(params.get("page", "1")), 1)
    except ValueError:
        return json_response(
            400, {"error": "InvalidPaginationParameter", "description": "page must be an integer"}
        )
    return page, per_page


def build_transport(world_dir: Path) -> WorldTransport:
    """One transport serving every emulated provider of the world in ``world_dir``."""
    merged: dict[str, Handler] = {}
    for name in EMULATOR_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise  # a missing dependency inside the module is a real error
            log.warning("world emulator %s is not available", name)
            continue
        for host, handler in module.handlers(Path(world_dir)).items():
            if host in merged:
                raise ValueError(f"two emulators claim host {host!r}")
            merged[host] = handler
    return WorldTransport(merged)
