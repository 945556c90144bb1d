"""What the metrics add to a running service: its Prometheus counters and the review schedule.

The service makes one :class:`MetricsRuntime`, starts it after its own start-up and stops it
first; it reports each finished investigation to :attr:`MetricsRuntime.prometheus`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from casefile.agent.metrics.deliver import Poster, deliver_review, slack_poster
from casefile.agent.metrics.outcomes import OutcomeReader, outcome_reader
from casefile.agent.metrics.prom import ServiceMetrics
from casefile.agent.metrics.schedule import ReviewScheduler
from casefile.agent.metrics.slots import SlotLeases

if TYPE_CHECKING:
    from casefile.agent.service.runtime import InvestigationService

__all__ = ["MetricsRuntime"]

log = logging.getLogger("casefile.review")


class MetricsRuntime:
    def __init__(
        self,
        service: InvestigationService,
        *,
        poster: Poster | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.service = service
        self.prometheus = ServiceMetrics(
            running=lambda: service.worker.running, queued=lambda: service.store.pending()
        )
        self.poster = poster or slack_poster(service.settings.slack, service.config.review.channel)
        self.clock = clock
        self.sleep = sleep
        self._task: asyncio.Task[None] | None = None

    def reader(self) -> OutcomeReader | None:
        """The helpdesk to read outcomes from: the service's Zendesk, else its world's stand-in.
        Only Zendesk's outcomes are read so far; the service's helpdesk transport is Zendesk's only
        when its helpdesk is."""
        service = self.service
        world = service.env.world if service.opened else None
        transport = service.helpdesk_transport if service.helpdesk.name == "zendesk" else None
        return outcome_reader(service.config.zendesk, world, transport=transport)

    def start(self) -> None:
        review = self.service.config.review
        if review.cron is None:
            return
        scheduler = ReviewScheduler(
            SlotLeases(self.service.store), review, self._deliver, clock=self.clock, sleep=self.sleep
        )
        self._task = asyncio.create_task(scheduler.run_forever(), name="weekly-review")
        log.info("weekly review scheduled: %s (UTC)", review.cron)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _deliver(self, slot: datetime) -> None:
        reader = self.reader()
        try:
            _, path = await deliver_review(
                self.service.store,
                reader,
                self.service.config.review,
                slot,
                poster=self.poster,
                tenant=self.service.config.tenant,
            )
        finally:
            if reader is not None:
                await reader.aclose()
        log.info("weekly review for %s written to %s", slot.isoformat(), path)
