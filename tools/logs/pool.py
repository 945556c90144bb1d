"""Concurrent queries: one ClickHouse client per running query, up to a limit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from casefile.tools.logs.common import Result

__all__ = ["ClientPool", "gather"]


async def gather(queries: Mapping[str, Awaitable[Result]]) -> dict[str, Result]:
    """Run named independent queries at once; their results by name."""
    results = await asyncio.gather(*queries.values())
    return dict(zip(queries, results, strict=True))


class ClientPool:
    """Up to ``size`` clients, each running one query at a time, made on demand.

    clickhouse-connect runs one query at a time per client (an HTTP session, or
    a chdb handle), so a single shared client would queue every concurrent
    investigation's queries behind each other. ``hold`` is entered around each
    query: embedded chdb handles hold the engine's lock shared, so a world being
    loaded is never queried half-way.
    """

    def __init__(
        self,
        make: Callable[[], Any] | None,
        size: int,
        first: Any | None = None,
        hold: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        self._make = make
        self._idle: list[Any] = [first] if first is not None else []
        self.clients: list[Any] = list(self._idle)
        self.size = size
        self._slots = threading.BoundedSemaphore(size)
        self._guard = threading.Lock()
        self._hold = hold

    def _take(self) -> Any:
        with self._guard:
            if self._idle:
                return self._idle.pop()
        if self._make is None:
            raise RuntimeError("no ClickHouse client")  # unreachable: without a factory the first is given
        client = self._make()
        with self._guard:
            self.clients.append(client)
        return client

    def any(self) -> Any:
        """Some client, for client-side work (parsing a statement) that needs no slot."""
        with self._guard:
            if self.clients:
                return self.clients[0]
        with self.lease() as client:
            return client

    @contextmanager
    def lease(self) -> Iterator[Any]:
        with self._slots:
            client = self._take()
            try:
                with self._hold():
                    yield client
            finally:
                with self._guard:
                    self._idle.append(client)
