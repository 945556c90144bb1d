"""The weekly review's knowledge sections: clusters of shared causes and the docs gap.

:func:`knowledge_sections` is called by the escalation review (``agent/metrics/escalations.py``) in the
CLI and the service; the metrics package can call :func:`cluster_report` and :func:`measure_docs_gap`
on their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from casefile.agent.similar.clusters import ClusterReport, cluster_report
from casefile.agent.similar.docs_gap import TOP, Bounce, DocsGap, SearchOutcome, docs_gap

if TYPE_CHECKING:
    from casefile.agent.store import InvestigationRecord, Store
    from casefile.tools.base import Toolbox

__all__ = ["bounces", "cluster_report", "docs_toolbox", "measure_docs_gap", "shared_causes"]


def bounces(preventable: Sequence[Any], store: Store) -> list[Bounce]:
    """The bounced escalations with an article (``escalations.Preventable`` rows), each with the
    help-center query its investigation ran."""
    out = []
    for p in preventable:
        if not p.article:
            continue
        record = store.get(p.investigation_id)
        if record is None:
            continue
        queries = [
            str(row.arguments.get("query"))
            for row in store.audit(p.investigation_id)
            if row.tool == "docs_search" and row.arguments.get("query")
        ]
        ticket = store.ticket(p.investigation_id)
        query = queries[0] if queries else (ticket.subject if ticket and ticket.subject else "")
        if not query:
            continue
        out.append(Bounce.of(p, created_at=record.created_at, query=query))
    return out


async def measure_docs_gap(
    preventable: Sequence[Any],
    store: Store,
    toolbox: Toolbox | None,
    *,
    tenant: str | None = None,
    helpdesk_tenant: str | None = None,
) -> DocsGap | None:
    """The docs gap of these bounced escalations, searched through ``toolbox``'s ``docs_search``;
    None when there is no help center to search. ``tenant`` is whose review it is and
    ``helpdesk_tenant`` whose help center the toolbox reads: another tenant's review is refused it
    (the gap is then "not measured", with why)."""
    from casefile.tools.base import CallContext, GarbledResult, ToolCall
    from casefile.tools.docs import DocsSearchResult

    if toolbox is None or "docs_search" not in toolbox.tools:
        return None

    async def search(query: str) -> SearchOutcome:
        outcome = await toolbox.execute(
            ToolCall(id="docs-gap", tool="docs_search", arguments={"query": query[:500], "limit": TOP}),
            CallContext(
                now=datetime.now(UTC), requested_by="report", tenant=tenant, helpdesk_tenant=helpdesk_tenant
            ),
        )
        if not outcome.ok:
            return SearchOutcome(ok=False, error=outcome.error)
        try:
            found = outcome.view(DocsSearchResult)
        except GarbledResult as exc:
            return SearchOutcome(ok=False, error=str(exc))
        return SearchOutcome(ok=True, articles=[(a.url, a.created_at) for a in found.articles])

    bounced = await asyncio.to_thread(bounces, preventable, store)  # the service calls this on its loop
    return await docs_gap(bounced, search)


def shared_causes(
    records: Sequence[InvestigationRecord], since: datetime, until: datetime | None
) -> dict[str, Any]:
    """The clusters section of the review, as JSON data."""
    report: ClusterReport = cluster_report(records, since=since, until=until)
    return report.model_dump(mode="json")


def docs_toolbox(world: str | None) -> Toolbox | None:
    """A toolbox with only the help center: a world's, else the configured one, else None."""
    from casefile.agent.config import load_settings
    from casefile.tools.base import Toolbox
    from casefile.tools.docs import HelpCenterConnector

    settings = load_settings()
    if world:
        from casefile.agent.errors import UsageError
        from casefile.tools.world.loader import World, WorldError

        try:
            stand_ins = World(world)
        except WorldError as exc:
            raise UsageError(f"--world: {exc}") from None
        return Toolbox([HelpCenterConnector.build(settings.connectors, stand_ins)])
    if HelpCenterConnector.not_configured(settings.connectors) is None:
        return Toolbox([HelpCenterConnector.build(settings.connectors)])
    return None
