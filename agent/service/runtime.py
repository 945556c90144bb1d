"""The service's state and work: the store, the environment, the worker that runs queued
investigations, the helpdesk client, authentication, and the live event hub the SSE streams wait on.

Routes (:mod:`casefile.agent.service.routes`) read and submit through :class:`InvestigationService`;
accepted work is durable: it is a row in the store, run by whichever replica's
:class:`~casefile.agent.service.worker.Worker` claims it under a lease, on-demand requests (sidebar,
API) before background ones (webhook), then its internal note.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from casefile.agent.config import Settings
from casefile.agent.diagnosis import Diagnosis
from casefile.agent.events import Event
from casefile.agent.handoff.deliver import Handoff
from casefile.agent.helpdesk import Helpdesk
from casefile.agent.metrics.runtime import MetricsRuntime
from casefile.agent.models.base import Model
from casefile.agent.pipeline import Environment, open_environment, run_investigation
from casefile.agent.redact import redact
from casefile.agent.service.auth import Authenticator, Principal, RateLimiter
from casefile.agent.service.eventlog import EventLog
from casefile.agent.service.links import source_links
from casefile.agent.service.schemas import InvestigationView, investigation_links
from casefile.agent.service.worker import Worker, call_on
from casefile.agent.store import (
    Claim,
    DuplicateInvestigation,
    FeedbackRecord,
    InvestigationRecord,
    Store,
    StoreUnavailable,
)
from casefile.agent.ticket import Ticket
from casefile.tools.deadline import Deadline

__all__ = ["TERMINAL", "InvestigationService", "ModelFactory"]

log = logging.getLogger("casefile.service")

TERMINAL = ("done", "failed", "interrupted")
KEEPALIVE_S = 15.0
_MIN_DELIVERY_S = 3.0

ModelFactory = Callable[[Ticket], Model]
"""Builds the model for one investigation (tests inject a ScriptedModel); None → settings.model."""


class _Hub:
    """Wakes the SSE streams of an investigation when something new is stored for it."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def waiter(self, key: str) -> asyncio.Event:
        return self._events.setdefault(key, asyncio.Event())

    def publish(self, key: str) -> None:
        """From the event loop or from a thread (a route's store work runs off the loop)."""
        call_on(self._loop, self._set, key)

    def _set(self, key: str) -> None:
        event = self._events.pop(key, None)
        if event is not None:
            event.set()


class InvestigationService:
    """State shared by the routes: store, environment, worker, helpdesk, auth."""

    def __init__(
        self,
        settings: Settings,
        *,
        env: Environment | None,
        model_factory: ModelFactory | None,
        store: Store | None,
        world: str | Path | None,
        helpdesk_transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.settings = settings
        self.config = settings.service
        self._env = env
        self._owns_env = env is None
        self._world = world
        self.model_factory = model_factory
        self._store = store
        self._owns_store = store is None
        # The service's one helpdesk ([service] helpdesk); unconfigured, it refuses to fetch or post.
        self.helpdesk: Helpdesk = self.config.open_helpdesk(transport=helpdesk_transport)
        self.handoff: Handoff | None = None
        self.helpdesk_transport = helpdesk_transport  # the metrics read ticket outcomes through it too
        hs = self.helpdesk.settings
        self.auth = Authenticator(
            self.config.tokens,
            hs.app_shared_secret,
            jwt_max_age_s=hs.jwt_max_age_s,
            tenant=self.config.tenant,
            jwt_issuer=self.helpdesk.app_jwt_issuer(),
            helpdesk=self.helpdesk.name,
        )
        self.limiter = RateLimiter(self.config.rate_limit_per_minute, self.config.rate_limit_burst)
        self.hub = _Hub()
        self.worker = Worker(
            lambda: self.store,
            self._run,
            concurrency=self.config.concurrency,
            reserve=self.config.on_demand_reserve,
            lease_s=self.config.lease_s,
            poll_s=self.config.poll_s,
            on_store_error=self.store_health,
        )
        # Why the store last refused a write (None: healthy); /healthz reports it.
        self.store_error: str | None = None
        self.metrics = MetricsRuntime(self)  # /metrics counters and the weekly review's schedule

    @property
    def store(self) -> Store:
        assert self._store is not None, "the service has not started"
        return self._store

    @property
    def opened(self) -> bool:
        """Whether the environment (tools, runbooks) is open: it opens when the service starts."""
        return self._env is not None

    @property
    def env(self) -> Environment:
        assert self._env is not None, "the service has not started"
        return self._env

    async def start(self) -> None:
        self.hub.bind(asyncio.get_running_loop())
        if self._store is None:
            self._store = await asyncio.to_thread(Store, self.config.database_url)
        claimed = await asyncio.to_thread(self.store.claim_untenanted, self.config.tenant)
        if claimed:
            log.info(
                "%d investigation(s) stored before tenants existed now belong to %s",
                claimed,
                self.config.tenant,
            )
        # Work left by a stopped process is not marked anything: its leases expire and a worker (this
        # one, or another replica) resumes it. A second process never touches the first's running work.
        if self._env is None:
            self._env = await asyncio.to_thread(open_environment, self.settings, self._world)
        self._reload_on_sighup()
        self.handoff = Handoff(self.store, self.settings, self.helpdesk)
        self.worker.start()
        self.metrics.start()

    def store_health(self, exc: BaseException | None) -> None:
        """Record whether the store took the last write (None: it did); /healthz reports it."""
        self.store_error = None if exc is None else f"{type(exc).__name__}: {str(exc)[:200]}"

    def _reload_on_sighup(self) -> None:
        """``kill -HUP`` reloads the runbooks at once (they also reload when their files change)."""
        env = self.env

        def reload() -> None:
            env.refresh_runbooks(force=True)
            for problem in env.runbook_problems:
                log.warning("runbook disabled: %s", problem)
            log.info(
                "runbooks reloaded: %d loaded, %d disabled", len(env.runbooks), len(env.runbook_problems)
            )

        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            return  # not the main thread (tests), or no SIGHUP on this platform

    async def stop(self) -> None:
        await self.metrics.stop()
        released = await self.worker.aclose()  # the work goes back to the store for whoever is next
        if released:
            log.info(
                "%d investigation(s) handed back unfinished; they resume on the next worker", len(released)
            )
        await self.helpdesk.aclose()
        if self._owns_env and self._env is not None:
            await self._env.aclose()
        elif self._env is not None:  # the model clients were opened in this event loop: close them in it
            await self._env.release_providers()
        if self._owns_store and self._store is not None:
            self._store.close()

    # -------------------------------------------------------------- submitting

    def submit(
        self,
        ticket: Ticket,
        *,
        source: str,
        principal: Principal,
        priority: str,
        helpdesk_ticket_id: int | None = None,
        rerun_of: str | None = None,
        post_note: bool = False,
    ) -> tuple[str, bool]:
        """Queue an investigation for the caller's tenant; returns (id, existing) where existing means
        one was already active (for that tenant: another tenant's same ticket is another investigation).

        The row is the durable job: once this returns, the investigation (and with ``post_note``, its
        internal note on ``helpdesk_ticket_id``) will be finished by some worker, whatever crashes.
        It writes to the store: call it off the event loop (a route's thread, ``asyncio.to_thread``)."""
        key = _idempotency_key(ticket, principal.tenant)
        deliver_to = (
            str(helpdesk_ticket_id)
            if post_note
            and helpdesk_ticket_id is not None
            and self.helpdesk.configured
            and self.helpdesk.settings.post_notes
            else None
        )
        # A webhook's resend must not note a revision twice; a re-run asked for by a person may.
        active = self.store.find_active(key, noted=deliver_to is not None and rerun_of is None)
        if active is None:
            try:
                inv = self.store.create_investigation(
                    ticket,
                    source=source,
                    requested_by=principal.name,
                    priority=priority,  # type: ignore[arg-type]
                    idempotency_key=key,
                    rerun_of=rerun_of,
                    tenant=principal.tenant,
                    deliver_to=deliver_to,
                )
            except DuplicateInvestigation as dup:  # another process got there first
                active = dup.existing_id
            else:
                self.worker.wake()
                return inv, False
        if priority == "on_demand" and self.store.promote(active):  # an agent is now waiting for it
            self.worker.wake()
        return active, True

    # -------------------------------------------------------------- running

    def record_event(self, inv: str, event: Event) -> None:
        """Store an event of ``inv`` and wake its SSE streams (off the event loop: it waits for the
        store; a running investigation's events go through its :class:`EventLog`)."""
        self.store.add_event(inv, event)
        self.hub.publish(inv)

    async def _run(self, claim: Claim) -> None:
        """One claimed piece of work: the investigation, then (for a webhook) its internal note."""
        budgets = self.settings.budgets
        deadline = Deadline.after(budgets.deadline_s, call_cap_s=budgets.tool_timeout_s)
        if claim.phase == "investigate":
            record = await self._investigate(claim, deadline)
        else:
            record = await asyncio.to_thread(self.store.get, claim.id)
        if record is None or record.diagnosis is None or claim.deliver_to is None:
            return
        # The note shares what is left of the investigation's deadline, with a floor so a run that
        # used all of it still gets its note out (a failed attempt is retried later, durably).
        timeout = min(self.helpdesk.settings.timeout_s, max(deadline.remaining(), _MIN_DELIVERY_S))
        await self._deliver(claim, record, record.diagnosis, timeout)

    async def _investigate(self, claim: Claim, deadline: Deadline) -> InvestigationRecord | None:
        inv = claim.id
        # Every store call of a run waits in a thread: a store that stops answering holds this
        # investigation, not the event loop (the other requests, /healthz, other tenants' work).
        ticket, head = await asyncio.to_thread(lambda: (self.store.ticket(inv), self.store.get(inv)))
        if ticket is None or head is None:
            return None
        self.hub.publish(inv)
        events = EventLog(self.store, inv, self.hub.publish)
        if claim.attempt > 1:
            events.add(Event(kind="investigation_resumed", data={"attempt": claim.attempt}))
        try:
            model = self.model_factory(ticket) if self.model_factory else None
            result = await run_investigation(
                ticket,
                self.env,
                self.settings,
                model=model,
                on_event=events.add,
                deadline=deadline,
                tenant=head.tenant or self.config.tenant,  # its calls read its tenant's history only
            )
            accounts = self.env.directory.as_mapping() if self.env.directory else None
            links = source_links(
                result.outcomes,
                accounts=accounts,
                clickhouse_play_url=self.config.clickhouse_play_url,
                own=result.diagnosis.account_id,
            )
            await events.flush()  # stored before the result that ends the stream
            if not await asyncio.to_thread(
                self.store.save_result, inv, result, claim.requested_by, links=links, owner=self.worker.owner
            ):
                log.warning("investigation %s: another worker took it over; this result is dropped", inv)
                return None
            self.metrics.prometheus.observe(result)
        except asyncio.CancelledError:
            events.abandon()
            raise  # a stop or a lost lease: the lease (released or expired) hands it on
        except StoreUnavailable:
            # The store failed, not the investigation: recorded as failed, its note would never be
            # posted. The worker hands it back uncounted and runs it again once the store answers.
            raise
        except Exception as exc:
            with contextlib.suppress(Exception):
                await events.flush()  # what happened before the failure, then the failure
            await asyncio.to_thread(self._fail, inv, exc)
            return None
        self.store_health(None)
        self.hub.publish(inv)
        return await asyncio.to_thread(self.store.get, inv)

    def _fail(self, inv: str, exc: BaseException) -> None:
        """Record a failed investigation; when the store cannot even take that, /healthz says so."""
        reason = redact(f"{type(exc).__name__}: {exc}")[0][:500]
        log.warning("investigation %s failed: %s", inv, reason)
        self.metrics.prometheus.failed()
        try:
            self.record_event(inv, Event(kind="investigation_failed", data={"reason": reason}))
            self.store.set_status(inv, "failed", reason)
        except Exception as store_exc:
            log.error("investigation %s: the store refused its failure too: %s", inv, store_exc)
            self.store_health(store_exc)
        self.hub.publish(inv)

    async def _deliver(
        self, claim: Claim, record: InvestigationRecord, diagnosis: Diagnosis, timeout_s: float
    ) -> None:
        """The hand-off (agent/handoff/deliver.py): the note with the team's ticket fields, the Slack
        message, bounce notes; each write once, the job retried until every one is settled."""
        inv, owner = claim.id, self.worker.owner
        assert claim.deliver_to is not None and self.handoff is not None
        if record.source == "webhook":
            await asyncio.to_thread(self.handoff.plan, record, diagnosis, claim.deliver_to)
        result = await self.handoff.deliver(
            inv, requested_by=claim.requested_by, timeout_s=timeout_s, attempt=claim.attempt
        )
        if not result.settled:
            log.warning(
                "investigation %s: hand-off pending (%s); retry in %.0f s",
                inv,
                result.error,
                result.retry_in_s,
            )
            await asyncio.to_thread(
                self.store.release,
                inv,
                owner,
                retry_in_s=result.retry_in_s,
                error=f"hand-off not delivered yet: {result.error}",
            )
            self.hub.publish(inv)
            return
        await asyncio.to_thread(self.store.mark_delivered, inv, owner)
        delivered = Event(
            kind="note_delivered",
            data={"helpdesk": self.helpdesk.name, self.helpdesk.ticket_id_key(): int(claim.deliver_to)},
        )
        await asyncio.to_thread(self.record_event, inv, delivered)

    def bounced(self, record: InvestigationRecord, entry: FeedbackRecord) -> None:
        """A bounce owes the ticket an internal note: queued durably for the workers (off the loop)."""
        ticket = self.handoff.bounce_ticket(record) if self.handoff else None
        if ticket is not None and self.helpdesk.configured and self.helpdesk.settings.post_notes:
            assert self.handoff is not None
            self.handoff.queue_bounce(entry, ticket)
            self.worker.wake()

    # -------------------------------------------------------------- reading

    def account_id(self, wanted: str) -> str | None:
        """The directory's id for ``wanted`` (any case or width), or None when it names no account."""
        from casefile.tools.base import same_account

        directory = self.env.directory
        ids = directory.ids() if directory is not None else []
        return next((a for a in ids if same_account(a, wanted)), None)

    def view(self, record: InvestigationRecord) -> InvestigationView:
        sources = (
            {row.call_id: row.link for row in self.store.audit(record.id) if row.link}
            if record.diagnosis
            else {}
        )
        return InvestigationView(
            **record.model_dump(exclude={"revision"}),
            sources=sources,
            links=investigation_links(record.id),
            handoff=self.handoff.status(record.id) if self.handoff else None,
        )

    async def stream(self, inv: str, after: int) -> AsyncIterator[str]:
        """SSE frames: stored events after ``after``, then live ones, then ``end`` with the final status."""
        while True:
            changed = self.hub.waiter(inv)  # taken before reading, so nothing published in between is missed
            batch = await asyncio.to_thread(self.store.events, inv, after)
            for seq, event in batch:
                yield f"id: {seq}\nevent: {event.kind}\ndata: {event.model_dump_json()}\n\n"
                after = seq
            if batch:
                continue
            record = await asyncio.to_thread(self.store.get, inv)
            if record is None or record.status in TERMINAL:
                status = record.status if record else "unknown"
                yield f"event: end\ndata: {json.dumps({'id': inv, 'status': status})}\n\n"
                return
            try:
                await asyncio.wait_for(changed.wait(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"


def _idempotency_key(ticket: Ticket, tenant: str) -> str:
    """The same tenant's same ticket at the same revision (without a revision, the same content)
    and the same account named on it (a confirmed account is a new question)."""
    revision = ticket.revision
    if not revision:
        digest = hashlib.sha256(ticket.model_dump_json(exclude={"created_at"}).encode()).hexdigest()
        revision = "sha256:" + digest[:32]
    account = f"#{ticket.account_id}" if ticket.account_id else ""
    return f"{tenant}/{ticket.id}@{revision}{account}"
