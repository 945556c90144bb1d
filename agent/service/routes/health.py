"""``GET /healthz`` (liveness, queue depth, runbooks: no authentication, nothing private) and the
sidebar page at ``/app/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from casefile import PACKAGE_DIR
from casefile.agent.service.deps import Service

__all__ = ["mount_sidebar", "router"]

ASSETS = PACKAGE_DIR / "integrations" / "zendesk" / "assets"

router = APIRouter(tags=["service"])


@router.get("/healthz")
async def healthz(service: Service) -> Response:
    """Liveness and queue depth; a runbook that cannot load is listed (the others keep working)."""
    health: dict[str, Any] = {"status": "ok", "running": service.worker.running}
    try:
        health["queued"] = service.store.pending()
    except Exception as exc:
        service.store_health(exc)
    if service.store_error is not None:
        # Writes are failing (a full disk, a lost database): accepted work cannot be recorded.
        health.update(status="unhealthy", store=service.store_error)
        return JSONResponse(health, status_code=503)
    if service.opened:
        env = service.env
        env.refresh_runbooks()
        health["runbooks"] = {
            "loaded": len(env.runbooks),
            "disabled": [f"{Path(p.file).name}:{p.line}: {p.reason}" for p in env.runbook_problems],
        }
        if env.runbook_problems:
            health["status"] = "degraded"
    return JSONResponse(health)


def mount_sidebar(app: FastAPI) -> None:
    """Serve the Zendesk app's assets; /app/ is the sidebar page itself (Zendesk loads it as
    assets/iframe.html; both work)."""
    if not ASSETS.is_dir():
        return

    @app.get("/app/", include_in_schema=False)
    async def sidebar_page() -> FileResponse:
        return FileResponse(ASSETS / "iframe.html", media_type="text/html")

    app.mount("/app", StaticFiles(directory=ASSETS, html=True), name="app")
