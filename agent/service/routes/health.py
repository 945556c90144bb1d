"""``GET /healthz`` (up or down for anyone; with a token, queue depth, the store's error and the
runbooks) and the sidebar page at ``/app/``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from casefile import PACKAGE_DIR
from casefile.agent.service.auth import AuthError, Principal
from casefile.agent.service.deps import Service
from casefile.agent.service.runtime import InvestigationService

__all__ = ["mount_sidebar", "router"]

ASSETS = PACKAGE_DIR / "integrations" / "zendesk" / "assets"

router = APIRouter(tags=["service"])


@router.get("/healthz")
async def healthz(service: Service, request: Request) -> Response:
    """Up or down (the status code says which); a caller with a token also reads why: the queue,
    the store's error (it names the store's host or file), the runbooks that cannot load."""
    health: dict[str, Any] = {"status": "ok", "running": service.worker.running}
    code = 200
    try:
        health["queued"] = await asyncio.to_thread(
            service.store.pending
        )  # off the loop: a silent store waits here
    except Exception as exc:
        service.store_health(exc)
    if service.store_error is not None:
        # Writes are failing (a full disk, a lost database): accepted work cannot be recorded.
        health.update(status="unhealthy", store=service.store_error)
        code = 503
    elif service.opened:
        env = service.env
        env.refresh_runbooks()
        health["runbooks"] = {
            "loaded": len(env.runbooks),
            "disabled": [f"{Path(p.file).name}:{p.line}: {p.reason}" for p in env.runbook_problems],
        }
        if env.runbook_problems:
            health["status"] = "degraded"
    if _optional_caller(service, request) is None:
        # An unauthenticated caller (a load balancer, anyone) learns up or down, no infrastructure.
        health = {"status": health["status"]}
    return JSONResponse(health, status_code=code)


def _optional_caller(service: InvestigationService, request: Request) -> Principal | None:
    """The caller when it sent a valid token (not rate-limited: a monitor polls); a wrong one counts
    against its address as on ``/v1``."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    try:
        return service.auth.authenticate(header)
    except AuthError:
        service.limiter.check(f"anonymous:{request.client.host if request.client else 'unknown'}")
        return None


def mount_sidebar(app: FastAPI) -> None:
    """Serve the Zendesk app's assets; /app/ is the sidebar page itself (Zendesk loads it as
    assets/iframe.html; both work)."""
    if not ASSETS.is_dir():
        return

    @app.get("/app/", include_in_schema=False)
    async def sidebar_page() -> FileResponse:
        return FileResponse(ASSETS / "iframe.html", media_type="text/html")

    app.mount("/app", StaticFiles(directory=ASSETS, html=True), name="app")
