"""Clusters of investigations that share a cause: "7 tickets hit ABC-123 today".

Investigations are grouped by the strongest identifier their diagnosis cited (``evidence.py``):
a bug id first, then a deploy, then an error code, each counted only when it is shared; a cause
of ours with no identifier (a platform incident, a webhook outage, platform slowness) groups by
its category. Account-specific causes without a shared identifier (an expired card, one
customer's certificate) never form a cluster: several customers with the same kind of problem is
not one problem. Deterministic and explainable: every cluster names what its members share.
:func:`cluster_report` is what the service's ``/v1/reports/clusters``, the weekly review and the
metrics call.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, computed_field

from casefile.agent.similar.evidence import identifiers

if TYPE_CHECKING:
    from casefile.agent.store import InvestigationRecord

__all__ = [
    "PLATFORM_CATEGORIES",
    "Cluster",
    "ClusterMember",
    "ClusterReport",
    "Linker",
    "cluster_report",
    "render_clusters",
]

PLATFORM_CATEGORIES = frozenset({"platform_incident", "webhook_platform", "performance_platform"})
_KIND_ORDER = {"bug": 0, "deploy": 1, "code": 2, "category": 3}


class ClusterMember(BaseModel):
    """One investigation of a cluster, with where a person can open it."""

    investigation: str
    ticket_id: str
    account_id: str | None = None
    category: str = Field(description="its diagnosed category (a cluster may mix them)")
    action: Literal["resolve", "escalate"]
    at: datetime = Field(description="when its diagnosis was made")
    ticket_url: str | None = Field(default=None, description="the ticket in the helpdesk, when it is one")
    investigation_url: str | None = Field(default=None, description="the investigation in the service's page")


class Cluster(BaseModel):
    key: str = Field(description="what the members share, e.g. bug:ABC-123")
    kind: Literal["bug", "deploy", "code", "category"]
    label: str = Field(description="the shared identifier or category, e.g. ABC-123")
    category: str = Field(description="the members' most common diagnosed category")
    investigations: list[str]
    tickets: list[str]
    accounts: int = Field(description="how many distinct accounts")
    escalated: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    members: list[ClusterMember] = Field(default_factory=list, description="oldest first")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def size(self) -> int:
        """How many investigations (tickets) share the cause."""
        return len(self.investigations)


class ClusterReport(BaseModel):
    since: datetime
    until: datetime | None = None
    investigations: int = Field(description="finished investigations in the window")
    clusters: list[Cluster] = Field(default_factory=list)


Linker = Callable[["InvestigationRecord"], tuple[str | None, str | None]]
"""(ticket URL, investigation URL) of a record: the service knows its helpdesk and its own address."""


def _member(record: InvestigationRecord, link: Linker | None) -> ClusterMember:
    diagnosis = record.diagnosis
    assert diagnosis is not None
    ticket_url, investigation_url = link(record) if link else (None, None)
    return ClusterMember(
        investigation=record.id,
        ticket_id=record.ticket_id,
        account_id=diagnosis.account_id,
        category=diagnosis.root_cause.category,
        action=diagnosis.action,
        at=record.finished_at or record.created_at,
        ticket_url=ticket_url,
        investigation_url=investigation_url,
    )


def _keys(record: InvestigationRecord) -> set[str]:
    diagnosis = record.diagnosis
    assert diagnosis is not None
    keys: set[str] = set()
    for value in [e.value for e in diagnosis.evidence] + [r.id for r in diagnosis.related]:
        keys |= identifiers(value)
    if diagnosis.root_cause.category in PLATFORM_CATEGORIES:
        keys.add(f"category:{diagnosis.root_cause.category}")
    return keys


def cluster_report(
    records: Sequence[InvestigationRecord],
    *,
    since: datetime,
    until: datetime | None = None,
    min_size: int = 2,
    link: Linker | None = None,
) -> ClusterReport:
    """The clusters among ``records`` finished in [since, until), largest first; ``link`` gives
    each member's ticket and investigation URLs."""
    done = [
        r
        for r in records
        if r.diagnosis is not None
        and (r.finished_at or r.created_at) >= since
        and (until is None or (r.finished_at or r.created_at) < until)
    ]
    keys = {r.id: _keys(r) for r in done}
    counts = Counter(k for ks in keys.values() for k in ks)
    members: dict[str, list[InvestigationRecord]] = defaultdict(list)
    for record in done:
        shared = [k for k in keys[record.id] if counts[k] >= min_size]
        if not shared:
            continue
        best = min(shared, key=lambda k: (_KIND_ORDER[k.split(":", 1)[0]], -counts[k], k))
        members[best].append(record)
    clusters = []
    for key, group in members.items():
        if len(group) < min_size:
            continue
        kind, label = key.split(":", 1)
        group.sort(key=lambda r: (r.finished_at or r.created_at, r.id))
        times = [r.finished_at or r.created_at for r in group]
        clusters.append(
            Cluster(
                key=key,
                kind=kind,  # type: ignore[arg-type]
                label=label,
                category=Counter(r.diagnosis.root_cause.category for r in group if r.diagnosis).most_common(
                    1
                )[0][0],
                investigations=[r.id for r in group],
                tickets=[r.ticket_id for r in group],
                accounts=len(
                    {r.diagnosis.account_id for r in group if r.diagnosis and r.diagnosis.account_id}
                ),
                escalated=sum(1 for r in group if r.diagnosis and r.diagnosis.action == "escalate"),
                first_at=min(times),
                last_at=max(times),
                members=[_member(r, link) for r in group],
            )
        )
    clusters.sort(key=lambda c: (-c.size, _KIND_ORDER[c.kind], c.label))
    return ClusterReport(since=since, until=until, investigations=len(done), clusters=clusters)


def render_clusters(report: ClusterReport) -> list[str]:
    """Lines for the text review: "7 tickets hit ABC-123 (known_bug, 5 accounts)"."""
    if not report.clusters:
        return [f"  (no shared cause among {report.investigations} investigations)"]
    lines = []
    for c in report.clusters:
        what = {"bug": "hit", "deploy": "followed deploy", "code": "got", "category": "share"}[c.kind]
        label = c.label.replace("_", " ") if c.kind == "category" else c.label
        accounts = f", {c.accounts} accounts" if c.accounts else ""
        lines.append(
            f"  {c.size} tickets {what} {label} ({c.category}{accounts}): {', '.join(c.tickets[:8])}"
        )
    return lines
