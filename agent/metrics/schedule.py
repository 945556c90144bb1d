"""The weekly review, on a schedule: a cron expression in config, run inside ``casefile serve``.

``[service.review] cron = "0 8 * * MON"`` (UTC) names the slots. At each slot the review of the
``since`` window before it is written to ``directory/review-<slot>.md`` and posted to ``channel``
(Slack). A slot runs once, whatever restarts or replicas there are: it is claimed through
:class:`~casefile.agent.metrics.slots.SlotLeases` before anything is written. A slot missed by
more than ``catch_up_s`` (the service was down) is skipped, not run late. The clock and the
sleep are injected, so tests move time by hand.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from casefile.agent.metrics.settings import ReviewSettings
from casefile.agent.metrics.slots import SlotLeases

__all__ = ["JOB", "ReviewScheduler", "latest_slot", "next_slot"]

log = logging.getLogger("casefile.review")

JOB = "weekly-review"

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
RunSlot = Callable[[datetime], Awaitable[None]]


def latest_slot(cron: str, now: datetime) -> datetime:
    """The last time at or before ``now`` that ``cron`` names (UTC)."""
    from cronsim import CronSim

    now = now.astimezone(UTC).replace(microsecond=0)
    upcoming = next(CronSim(cron, now - timedelta(seconds=1)))
    return upcoming if upcoming <= now else next(CronSim(cron, now, reverse=True))


def next_slot(cron: str, now: datetime) -> datetime:
    """The first time after ``now`` that ``cron`` names (UTC)."""
    from cronsim import CronSim

    return next(CronSim(cron, now.astimezone(UTC).replace(microsecond=0)))


class ReviewScheduler:
    """Runs ``run(slot)`` once per due slot of ``settings.cron``; :meth:`tick` is one look."""

    def __init__(
        self,
        leases: SlotLeases,
        settings: ReviewSettings,
        run: RunSlot,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        sleep: Sleep = asyncio.sleep,
        owner: str | None = None,
    ) -> None:
        assert settings.cron is not None, "a scheduler needs a cron expression"
        self.cron = settings.cron
        self.settings = settings
        self.leases = leases
        self.run = run
        self.clock = clock
        self.sleep = sleep
        self.owner = owner or f"review-{secrets.token_hex(4)}"

    async def tick(self) -> datetime | None:
        """Run the latest due slot if nobody has; returns the slot run, else None."""
        now = self.clock()
        slot = latest_slot(self.cron, now)
        if (now - slot).total_seconds() > self.settings.catch_up_s:
            return None  # missed while the service was down: the next slot will come
        # The leases are the store's: written in a thread, off the service's event loop.
        if not await asyncio.to_thread(self.leases.claim, JOB, slot, self.owner, self.settings.lease_s, now):
            return None
        try:
            await self.run(slot)
        except Exception as exc:  # the slot is retried on the next tick (at most MAX_ATTEMPTS claims)
            log.warning("weekly review for %s failed: %s", slot.isoformat(), exc)
            await asyncio.to_thread(
                self.leases.release, JOB, slot, self.owner, f"{type(exc).__name__}: {exc}"
            )
            return None
        await asyncio.to_thread(self.leases.finish, JOB, slot, self.owner, self.clock())
        log.info("weekly review for %s delivered", slot.isoformat())
        return slot

    async def run_forever(self) -> None:
        """Tick, then sleep until the next slot (or ``poll_s``, whichever is sooner), until cancelled."""
        while True:
            try:
                await self.tick()
            except Exception as exc:  # the store is down: try again later
                log.warning("weekly review schedule: %s", exc)
            wait = (next_slot(self.cron, self.clock()) - self.clock()).total_seconds()
            await self.sleep(max(0.5, min(wait, self.settings.poll_s)))
