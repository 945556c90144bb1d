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

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from casefile.agent.errors import UsageError
from casefile.agent.metrics.compute import collect_metrics, window
from casefile.agent.metrics.model import MetricsReport
from casefile.agent.metrics.prom import CONTENT_TYPE
from casefile.agent.service.deps import Caller, Service
from casefile.agent.service.errors import ApiError
from casefile.agent.service.report_pages import report_page

__all__ = ["router"]

HERE = Path(__file__).resolve().parent
_ASSETS = {
    "dashboard.js": "text/javascript",
    "report_page.js": "text/javascript",
    "dashboard.css": "text/css",
}

router = APIRouter()


def _window(since: str, until: str | None) -> tuple[datetime, datetime]:
    try:
        return window(since, until)
    except UsageError as exc:
        raise ApiError(422, "invalid_request", str(exc).replace("--since ", "since ")) from None


@router.get("/v1/reports/metrics", response_model=MetricsReport, tags=["reports"])
async def metrics_report(
    principal: Caller, service: Service, since: str = "7d", until: str | None = None
) -> MetricsReport:
    """Escalation rate, investigation time, time to escalation, bounce rate, first-contact resolution and
    resolved-without-engineering over the window: overall, by team, category, week and trigger rule.
    Ticket outcomes are read from the helpdesk; when it cannot be read, FCR is unknown and a note says so."""
    start, end = _window(since, until)
    reader = service.metrics.reader()
    try:
        return await collect_metrics(service.store, reader, since=start, until=end, tenant=principal.tenant)
    finally:
        if reader is not None:
            await reader.aclose()


@router.get("/metrics", include_in_schema=False)
def prometheus(service: Service) -> Response:
    return Response(service.metrics.prometheus.exposition(), media_type=CONTENT_TYPE)


@router.get("/dashboard", include_in_schema=False)
async def dashboard() -> HTMLResponse:
    return HTMLResponse(report_page("dashboard"))


@router.get("/dashboard/{name}", include_in_schema=False)
async def dashboard_asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise ApiError(404, "not_found", f"no dashboard file {name[:40]!r}")
    return FileResponse(HERE / name, media_type=_ASSETS[name])
