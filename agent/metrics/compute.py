"""The one computation behind every figure: :func:`collect_metrics` (store + helpdesk → report).

Definitions (also in docs/architecture.md, "Metrics"):

- an *investigation* is one that reached a diagnosis, created in the window;
- *escalation rate*: escalated / investigations (for a team: its escalations / all investigations);
- *investigation time*: from the ticket's arrival (its ``created_at``) to the diagnosis;
- *time to escalation*: for escalations, from the investigation's start to the escalation;
- *bounce rate*: escalations with a bounce in their feedback history / escalations (per team, per rule);
- *first-contact resolution*: the helpdesk says solved (or closed) with no reopen, and casefile
  did not escalate it; over the tickets whose outcome is known;
- *resolved without engineering*: the helpdesk says solved, and casefile did not escalate it.

An escalated ticket's outcome is known without asking (it went to engineering). A resolved one's
is read from the helpdesk; when that fails or the ticket is not a helpdesk ticket, it is unknown
and left out of both rates, and a note says how many and why.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from casefile.agent.metrics.history import HistoryRow, load_bounces, load_history
from casefile.agent.metrics.model import (
    Durations,
    MetricsReport,
    OutcomeSummary,
    Slice,
    TicketOutcome,
    TriggerLine,
)
from casefile.agent.metrics.outcomes import OutcomeReader, OutcomesUnavailable
from casefile.agent.similar.clusters import cluster_report
from casefile.agent.store import FeedbackRecord, Store

__all__ = [
    "TOP_CLUSTERS",
    "collect_metrics",
    "compute_metrics",
    "durations",
    "helpdesk_id",
    "metrics_of",
    "window",
]

TOP_CLUSTERS = 5
"""How many shared causes the metrics carry (the clusters page lists them all)."""


def helpdesk_id(ticket_id: str) -> int | None:
    """The helpdesk's numeric id of a ticket, or None for a ticket that came from a file."""
    return int(ticket_id) if ticket_id.isdigit() and len(ticket_id) < 19 else None


def durations(values: Iterable[float]) -> Durations:
    """p50 and p95 by nearest rank (a value that occurred), rounded to 0.01 s."""
    ordered = sorted(values)
    if not ordered:
        return Durations()

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 2)

    return Durations(n=len(ordered), p50=rank(0.50), p95=rank(0.95))


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _slice(
    key: str,
    rows: list[HistoryRow],
    bounces: dict[str, FeedbackRecord],
    outcomes: dict[str, TicketOutcome],
    *,
    denominator: int | None = None,
) -> Slice:
    escalated = [r for r in rows if r.escalated]
    bounced = sum(r.id in bounces for r in escalated)
    known = fcr = rwe = 0
    for r in rows:
        if r.escalated:
            known += 1
            continue
        outcome = outcomes.get(r.id)
        if outcome is None:
            continue
        known += 1
        if outcome.solved:
            rwe += 1
            fcr += (outcome.reopens or 0) == 0
    arrival = [(r.finished_at - r.ticket_created_at).total_seconds() for r in rows]
    to_escalation = [
        (r.finished_at - r.started_at).total_seconds() for r in escalated if r.started_at is not None
    ]
    return Slice(
        key=key,
        investigations=len(rows),
        escalations=len(escalated),
        escalation_rate=_rate(len(escalated), len(rows) if denominator is None else denominator),
        investigation_time_s=durations(s for s in arrival if s >= 0),
        time_to_escalation_s=durations(s for s in to_escalation if s >= 0),
        bounced=bounced,
        bounce_rate=_rate(bounced, len(escalated)),
        outcome_known=known,
        outcome_unknown=len(rows) - known,
        first_contact_resolved=fcr,
        fcr_rate=_rate(fcr, known),
        resolved_without_engineering=rwe,
        resolved_without_engineering_share=_rate(rwe, known),
    )


def _groups(rows: list[HistoryRow], key: Callable[[HistoryRow], str | None]) -> dict[str, list[HistoryRow]]:
    groups: dict[str, list[HistoryRow]] = defaultdict(list)
    for row in rows:
        k = key(row)
        if k is not None:
            groups[k].append(row)
    return groups


def _week(row: HistoryRow) -> str:
    day = row.created_at.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def compute_metrics(
    rows: list[HistoryRow],
    bounces: dict[str, FeedbackRecord],
    outcomes: dict[str, TicketOutcome],
    summary: OutcomeSummary,
    *,
    since: datetime,
    until: datetime,
) -> MetricsReport:
    """The report over ``rows`` (already limited to the window); ``outcomes`` by investigation id."""

    def slices(groups: dict[str, list[HistoryRow]], denominator: int | None = None) -> list[Slice]:
        out = [_slice(k, g, bounces, outcomes, denominator=denominator) for k, g in groups.items()]
        return sorted(out, key=lambda s: (-s.investigations, s.key))

    rules: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        if row.escalated and row.rule is not None:
            rules[row.rule][0] += 1
            rules[row.rule][1] += row.id in bounces
    notes = []
    if not rows:
        notes.append(f"no investigation reached a diagnosis between {_iso(since)} and {_iso(until)}")
    if summary.unknown:
        why = summary.error or "not helpdesk tickets or not found in the helpdesk"
        notes.append(
            f"first-contact resolution unknown for {summary.unknown} resolved ticket(s) ({why}); "
            "they are left out of FCR and resolved-without-engineering"
        )
    no_start = sum(1 for r in rows if r.escalated and r.started_at is None)
    if no_start:
        notes.append(f"{no_start} escalation(s) have no recorded start: left out of time to escalation")
    return MetricsReport(
        since=since,
        until=until,
        total=_slice("all", rows, bounces, outcomes),
        by_team=slices(_groups(rows, lambda r: r.team), denominator=len(rows)),
        by_category=slices(_groups(rows, lambda r: r.category)),
        by_week=sorted(
            (_slice(k, g, bounces, outcomes) for k, g in _groups(rows, _week).items()), key=lambda s: s.key
        ),
        by_trigger=sorted(
            (
                TriggerLine(rule=k, escalations=n, bounced=b, bounce_rate=_rate(b, n))
                for k, (n, b) in rules.items()
            ),
            key=lambda t: (-t.escalations, t.rule),
        ),
        outcomes=summary,
        notes=notes,
    )


async def _outcomes(
    rows: list[HistoryRow], reader: OutcomeReader | None
) -> tuple[dict[str, TicketOutcome], OutcomeSummary]:
    resolved = [r for r in rows if not r.escalated]
    if reader is None:
        return {}, OutcomeSummary(
            source="none", unknown=len(resolved), error="no helpdesk configured" if resolved else None
        )
    asked = {r.id: helpdesk_id(r.ticket_id) for r in resolved}
    ids = [i for i in asked.values() if i is not None]
    error = None
    try:
        read = await reader.read(ids) if ids else {}
    except OutcomesUnavailable as exc:
        read, error = {}, str(exc)
    outcomes = {inv: read[tid] for inv, tid in asked.items() if tid is not None and tid in read}
    return outcomes, OutcomeSummary(
        source="zendesk",
        asked=len(ids),
        read=len(outcomes),
        unknown=len(resolved) - len(outcomes),
        error=error,
    )


async def metrics_of(
    rows: list[HistoryRow],
    bounces: dict[str, FeedbackRecord],
    reader: OutcomeReader | None,
    *,
    since: datetime,
    until: datetime,
) -> MetricsReport:
    """The report over history already read (the weekly review reads it for its suggestions too)."""
    outcomes, summary = await _outcomes(rows, reader)
    return compute_metrics(rows, bounces, outcomes, summary, since=since, until=until)


async def collect_metrics(
    store: Store,
    reader: OutcomeReader | None,
    *,
    since: datetime,
    until: datetime | None = None,
    tenant: str | None = None,
) -> MetricsReport:
    """Every figure over ``[since, until)``: the store's history, the helpdesk's outcomes.

    ``reader`` None: no helpdesk, so FCR is unknown (and said so). A helpdesk that fails is the
    same, with its error; the other figures are computed all the same."""
    until = until or datetime.now(UTC)
    # The store is read in a thread: in the service this runs on the event loop.
    rows, bounces, records = await asyncio.to_thread(
        lambda: (
            load_history(store, since, until, tenant),
            load_bounces(store, tenant),
            store.list(since=since, tenant=tenant),
        )
    )
    report = await metrics_of(rows, bounces, reader, since=since, until=until)
    report.top_clusters = cluster_report(records, since=since, until=until).clusters[:TOP_CLUSTERS]
    return report


def window(since: str, until: str | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """``since``/``until`` as 7d, 24h, 2w or ISO 8601 (``until`` default: now); UsageError unless
    the window has a length."""
    from casefile.agent.errors import UsageError
    from casefile.agent.routing_cli import parse_since

    now = now or datetime.now(UTC)
    start = parse_since(since, now)
    end = parse_since(until, now) if until else now
    if start >= end:
        raise UsageError(f"--since {since[:40]!r} is not before the end of the window; nothing to measure")
    return start, end


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
