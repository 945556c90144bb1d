"""An investigation's progress events, written to the store in order, off the event loop.

The loop emits events synchronously (``on_event``); a store that stops answering holds a write for
seconds (``agent/store/pglink.py``), and on the event loop that held every other request, the
health check and every other tenant's investigation with it. So an emitted event is queued here
and written by a task that waits for the store in a thread; the investigation waits for its
events (:meth:`EventLog.flush`) before its result is saved, so they are stored before it, and a
write the store refused stops the run at its next event, as it did when writes were inline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from casefile.agent.events import Event
from casefile.agent.store import Store

__all__ = ["EventLog"]


class EventLog:
    """The events of investigation ``inv``, written in order by one task at a time."""

    def __init__(self, store: Store, inv: str, published: Callable[[str], None]) -> None:
        self._store = store
        self._inv = inv
        self._published = published
        self._pending: list[Event] = []
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    def add(self, event: Event) -> None:
        """Queue ``event`` (on the event loop); raises what the store refused an earlier one with."""
        if self._error is not None:
            raise self._error
        self._pending.append(event)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=f"events-{self._inv}")

    async def _drain(self) -> None:
        while self._pending:
            event = self._pending.pop(0)
            try:
                await asyncio.to_thread(self._store.add_event, self._inv, event)
            except Exception as exc:
                self._error = exc
                self._pending.clear()
                return
            self._published(self._inv)

    async def flush(self) -> None:
        """Until every queued event is stored; raises what the store refused one with."""
        if self._task is not None:
            await asyncio.shield(self._task)
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """The run stopped (cancelled): its queued events are not written any more."""
        self._pending.clear()
