"""The escalation review (``casefile report escalations``, ``GET /v1/reports/escalations``): escalations
by team, bounce rate, the preventable ones with their article, time to escalation, and which
trigger rules and runbooks to change. :func:`escalation_report` builds it as data, :func:`render_report`
as text.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from casefile.agent.similar.docs_gap import BouncedArticle

if TYPE_CHECKING:
    from casefile.agent.store import FeedbackRecord, InvestigationRecord

__all__ = [
    "Change",
    "EscalationReport",
    "Preventable",
    "TeamLine",
    "escalation_report",
    "human_duration",
    "iso_seconds",
    "render_report",
]


@dataclass
class TeamLine:
    team: str
    escalations: int
    bounced: int


class Preventable(BouncedArticle):
    """A bounced escalation with its article, the bounce's reason and what caused the escalation."""

    note: str | None
    trigger: str | None
    runbooks: list[str]
    category: str


@dataclass
class Change:
    """A cause of bounced escalations (trigger rule, runbook, or routing's decision for a category):
    what to change; ``bounced`` is how many escalations it would have prevented."""

    kind: str  # trigger | runbook | routing
    name: str
    escalations: int
    bounced: int
    articles: list[str]
    suggestion: str


class EscalationReport(BaseModel):
    since: str
    until: str
    investigations: int
    escalations: int
    bounced: int
    bounce_rate: float | None
    by_team: list[TeamLine] = Field(default_factory=list)
    preventable: list[Preventable] = Field(default_factory=list)
    time_to_escalation_s: dict[str, float | None] = Field(default_factory=dict)
    changes: list[Change] = Field(default_factory=list)
    shared_causes: dict[str, Any] = Field(default_factory=dict)  # agent/similar/clusters.py
    docs_gap: dict[str, Any] | None = None  # agent/similar/docs_gap.py, filled by the caller (it searches)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 2)


def escalation_report(
    investigations: list[InvestigationRecord],
    feedback: list[FeedbackRecord],
    *,
    since: datetime,
    until: datetime | None = None,
) -> EscalationReport:
    """The review of the escalations among ``investigations`` and the feedback they received.

    An escalation counts as bounced when any entry of its feedback history is a bounce (a later
    verdict does not erase it: :func:`casefile.agent.store.first_bounces`). A bounced
    escalation with an article is *preventable*: support had the answer. What to change:
    one suggestion per cause (:func:`casefile.agent.metrics.review.suggestions`), the most
    escalations prevented first.
    """
    from casefile.agent.metrics.review import Cause, suggestions
    from casefile.agent.similar.review import shared_causes
    from casefile.agent.store import first_bounces

    until = until or datetime.now(UTC)
    bounces = first_bounces(feedback)
    escalated = [
        r
        for r in investigations
        if r.diagnosis is not None and r.diagnosis.action == "escalate" and r.diagnosis.escalation is not None
    ]
    teams: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    preventable: list[Preventable] = []
    durations: list[float] = []
    causes: list[Cause] = []
    bounced_count = 0
    for record in escalated:
        diagnosis = record.diagnosis
        assert diagnosis is not None and diagnosis.escalation is not None
        escalation = diagnosis.escalation
        verdict = bounces.get(record.id)
        bounced = verdict is not None
        bounced_count += bounced
        teams[escalation.team][0] += 1
        teams[escalation.team][1] += bounced
        if record.finished_at is not None and record.started_at is not None:
            # From the investigation's start (a record without one is left out, never counted as 0 s).
            durations.append((record.finished_at - record.started_at).total_seconds())
        cause = Cause(
            id=record.id,
            trigger=escalation.trigger,
            runbooks=diagnosis.runbooks,
            category=diagnosis.root_cause.category,
        )
        causes.append(cause)
        if bounced and verdict is not None and verdict.article:
            # The bounce's ids, article and reason, the team it went to, and what caused it.
            bounce = verdict.model_dump(include={"investigation_id", "ticket_id", "article", "note"})
            preventable.append(
                Preventable(**bounce, team=escalation.team, **cause.model_dump(exclude={"id"}))
            )
    changes = [
        Change(s.lever, s.name, s.escalations, s.prevented, s.articles, s.text)
        for s in suggestions(causes, bounces)
    ]
    return EscalationReport(
        since=iso_seconds(since),
        until=iso_seconds(until),
        investigations=len(investigations),
        escalations=len(escalated),
        bounced=bounced_count,
        bounce_rate=round(bounced_count / len(escalated), 3) if escalated else None,
        by_team=sorted(
            (TeamLine(team, n, b) for team, (n, b) in teams.items()), key=lambda t: (-t.escalations, t.team)
        ),
        preventable=preventable,
        time_to_escalation_s={
            "median": round(statistics.median(durations), 2) if durations else None,
            "p90": _percentile(durations, 0.9),
            "max": round(max(durations), 2) if durations else None,
        },
        changes=changes,
        shared_causes=shared_causes(investigations, since, until),
    )


def iso_seconds(value: datetime) -> str:
    """UTC, to the second, with a Z: how the reviews print a window."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def human_duration(seconds: float | None) -> str:
    """Seconds as a person reads them (s, min, h); "–" for none."""
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def _section(title: str, lines: list[str], empty: str) -> list[str]:
    """A blank line, the section's title, then its lines or, without any, what it says instead."""
    return ["", title, *(lines or [f"  ({empty})"])]


def render_report(report: EscalationReport) -> str:
    """The weekly escalation review as text."""
    rate = f"{report.bounce_rate:.0%}" if report.bounce_rate is not None else "–"
    teams = [
        f"  {t.team:16} {t.escalations:4} escalated  {t.bounced:3} bounced ({_share(t.bounced, t.escalations)})"
        for t in report.by_team
    ]
    preventable = []
    for p in report.preventable:
        via = f"trigger {p.trigger}" if p.trigger else f"runbooks {', '.join(p.runbooks) or '–'}"
        preventable += [
            f"  {p.investigation_id}  ticket {p.ticket_id} → {p.team} [{p.category}, {via}]",
            f"      article: {p.article}" + (f"  — {p.note}" if p.note else ""),
        ]
    changes = [
        f"  {c.kind} {c.name}: {c.bounced} of {c.escalations} escalations bounced → {c.suggestion}"
        for c in report.changes
    ]
    t = report.time_to_escalation_s
    out = [
        f"Escalations {report.since} → {report.until}",
        f"  {report.escalations} escalated of {report.investigations} investigations; "
        f"{report.bounced} bounced back (bounce rate {rate})",
        *_section("By team:", teams, "no escalations"),
        "",
        f"Time to escalation: median {human_duration(t.get('median'))}, p90 {human_duration(t.get('p90'))}, "
        f"max {human_duration(t.get('max'))}",
        *_section(
            "Preventable (bounced, with the article that should have prevented them):", preventable, "none"
        ),
        *_section("What to change:", changes, "nothing bounced"),
    ]
    return "\n".join(out + _knowledge_lines(report))


def _knowledge_lines(report: EscalationReport) -> list[str]:
    from casefile.agent.similar.clusters import ClusterReport, render_clusters
    from casefile.agent.similar.docs_gap import DocsGap, render_docs_gap

    lines = ["", "Shared causes (investigations citing the same bug, deploy or error code):"]
    if report.shared_causes:
        lines += render_clusters(ClusterReport.model_validate(report.shared_causes))
    lines += ["", "Docs gap (bounced escalations whose article the help-center search finds):"]
    return lines + render_docs_gap(DocsGap.model_validate(report.docs_gap) if report.docs_gap else None)
