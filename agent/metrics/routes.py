"""The service's metrics routes: ``GET /v1/reports/metrics``, the dashboard, ``GET /metrics``.

=====================================  ===================================================
``GET /v1/reports/metrics``            the team's numbers (``?since=7d&until=…``), a MetricsReport
``GET /dashboard``                     the support lead's page; its charts are drawn from the route above
``GET /metrics``                       the service's own health for Prometheus (no token, nothing private)
=====================================  ===================================================
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from casefile.agent.metrics.compute import collect_metrics, window
from casefile.agent.metrics.model import MetricsReport
from casefile.agent.metrics.prom import CONTENT_TYPE
from casefile.agent.service.auth import Principal

if TYPE_CHECKING:
    from casefile.agent.service.app import InvestigationService

__all__ = ["router"]

HERE = Path(__file__).resolve().parent
_ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}

router = APIRouter()


def _caller(request: Request) -> Principal:
    """The service's own authentication and rate limit (imported when the app is built)."""
    from casefile.agent.service.deps import caller as _caller

    return _caller(request)


Caller = Annotated[Principal, Depends(_caller)]


def _error(status: int, code: str, message: str) -> Exception:
    from casefile.agent.service.app import ApiError

    return ApiError(status, code, message)


def _service(request: Request) -> InvestigationService:
    service: InvestigationService = request.app.state.service
    return service


def _window(since: str, until: str | None) -> tuple[datetime, datetime]:
    from casefile.agent.errors import UsageError

    try:
        return window(since, until)
    except UsageError as exc:
        raise _error(422, "invalid_request", str(exc).replace("--since ", "since ")) from None


@router.get("/v1/reports/metrics", response_model=MetricsReport, tags=["reports"])
async def metrics_report(
    request: Request, principal: Caller, since: str = "7d", until: str | None = None
) -> MetricsReport:
    """Escalation rate, investigation time, time to escalation, bounce rate, first-contact resolution and
    resolved-without-engineering over the window: overall, by team, category, week and trigger rule.
    Ticket outcomes are read from the helpdesk; when it cannot be read, FCR is unknown and a note says so."""
    start, end = _window(since, until)
    service = _service(request)
    reader = service.metrics.reader()
    try:
        return await collect_metrics(service.store, reader, since=start, until=end, tenant=principal.tenant)
    finally:
        if reader is not None:
            await reader.aclose()


@router.get("/metrics", include_in_schema=False)
async def prometheus(request: Request) -> Response:
    return Response(_service(request).metrics.prometheus.exposition(), media_type=CONTENT_TYPE)


@router.get("/dashboard", include_in_schema=False)
async def dashboard() -> FileResponse:
    return FileResponse(HERE / "dashboard.html", media_type="text/html")


@router.get("/dashboard/{name}", include_in_schema=False)
async def dashboard_asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise _error(404, "not_found", f"no dashboard file {name[:40]!r}")
    return FileResponse(HERE / name, media_type=_ASSETS[name])
