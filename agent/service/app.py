"""The investigation service: an ASGI app (FastAPI) in front of :func:`casefile.agent.pipeline.run_investigation`.

=========================================  =============================================================
``POST /v1/investigations``                a ticket (casefile's format or a Zendesk export) or
                                           ``{"zendesk_ticket_id": N}`` (re-read from Zendesk) → 202 {id}
``GET  /v1/investigations``                recent investigations (``?status=``, ``?since=``)
``GET  /v1/investigations/{id}``           status, diagnosis, and a link to each cited source
``GET  /v1/investigations/{id}/events``    Server-Sent Events: replayed from the store, then live
``GET  /v1/investigations/{id}/audit``     every tool call: tool, arguments, duration, outcome, who asked
``POST /v1/investigations/{id}/rerun``     investigate the same ticket again (after an interruption)
``POST /v1/investigations/{id}/feedback``  bounce-back: ``{"bounced": true, "article": URL, "note": ...}``
``POST /v1/investigations/{id}/confirm-account``  an agent confirms a candidate account: investigate again with it
``GET  /v1/reports/escalations?since=7d``  the weekly escalation review (JSON)
``POST /v1/webhooks/zendesk``              signed Zendesk webhook: investigate a new ticket, post a note
``GET  /healthz``                          liveness, queue depth (no authentication, nothing private)
``GET  /app/``                             the sidebar page, usable standalone against this service
=========================================  =============================================================

Every ``/v1`` request is authenticated (a configured bearer token, or a JWT
signed with the Zendesk app's shared secret; the webhook by its signature),
rate-limited per caller, and size-limited. Each caller belongs to a tenant and
sees only that tenant's investigations: another tenant's is a 404, as if it did not exist. Every 4xx has a JSON body
``{"error": {"code": ..., "message": ...}}``, and a rejected request stores nothing.

Accepted work is durable: it is a row in the store, run by whichever replica's
:class:`~casefile.agent.service.worker.Worker` claims it under a lease, on-demand
requests (sidebar, API) before background ones (webhook), then its internal note.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from casefile import PACKAGE_DIR
from casefile.agent.config import Settings
from casefile.agent.diagnosis import Diagnosis
from casefile.agent.events import Event
from casefile.agent.handoff.bounce import InvalidBounce, NotEscalated, parse_bounce, record_bounce
from casefile.agent.handoff.deliver import DeliveryStatus, Handoff
from casefile.agent.handoff.routes import bounce_router
from casefile.agent.helpdesk import FetchedTicket, Helpdesk, HelpdeskError, WebhookRefused
from casefile.agent.helpdesk.zendesk import ZendeskHelpdesk
from casefile.agent.helpdesk.zendesk import ticket_id as _zendesk_id
from casefile.agent.intake import TicketError, parse_ticket
from casefile.agent.metrics.runtime import MetricsRuntime
from casefile.agent.models.base import Model
from casefile.agent.pipeline import Environment, open_environment, run_investigation
from casefile.agent.redact import redact
from casefile.agent.service import openapi
from casefile.agent.service.auth import Authenticator, AuthError, Principal, RateLimiter
from casefile.agent.service.links import source_links
from casefile.agent.service.worker import Worker
from casefile.agent.store import Claim, DuplicateInvestigation, FeedbackRecord, InvestigationRecord, Store
from casefile.agent.ticket import Ticket
from casefile.tools.deadline import Deadline

__all__ = ["ApiError", "ModelFactory", "create_app"]

log = logging.getLogger("casefile.service")

ASSETS = PACKAGE_DIR / "integrations" / "zendesk" / "assets"
TERMINAL = ("done", "failed", "interrupted")
_ID_RE = re.compile(r"^inv_[0-9a-f]{16}$")
KEEPALIVE_S = 15.0
_MAX_SEQ = 2**62  # an event sequence number; larger values would not fit the store's integers
_MIN_DELIVERY_S = 3.0

ModelFactory = Callable[[Ticket], Model]
"""Builds the model for one investigation (tests inject a ScriptedModel); None → settings.model."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ApiError(Exception):
    """A client error with a JSON body: ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


# ------------------------------------------------------------------ response models (OpenAPI)


class InvestigationCreated(BaseModel):
    id: str
    status: str
    ticket_id: str
    existing: bool = False
    links: dict[str, str]


class InvestigationView(BaseModel):
    id: str
    ticket_id: str
    tenant: str | None = None
    status: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    source: str
    requested_by: str
    priority: str
    error: str | None = None
    rerun_of: str | None = None
    diagnosis: Diagnosis | None = None
    sources: dict[str, dict[str, Any]] = {}
    links: dict[str, str]
    handoff: DeliveryStatus | None = Field(default=None, description="the hand-off's writes and their state")


class FeedbackIn(BaseModel):
    bounced: bool
    article: str | None = None
    snippet: str | None = None
    note: str | None = Field(default=None, description="a bounce's reason: one or two sentences")
    via: Literal["api", "sidebar"] = "api"


class ConfirmAccountIn(BaseModel):
    account_id: str | None = None
    """The account the agent confirmed; default: the investigation's candidate."""


class Skipped(BaseModel):
    skipped: str


# ------------------------------------------------------------------ size limit


class BodyLimit:
    """Refuses bodies over ``max_bytes`` with 413: by Content-Length up front, else while reading."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise ApiError(413, "payload_too_large", self._message())
            return message

        await self.app(scope, limited, send)

    def _message(self) -> str:
        return f"request body exceeds {self.max_bytes} bytes"

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _error(413, "payload_too_large", self._message(), {"Connection": "close"})
        await response(scope, receive, send)


# ------------------------------------------------------------------ the service


class _Hub:
    """Wakes the SSE streams of an investigation when something new is stored for it."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def waiter(self, key: str) -> asyncio.Event:
        return self._events.setdefault(key, asyncio.Event())

    def publish(self, key: str) -> None:
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
        zendesk_transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.settings = settings
        self.config = settings.service
        self._env = env
        self._owns_env = env is None
        self._world = world
        self.model_factory = model_factory
        self._store = store
        self._owns_store = store is None
        # The service's one helpdesk (Zendesk); unconfigured, it refuses to fetch or post.
        self.helpdesk: Helpdesk = ZendeskHelpdesk(self.config.zendesk, transport=zendesk_transport)
        self.handoff: Handoff | None = None
        self.helpdesk_transport = zendesk_transport  # the metrics read ticket outcomes through it too
        zc = self.config.zendesk
        self.auth = Authenticator(
            self.config.tokens,
            zc.app_shared_secret,
            jwt_max_age_s=zc.jwt_max_age_s,
            tenant=self.config.tenant,
            jwt_issuer=self.helpdesk.app_jwt_issuer(),
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
            on_store_error=self._store_health,
        )
        # Why the store last refused a write (None: healthy); /healthz reports it.
        self.store_error: str | None = None
        self.metrics = MetricsRuntime(self)  # /metrics counters and the weekly review's schedule

    @property
    def store(self) -> Store:
        assert self._store is not None, "the service has not started"
        return self._store

    @property
    def env(self) -> Environment:
        assert self._env is not None, "the service has not started"
        return self._env

    async def start(self) -> None:
        if self._store is None:
            self._store = Store(self.config.database_url)
        claimed = self.store.claim_untenanted(self.config.tenant)
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

    def _store_health(self, exc: BaseException | None) -> None:
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
        zendesk_ticket_id: int | None = None,
        rerun_of: str | None = None,
        post_note: bool = False,
    ) -> tuple[str, bool]:
        """Queue an investigation for the caller's tenant; returns (id, existing) where existing means
        one was already active (for that tenant: another tenant's same ticket is another investigation).

        The row is the durable job: once this returns, the investigation (and with ``post_note``, its
        internal note on ``zendesk_ticket_id``) will be finished by some worker, whatever crashes."""
        key = _idempotency_key(ticket, principal.tenant)
        deliver_to = (
            str(zendesk_ticket_id)
            if post_note
            and zendesk_ticket_id is not None
            and self.helpdesk.configured
            and self.helpdesk.posts_notes
            else None
        )
        active = self.store.find_active(key)
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

    def _record_event(self, inv: str, event: Event) -> None:
        self.store.add_event(inv, event)
        self.hub.publish(inv)

    async def _run(self, claim: Claim) -> None:
        """One claimed piece of work: the investigation, then (for a webhook) its internal note."""
        budgets = self.settings.budgets
        deadline = Deadline.after(budgets.deadline_s, call_cap_s=budgets.tool_timeout_s)
        if claim.phase == "investigate":
            record = await self._investigate(claim, deadline)
        else:
            record = self.store.get(claim.id)
        if record is None or record.diagnosis is None or claim.deliver_to is None:
            return
        # The note shares what is left of the investigation's deadline, with a floor so a run that
        # used all of it still gets its note out (a failed attempt is retried later, durably).
        timeout = min(self.helpdesk.timeout_s, max(deadline.remaining(), _MIN_DELIVERY_S))
        await self._deliver(claim, record, record.diagnosis, timeout)

    async def _investigate(self, claim: Claim, deadline: Deadline) -> InvestigationRecord | None:
        inv = claim.id
        ticket = self.store.ticket(inv)
        if ticket is None:
            return None
        self.hub.publish(inv)
        if claim.attempt > 1:
            self._record_event(inv, Event(kind="investigation_resumed", data={"attempt": claim.attempt}))
        try:
            model = self.model_factory(ticket) if self.model_factory else None
            result = await run_investigation(
                ticket,
                self.env,
                self.settings,
                model=model,
                on_event=lambda e: self._record_event(inv, e),
                deadline=deadline,
            )
            accounts = self.env.directory.as_mapping() if self.env.directory else None
            links = source_links(
                result.outcomes, accounts=accounts, clickhouse_play_url=self.config.clickhouse_play_url
            )
            if not self.store.save_result(
                inv, result, claim.requested_by, links=links, owner=self.worker.owner
            ):
                log.warning("investigation %s: another worker took it over; this result is dropped", inv)
                return None
            self.metrics.prometheus.observe(result)
        except asyncio.CancelledError:
            raise  # a stop or a lost lease: the lease (released or expired) hands it on
        except Exception as exc:
            self._fail(inv, exc)
            return None
        self._store_health(None)
        self.hub.publish(inv)
        return self.store.get(inv)

    def _fail(self, inv: str, exc: BaseException) -> None:
        """Record a failed investigation; when the store cannot even take that, /healthz says so."""
        reason = redact(f"{type(exc).__name__}: {exc}")[0][:500]
        log.warning("investigation %s failed: %s", inv, reason)
        self.metrics.prometheus.failed()
        try:
            self._record_event(inv, Event(kind="investigation_failed", data={"reason": reason}))
            self.store.set_status(inv, "failed", reason)
        except Exception as store_exc:
            log.error("investigation %s: the store refused its failure too: %s", inv, store_exc)
            self._store_health(store_exc)
        self.hub.publish(inv)

    async def _deliver(
        self, claim: Claim, record: InvestigationRecord, diagnosis: Diagnosis, timeout_s: float
    ) -> None:
        """The hand-off (agent/handoff/deliver.py): the note with the team's ticket fields, the Slack
        message, bounce notes; each write once, the job retried until every one is settled."""
        inv, owner = claim.id, self.worker.owner
        assert claim.deliver_to is not None and self.handoff is not None
        if record.source == "webhook":
            self.handoff.plan(record, diagnosis, claim.deliver_to)
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
            self.store.release(
                inv, owner, retry_in_s=result.retry_in_s, error=f"hand-off not delivered yet: {result.error}"
            )
            self.hub.publish(inv)
            return
        self.store.mark_delivered(inv, owner)
        self._record_event(
            inv, Event(kind="note_delivered", data={"zendesk_ticket_id": int(claim.deliver_to)})
        )

    def bounced(self, record: InvestigationRecord, entry: FeedbackRecord) -> None:
        """A bounce owes the ticket an internal note: queued durably for the workers."""
        ticket = self.handoff.bounce_ticket(record) if self.handoff else None
        if ticket is not None and self.helpdesk.configured and self.helpdesk.posts_notes:
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
            links=_links(record.id),
            handoff=self.handoff.status(record.id) if self.handoff else None,
        )

    async def stream(self, inv: str, after: int) -> AsyncIterator[str]:
        """SSE frames: stored events after ``after``, then live ones, then ``end`` with the final status."""
        while True:
            changed = self.hub.waiter(inv)  # taken before reading, so nothing published in between is missed
            batch = self.store.events(inv, after)
            for seq, event in batch:
                yield f"id: {seq}\nevent: {event.kind}\ndata: {event.model_dump_json()}\n\n"
                after = seq
            if batch:
                continue
            record = self.store.get(inv)
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


def _links(inv: str) -> dict[str, str]:
    base = f"/v1/investigations/{inv}"
    return {"self": base, "events": f"{base}/events", "audit": f"{base}/audit"}


def _json_body(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(400, "invalid_json", "the request body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the request body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"the request body is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the request body is nested too deeply") from None


def _caller(request: Request) -> Principal:
    """The authenticated, rate-limited caller of a ``/v1`` route (a FastAPI dependency)."""
    service: InvestigationService = request.app.state.service
    try:
        principal = service.auth.authenticate(request.headers.get("authorization"))
    except AuthError as exc:
        # Failed attempts are limited per address, so tokens cannot be guessed at speed.
        client = request.client.host if request.client else "unknown"
        wait = service.limiter.check(f"anonymous:{client}")
        if wait:
            raise ApiError(
                429, "rate_limited", "too many failed attempts", {"Retry-After": str(int(wait))}
            ) from None
        raise ApiError(401, exc.code, exc.message, {"WWW-Authenticate": "Bearer"}) from None
    wait = service.limiter.check(principal.name)
    if wait:
        raise ApiError(
            429,
            "rate_limited",
            f"rate limit exceeded; retry in {int(wait)} s",
            {"Retry-After": str(int(wait))},
        )
    return principal


Caller = Annotated[Principal, Depends(_caller)]


# ------------------------------------------------------------------ the app


def create_app(
    settings: Settings,
    *,
    env: Environment | None = None,
    model_factory: ModelFactory | None = None,
    store: Store | None = None,
    world: str | Path | None = None,
    zendesk_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The service as an ASGI app. ``env``/``store``/``model_factory``/``zendesk_transport`` are for tests;
    by default the store comes from ``settings.service.database_url`` and the environment from
    :func:`open_environment` (a world, or the live systems), opened when the app starts."""
    service = InvestigationService(
        settings,
        env=env,
        model_factory=model_factory,
        store=store,
        world=world,
        zendesk_transport=zendesk_transport,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="casefile",
        summary="Investigates support tickets with read-only tools and returns grounded diagnoses.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    openapi.install(app)

    # -------------------------------------------------------------- errors: always JSON

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return _error(500, "internal_error", "internal error; the service log has the details")

    # -------------------------------------------------------------- auth

    def record_or_404(inv: str, principal: Principal) -> InvestigationRecord:
        # Another tenant's investigation answers exactly like one that does not exist.
        record = service.store.get(inv, tenant=principal.tenant) if _ID_RE.match(inv) else None
        if record is None:
            raise ApiError(404, "not_found", f"no investigation {inv[:40]!r}")
        return record

    async def from_zendesk(ticket_id: int) -> FetchedTicket:
        if not service.helpdesk.configured:
            raise ApiError(400, "zendesk_not_configured", "this service has no Zendesk configured")
        try:
            return await service.helpdesk.fetch_ticket(ticket_id, source="zendesk")
        except HelpdeskError as exc:
            if exc.status == 404:
                raise ApiError(
                    404, "zendesk_ticket_not_found", f"Zendesk has no ticket {ticket_id}"
                ) from None
            raise ApiError(502, "zendesk_unavailable", str(exc)) from None
        except TicketError as exc:
            raise ApiError(422, "invalid_ticket", f"Zendesk ticket {ticket_id}: {exc}") from None

    # -------------------------------------------------------------- routes

    @app.get("/healthz", tags=["service"])
    async def healthz() -> Response:
        """Liveness and queue depth; a runbook that cannot load is listed (the others keep working)."""
        health: dict[str, Any] = {"status": "ok", "running": service.worker.running}
        try:
            health["queued"] = service.store.pending()
        except Exception as exc:
            service._store_health(exc)
        if service.store_error is not None:
            # Writes are failing (a full disk, a lost database): accepted work cannot be recorded.
            health.update(status="unhealthy", store=service.store_error)
            return JSONResponse(health, status_code=503)
        if service._env is not None:
            env = service.env
            env.refresh_runbooks()
            health["runbooks"] = {
                "loaded": len(env.runbooks),
                "disabled": [f"{Path(p.file).name}:{p.line}: {p.reason}" for p in env.runbook_problems],
            }
            if env.runbook_problems:
                health["status"] = "degraded"
        return JSONResponse(health)

    @app.post(
        "/v1/investigations",
        status_code=202,
        response_model=InvestigationCreated,
        tags=["investigations"],
        # The body is read by hand (a ticket, or a Zendesk ticket id): described in openapi.py.
    )
    async def create(request: Request, principal: Caller) -> InvestigationCreated:
        """Start an investigation (on-demand priority). The same ticket revision is not investigated twice at once."""
        payload = _json_body(await request.body())
        zendesk_id: int | None = None
        if isinstance(payload, dict) and "zendesk_ticket_id" in payload:
            zendesk_id = _zendesk_id(payload["zendesk_ticket_id"])
            if zendesk_id is None:
                raise ApiError(422, "invalid_request", "zendesk_ticket_id must be a positive integer")
            if principal.tenant != service.config.tenant:
                # The service's Zendesk is its own tenant's helpdesk: another tenant may not read it.
                raise ApiError(403, "forbidden", "this caller's tenant cannot read tickets from this Zendesk")
            # The page only names the ticket; its content comes from Zendesk itself.
            ticket = (await from_zendesk(zendesk_id)).ticket
            source = "zendesk"
        else:
            try:
                # created_at is required, as on the command line: it is the investigation's "now".
                ticket = parse_ticket(payload, source_name="api", source="api")
            except TicketError as exc:
                raise ApiError(422, "invalid_ticket", str(exc)) from None
            source = "api"
        inv, existing = service.submit(
            ticket, source=source, principal=principal, priority="on_demand", zendesk_ticket_id=zendesk_id
        )
        record = service.store.get(inv)
        return InvestigationCreated(
            id=inv,
            status=record.status if record else "queued",
            ticket_id=ticket.id,
            existing=existing,
            links=_links(inv),
        )

    @app.get("/v1/investigations", response_model=list[InvestigationView], tags=["investigations"])
    async def list_investigations(
        principal: Caller, status: str | None = None, since: datetime | None = None
    ) -> list[InvestigationView]:
        """Recent investigations, newest first (at most 500)."""
        if since is not None and since.tzinfo is None:
            raise ApiError(422, "invalid_request", "since needs a timezone")
        try:
            since = since.astimezone(UTC) if since is not None else None
        except OverflowError:  # 0001-01-01T00:00:00+14:00 is before UTC's year 1
            raise ApiError(422, "invalid_request", "since is out of range") from None
        records = service.store.list(since=since, status=status, tenant=principal.tenant)
        return [service.view(r) for r in records[:500]]

    @app.get("/v1/investigations/{inv}", response_model=InvestigationView, tags=["investigations"])
    async def get_investigation(inv: str, principal: Caller) -> InvestigationView:
        """Status and, once done, the Diagnosis with a link to each cited source."""
        return service.view(record_or_404(inv, principal))

    @app.get("/v1/investigations/{inv}/audit", tags=["investigations"])
    async def get_audit(inv: str, principal: Caller) -> list[dict[str, Any]]:
        """Every tool call of the investigation: tool, arguments, duration, outcome, who asked."""
        record_or_404(inv, principal)
        return [row.model_dump(mode="json") for row in service.store.audit(inv)]

    @app.get(
        "/v1/investigations/{inv}/events",
        tags=["investigations"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "progress events (SSE)"}},
    )
    async def get_events(
        request: Request,
        inv: str,
        principal: Caller,
        after: Annotated[int, Query(ge=0, le=_MAX_SEQ)] = 0,
        format: Literal["sse", "json"] = "sse",
    ) -> Response:
        """Server-Sent Events: every stored event (id = sequence number), then live ones, then ``end``.

        ``?format=json`` returns the events stored so far and the status instead (for polling)."""
        record = record_or_404(inv, principal)
        last = request.headers.get("last-event-id", "").strip()
        if last and not re.fullmatch(r"[0-9]{1,18}", last):
            raise ApiError(400, "invalid_request", "Last-Event-ID must be an event's sequence number")
        start = int(last) if last else after
        if format == "json":
            # For clients that cannot stream (the Zendesk proxy): what is stored so far, and the status.
            events = [
                {"seq": seq, "event": e.model_dump(mode="json")}
                for seq, e in service.store.events(inv, start)
            ]
            return JSONResponse({"id": inv, "status": record.status, "events": events})
        return StreamingResponse(
            service.stream(inv, start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.post(
        "/v1/investigations/{inv}/rerun",
        status_code=202,
        response_model=InvestigationCreated,
        tags=["investigations"],
    )
    async def rerun(inv: str, principal: Caller) -> InvestigationCreated:
        """Investigate the same (stored, redacted) ticket again; the new investigation links back with rerun_of."""
        record = record_or_404(inv, principal)
        if record.status not in TERMINAL:
            raise ApiError(409, "still_active", f"investigation {inv} is {record.status}")
        ticket = service.store.ticket(inv)
        assert ticket is not None
        # A webhook investigation's re-run posts its own note, as the first one did.
        webhook = record.source == "webhook"
        new, existing = service.submit(
            ticket,
            source=record.source,
            principal=principal,
            priority="on_demand",
            rerun_of=inv,
            zendesk_ticket_id=_zendesk_id(ticket.id) if webhook else None,
            post_note=webhook,
        )
        return InvestigationCreated(
            id=new, status="queued", ticket_id=ticket.id, existing=existing, links=_links(new)
        )

    @app.post("/v1/investigations/{inv}/feedback", status_code=201, tags=["feedback"])
    async def post_feedback(inv: str, body: FeedbackIn, principal: Caller) -> dict[str, Any]:
        """Record that an escalation bounced back (or was right), with the article that should have prevented it."""
        record = record_or_404(inv, principal)
        if body.bounced:
            try:
                bounce = parse_bounce(body.article, body.snippet, body.note)
                entry = record_bounce(service.store, record, bounce, by=principal.name, via=body.via)
            except InvalidBounce as exc:
                raise ApiError(422, "invalid_request", str(exc)) from None
            except NotEscalated as exc:
                raise ApiError(409, "not_escalated", str(exc)) from None
            service.bounced(record, entry)
        else:
            if body.article is not None and not re.match(r"^https?://\S+$", body.article):
                raise ApiError(422, "invalid_request", "article must be an http(s) URL")
            service.store.add_feedback(
                inv, bounced=False, article=body.article, note=body.note, by=principal.name, via=body.via
            )
        return {"id": inv, "bounced": body.bounced, "recorded_by": principal.name}

    @app.post(
        "/v1/investigations/{inv}/confirm-account",
        status_code=202,
        response_model=InvestigationCreated,
        tags=["investigations"],
    )
    async def confirm_account(
        inv: str, principal: Caller, body: ConfirmAccountIn | None = None
    ) -> InvestigationCreated:
        """An agent confirms the investigation's candidate account (or names the right one): the ticket is
        investigated again with that account named on it, so the new draft reply may use its data."""
        record = record_or_404(inv, principal)
        if record.status not in TERMINAL:
            raise ApiError(409, "still_active", f"investigation {inv} is {record.status}")
        diagnosis = record.diagnosis
        if diagnosis is not None and diagnosis.account_id is not None and not diagnosis.account_candidate:
            raise ApiError(
                409,
                "account_verified",
                f"investigation {inv}'s account is not a candidate: nothing to confirm",
            )
        wanted = (body.account_id if body else None) or (diagnosis.account_id if diagnosis else None)
        if not wanted or not wanted.strip():
            raise ApiError(
                422, "invalid_request", "account_id: this investigation has no candidate; name one"
            )
        account_id = service.account_id(wanted)
        if account_id is None:
            raise ApiError(422, "unknown_account", f"no account {wanted[:60]!r} in the account directory")
        ticket = service.store.ticket(inv)
        assert ticket is not None
        new, existing = service.submit(
            ticket.model_copy(update={"account_id": account_id}),
            source=record.source,
            principal=principal,
            priority="on_demand",
            rerun_of=inv,
            zendesk_ticket_id=_zendesk_id(ticket.id) if record.source in ("zendesk", "webhook") else None,
        )
        service._record_event(
            inv,
            Event(
                kind="account_confirmed", data={"account_id": account_id, "by": principal.name, "rerun": new}
            ),
        )
        return InvestigationCreated(
            id=new, status="queued", ticket_id=ticket.id, existing=existing, links=_links(new)
        )

    @app.get("/v1/reports/escalations", tags=["feedback"])
    async def escalations_report(principal: Caller, since: str = "7d") -> dict[str, Any]:
        """The weekly escalation review: by team, bounce rate, preventable ones, time to escalation, what to change."""
        from casefile.agent.errors import UsageError
        from casefile.agent.routing_cli import escalation_report, parse_since

        try:
            start = parse_since(since)
        except UsageError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from None
        report = escalation_report(
            service.store.list(since=start, tenant=principal.tenant),
            service.store.feedback(since=start, tenant=principal.tenant),
            since=start,
        )
        return report.as_dict()

    @app.post(
        "/v1/webhooks/zendesk",
        tags=["zendesk"],
        status_code=202,
        responses={200: {"model": Skipped, "description": "nothing to do"}},
    )
    async def zendesk_webhook(request: Request) -> Response:
        """A Zendesk webhook (trigger on ticket creation, or the ticket.created event), signed with its secret."""
        raw = await request.body()
        try:
            service.helpdesk.verify_webhook(request.headers, raw)
        except WebhookRefused as exc:
            raise ApiError(401, exc.code, exc.message) from None
        principal = Principal(name="zendesk:webhook", kind="zendesk_webhook", tenant=service.config.tenant)
        wait = service.limiter.check(principal.name)
        if wait:
            raise ApiError(429, "rate_limited", "rate limit exceeded", {"Retry-After": str(int(wait))})
        try:
            found = service.helpdesk.webhook_ticket_id(_json_body(raw))
        except ValueError as exc:
            raise ApiError(400, "invalid_payload", str(exc)) from None
        if isinstance(found, str):
            return JSONResponse({"skipped": found}, status_code=200)
        # Never trust the webhook body for content: read the ticket back from Zendesk.
        fetched = await from_zendesk(found)
        tag = service.helpdesk.investigated_tag
        if tag in fetched.tags:
            return JSONResponse({"skipped": f"ticket {found} is already tagged {tag}"}, status_code=200)
        ticket = fetched.ticket.model_copy(update={"source": "webhook"})
        try:
            inv, existing = service.submit(
                ticket,
                source="webhook",
                principal=principal,
                priority="background",
                zendesk_ticket_id=found,
                post_note=True,
            )
        except Exception as exc:  # not stored, so not accepted: an error status makes Zendesk send it again
            service._store_health(exc)
            log.error("webhook for ticket %s not accepted: the store failed: %s", found, type(exc).__name__)
            raise ApiError(
                503, "store_unavailable", "the work could not be recorded; retry later", {"Retry-After": "30"}
            ) from None
        body = InvestigationCreated(
            id=inv, status="queued", ticket_id=ticket.id, existing=existing, links=_links(inv)
        )
        return JSONResponse(body.model_dump(), status_code=202)

    from casefile.agent.metrics.routes import router as metrics_router

    app.include_router(metrics_router)

    if ASSETS.is_dir():
        # /app/ is the sidebar page itself (Zendesk loads it as assets/iframe.html; both work).
        @app.get("/app/", include_in_schema=False)
        async def sidebar_page() -> FileResponse:
            return FileResponse(ASSETS / "iframe.html", media_type="text/html")

        app.mount("/app", StaticFiles(directory=ASSETS, html=True), name="app")
    app.include_router(bounce_router(service))  # the signed bounce-back link in Slack messages

    app.add_middleware(BodyLimit, max_bytes=service.config.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=service.config.allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        max_age=600,
    )
    return app
