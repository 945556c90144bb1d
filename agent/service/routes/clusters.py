"""Shared causes: ``GET /v1/reports/clusters`` (JSON) and the page that lists them, ``/clusters``.

=====================================  ===================================================
``GET /v1/reports/clusters``           investigations sharing a cause (``?since=24h&until=…``), a ClusterReport
``GET /clusters``                      the page: each shared cause, how many tickets, which, first/last seen
=====================================  ===================================================

The page is static; it reads the JSON route above with the caller's bearer token (like
``/dashboard``), so it shows nothing the caller's tenant may not see.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from casefile.agent.errors import UsageError
from casefile.agent.metrics.compute import helpdesk_id, window
from casefile.agent.service.deps import Caller, Service
from casefile.agent.service.errors import ApiError
from casefile.agent.service.report_pages import PAGES, report_page
from casefile.agent.service.runtime import InvestigationService
from casefile.agent.similar.clusters import ClusterReport, Linker, cluster_report
from casefile.agent.store import InvestigationRecord

__all__ = ["router"]


router = APIRouter()


def _linker(service: InvestigationService) -> Linker:
    """A member's helpdesk ticket (when it is one) and its investigation in the sidebar page."""
    base = (service.config.public_url or "").rstrip("/")

    def link(record: InvestigationRecord) -> tuple[str | None, str | None]:
        made_from = (service.helpdesk.name, "webhook")  # its ticket is the service helpdesk's
        number = helpdesk_id(record.ticket_id) if record.source in made_from else None
        ticket = service.helpdesk.agent_url(number) if number is not None else None
        return ticket, f"{base}/app/?investigation={record.id}"

    return link


@router.get("/v1/reports/clusters", tags=["feedback"])
def clusters_report(
    principal: Caller, service: Service, since: str = "24h", until: str | None = None
) -> ClusterReport:
    """Investigations that share a cause (a bug, a deploy, an error code): "7 tickets hit ABC-123 today"."""
    try:
        start, end = window(since, until)
    except UsageError as exc:
        raise ApiError(422, "invalid_request", str(exc).replace("--since ", "since ")) from None
    records = service.store.list(since=start, tenant=principal.tenant)
    return cluster_report(records, since=start, until=end, link=_linker(service))


@router.get("/clusters", include_in_schema=False)
async def clusters_page() -> HTMLResponse:
    return HTMLResponse(report_page("clusters"))


@router.get("/clusters/clusters.js", include_in_schema=False)
async def clusters_script() -> FileResponse:
    return FileResponse(PAGES / "clusters.js", media_type="text/javascript")
