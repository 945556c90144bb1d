"""How ``casefile serve`` runs the app: uvicorn with limits on slow and idle clients.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) and answers
503 once ``limit_concurrency`` connections and tasks are open, but it has no
timeout for a client that never finishes *sending* its request: 600
connections dripping a header byte a second were all kept, until the process
ran out of file descriptors and ``/healthz`` stopped answering.
:class:`GuardedH11Protocol` adds that timeout: each request (head and body)
must arrive within ``request_timeout_s`` of its first byte, or the connection
is closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from casefile.agent.config import ServiceSettings

__all__ = ["GuardedH11Protocol", "guarded_protocol", "run"]

log = logging.getLogger("casefile.service")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on receiving each request."""

    request_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._request_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()  # the whole request is in (or the connection is ending)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._request_timer = self.loop.call_later(self.request_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _too_slow(self) -> None:
        self._request_timer = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            if self.client:
                log.info(
                    "closing %s:%d: the request did not arrive within %.0f s",
                    *self.client,
                    self.request_timeout_s,
                )
            self.transport.close()


def guarded_protocol(request_timeout_s: float) -> type[GuardedH11Protocol]:
    """The protocol class uvicorn instantiates per connection, with this timeout."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"request_timeout_s": request_timeout_s})


def run(app: Any, service: ServiceSettings) -> None:
    """Serve ``app`` with the service's limits (access logs show method, path and status, never headers)."""
    import uvicorn

    uvicorn.run(
        app,
        host=service.host,
        port=service.port,
        log_level="info",
        proxy_headers=False,
        http=guarded_protocol(service.request_timeout_s),
        timeout_keep_alive=int(service.keep_alive_s),
        limit_concurrency=service.max_connections,
        backlog=2048,
    )
