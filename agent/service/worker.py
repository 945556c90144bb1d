"""Durable work: each replica's worker claims investigations from the store and runs them under a lease.

Accepted work lives in the store, not in memory. A worker (one per service
process) claims the next claimable investigation with a *lease*
(:meth:`casefile.agent.store.Store.claim_next`: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), renews the leases of the work it runs while it
runs, and releases them when it stops. Work whose lease expired (its process
was killed, or lost the store) is claimed again by whichever worker comes
next, so after a crash or a restart every accepted investigation, and then
its internal note, is finished by someone, and never by two at once.

Scheduling within a worker keeps the service's promise to agents:

* **on-demand** (the sidebar, the API) is claimed before any background work,
  and may use ``reserve`` extra slots that background work never takes;
* **background** (the webhook) runs when a regular slot is free, oldest first.

A queued background investigation that an agent asks for is promoted in the
store (:meth:`Store.promote`), so every replica sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from casefile.agent.store import Claim, Store, StoreUnavailable

__all__ = ["Worker", "call_on", "worker_id"]

log = logging.getLogger("casefile.service")


def worker_id() -> str:
    """This process's name in the store's ``owner`` column: host, pid, and a nonce (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def call_on(loop: asyncio.AbstractEventLoop | None, fn: Callable[..., object], *args: Any) -> None:
    """``fn(*args)`` on ``loop``: at once on the loop itself (or before there is one), else handed to
    it from this thread (asyncio's objects are not thread-safe)."""
    try:
        here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    if loop is None or here is loop:
        fn(*args)
    else:
        loop.call_soon_threadsafe(fn, *args)


class Worker:
    """Claims work from ``store`` and runs ``run(claim)`` for each, within the concurrency limits."""

    def __init__(
        self,
        store: Callable[[], Store],
        run: Callable[[Claim], Awaitable[None]],
        *,
        concurrency: int,
        reserve: int = 0,
        lease_s: float = 30.0,
        poll_s: float = 1.0,
        owner: str | None = None,
        on_store_error: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        self._store = store
        self._run = run
        self.concurrency = concurrency
        self.reserve = reserve
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.owner = owner or worker_id()
        self._on_store_error = on_store_error or (lambda exc: None)
        self._running: dict[str, asyncio.Task[None]] = {}
        # Work whose attempt the store cut off: handed back uncounted once the store answers again.
        self._cut: list[str] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> int:
        return len(self._running)

    def holds(self, inv: str) -> bool:
        return inv in self._running

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [
            asyncio.create_task(self._dispatch(), name="casefile-worker"),
            asyncio.create_task(self._heartbeat(), name="casefile-lease-renewal"),
        ]

    def wake(self) -> None:
        """New work was accepted (by this process): claim it now rather than at the next poll. From
        the event loop or from a thread (a route's store work runs off the loop)."""
        call_on(self._loop, self._wake.set)

    async def _dispatch(self) -> None:
        while not self._closed:
            self._wake.clear()
            try:
                await self._refund_cut()
                await self._claim_what_fits()
            except Exception as exc:  # the store is unreachable: report it, try again at the next poll
                log.warning("claiming work failed: %s", type(exc).__name__)
                self._on_store_error(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def _claim_what_fits(self) -> None:
        while len(self._running) < self.concurrency + self.reserve and not self._closed:
            on_demand_only = len(self._running) >= self.concurrency
            # What runs here is never claimed again: a late renewal (its lease ran out) is not an attempt.
            claim = await asyncio.to_thread(
                self._store().claim_next,
                self.owner,
                self.lease_s,
                on_demand_only=on_demand_only,
                running=list(self._running),
            )
            if claim is None:
                return
            task = asyncio.create_task(self._guarded(claim), name=f"investigation-{claim.id}")
            self._running[claim.id] = task

    async def _refund_cut(self) -> None:
        """Before claiming anything, hand back the attempts the store cut off without counting them
        (so they cannot be given up on in between)."""
        while self._cut:
            await asyncio.to_thread(self._store().refund, self._cut[0], self.owner, retry_in_s=self.lease_s)
            self._cut.pop(0)

    async def _guarded(self, claim: Claim) -> None:
        try:
            await self._run(claim)
        except asyncio.CancelledError:
            raise
        except StoreUnavailable as exc:  # the store failed, not the work: it runs again, uncounted
            log.warning("investigation %s: the store cut this attempt off; it resumes: %s", claim.id, exc)
            self._on_store_error(exc)
            self._cut.append(claim.id)
        except Exception:  # the runner records failures itself; this keeps the slot accounting right
            log.exception("investigation %s crashed", claim.id)
        finally:
            self._running.pop(claim.id, None)
            self._wake.set()

    async def _heartbeat(self) -> None:
        """Renew this worker's leases; work whose lease was lost (taken over) is stopped here."""
        while not self._closed:
            await asyncio.sleep(self.lease_s / 3)
            running = list(self._running)
            try:
                held = await asyncio.to_thread(self._store().renew, self.owner, self.lease_s, running)
            except Exception as exc:
                log.warning("renewing leases failed: %s", type(exc).__name__)
                self._on_store_error(exc)
                continue
            self._on_store_error(None)
            # Only the work this renewal was asked about: work claimed while it ran is not in its answer.
            for inv in running:
                task = self._running.get(inv)
                if task is not None and inv not in held and not task.done():
                    log.warning("investigation %s: lease lost to another worker; stopping here", inv)
                    task.cancel()

    async def aclose(self) -> list[str]:
        """Stop claiming, cancel running work and release its leases; returns the ids released."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*self._tasks, *running, return_exceptions=True)
        released = list(self._running)
        try:
            released = self._store().release_all(self.owner)
        except Exception as exc:  # expiry hands the work on anyway
            log.warning("releasing leases failed: %s", type(exc).__name__)
        return released
