"""Priority scheduling: an agent waiting in the sidebar never queues behind a webhook burst.

Two classes of work share one pool of slots:

* **on-demand** (the sidebar, the API): an agent is waiting for it. It starts
  before any queued background job, and may also use ``reserve`` extra slots
  that background work can never take, so it starts at once even while every
  regular slot is busy with a burst.
* **background** (the webhook): nobody is watching; it runs when a regular slot
  is free (at most ``concurrency`` at once), oldest first.

A queued background job that an agent then asks for is promoted to on-demand.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["Job", "Scheduler"]

log = logging.getLogger("casefile.service")

_RANK = {"on_demand": 0, "background": 1}


@dataclass
class Job:
    """One investigation waiting for, or holding, a slot."""

    id: str
    priority: str  # "on_demand" | "background"
    payload: dict[str, object] = field(default_factory=dict)


class Scheduler:
    """Runs ``run(job)`` for submitted jobs, on-demand first, within the concurrency limits."""

    def __init__(self, run: Callable[[Job], Awaitable[None]], *, concurrency: int, reserve: int = 0) -> None:
        self._run = run
        self.concurrency = concurrency
        self.reserve = reserve
        self._heap: list[tuple[int, int, str]] = []
        self._jobs: dict[str, Job] = {}  # queued jobs by id
        self._seq = itertools.count()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def queued(self) -> int:
        return len(self._jobs)

    @property
    def running(self) -> int:
        return len(self._running)

    def start(self) -> None:
        self._dispatcher = asyncio.create_task(self._dispatch(), name="casefile-scheduler")

    def submit(self, job: Job) -> None:
        if self._closed:
            raise RuntimeError("the scheduler is closed")
        self._jobs[job.id] = job
        heapq.heappush(self._heap, (_RANK[job.priority], next(self._seq), job.id))
        self._wake.set()

    def promote(self, job_id: str) -> bool:
        """Move a queued background job ahead as on-demand; False when it is not queued."""
        job = self._jobs.get(job_id)
        if job is None or job.priority == "on_demand":
            return False
        job.priority = "on_demand"
        # The old heap entry becomes stale; the dispatcher skips entries whose rank no longer matches.
        heapq.heappush(self._heap, (_RANK["on_demand"], next(self._seq), job_id))
        self._wake.set()
        return True

    def _may_start(self, rank: int) -> bool:
        limit = self.concurrency + self.reserve if rank == _RANK["on_demand"] else self.concurrency
        return len(self._running) < limit

    async def _dispatch(self) -> None:
        while True:
            while self._heap:
                rank, _, job_id = self._heap[0]
                job = self._jobs.get(job_id)
                if job is None or _RANK[job.priority] != rank:
                    heapq.heappop(self._heap)  # started already, or promoted: a stale entry
                    continue
                if not self._may_start(rank):
                    break
                heapq.heappop(self._heap)
                del self._jobs[job_id]
                task = asyncio.create_task(self._guarded(job), name=f"investigation-{job_id}")
                self._running[job_id] = task
            self._wake.clear()
            await self._wake.wait()

    async def _guarded(self, job: Job) -> None:
        try:
            await self._run(job)
        except asyncio.CancelledError:
            raise
        except Exception:  # the runner records failures itself; this only keeps the slot accounting right
            log.exception("investigation %s crashed", job.id)
        finally:
            self._running.pop(job.id, None)
            self._wake.set()

    async def aclose(self) -> list[str]:
        """Stop dispatching and cancel running work; returns the ids that were running or queued."""
        self._closed = True
        if self._dispatcher:
            self._dispatcher.cancel()
        unfinished = list(self._running) + list(self._jobs)
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._dispatcher:
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        self._jobs.clear()
        return unfinished
