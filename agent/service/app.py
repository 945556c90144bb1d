"""The investigation service: an ASGI app (FastAPI) in front of :func:`casefile.agent.pipeline.run_investigation`.

=========================================  =============================================================
``POST /v1/investigations``                a ticket (casefile's format or a helpdesk's export) or
                                           ``{"<helpdesk>_ticket_id": N}`` (re-read from it) → 202 {id}
``GET  /v1/investigations``                recent investigations (``?status=``, ``?since=``)
``GET  /v1/investigations/{id}``           status, diagnosis, and a link to each cited source
``GET  /v1/investigations/{id}/events``    Server-Sent Events: replayed from the store, then live
``GET  /v1/investigations/{id}/audit``     every tool call: tool, arguments, duration, outcome, who asked
``POST /v1/investigations/{id}/rerun``     investigate the same ticket again (after an interruption)
``POST /v1/investigations/{id}/feedback``  bounce-back: ``{"bounced": true, "article": URL, "note": ...}``
``POST /v1/investigations/{id}/confirm-account``  an agent confirms a candidate account: investigate again with it
``GET  /v1/reports/escalations?since=7d``  the weekly escalation review (JSON)
``GET  /v1/reports/clusters?since=24h``    investigations sharing a cause (a bug, deploy, error code)
``GET  /clusters``                         the page listing them, with a period selector
``POST /v1/webhooks/zendesk``              signed Zendesk webhook: investigate a new ticket, post a note
``GET  /healthz``                          liveness, queue depth (no authentication, nothing private)
``GET  /app/``                             the sidebar page, usable standalone against this service
=========================================  =============================================================

Every ``/v1`` request is authenticated (a configured bearer token, or a JWT
signed with the helpdesk app's shared secret; the webhook by its signature),
rate-limited per caller, and size-limited. Each caller belongs to a tenant and
sees only that tenant's investigations: another tenant's is a 404, as if it did not exist. Every 4xx has a JSON body
``{"error": {"code": ..., "message": ...}}``, and a rejected request stores nothing.

This module only wires: the routes live in :mod:`casefile.agent.service.routes` (one module a
resource), the state and the work in :mod:`casefile.agent.service.runtime`, the error contract in
:mod:`casefile.agent.service.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from casefile.agent.config import Settings
from casefile.agent.handoff.routes import bounce_router
from casefile.agent.metrics import routes as metrics
from casefile.agent.pipeline import Environment
from casefile.agent.service import openapi
from casefile.agent.service.bodylimit import BodyLimit
from casefile.agent.service.errors import ApiError, install_error_handlers
from casefile.agent.service.routes import clusters, feedback, health, investigations, webhooks
from casefile.agent.service.runtime import InvestigationService, ModelFactory
from casefile.agent.store import Store

__all__ = ["ApiError", "InvestigationService", "ModelFactory", "create_app"]


def create_app(
    settings: Settings,
    *,
    env: Environment | None = None,
    model_factory: ModelFactory | None = None,
    store: Store | None = None,
    world: str | Path | None = None,
    helpdesk_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The service as an ASGI app. ``env``/``store``/``model_factory``/``helpdesk_transport`` are for tests;
    by default the store comes from ``settings.service.database_url`` and the environment from
    :func:`open_environment` (a world, or the live systems), opened when the app starts."""
    service = InvestigationService(
        settings,
        env=env,
        model_factory=model_factory,
        store=store,
        world=world,
        helpdesk_transport=helpdesk_transport,
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
    openapi.install(app, type(service.helpdesk))
    install_error_handlers(app)
    routers = (health, investigations, feedback, clusters, webhooks, metrics)
    for module in routers:
        app.include_router(module.router)
    health.mount_sidebar(app)
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
