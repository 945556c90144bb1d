"""Commands for the escalation matrix: ``routing check|fields``, ``feedback`` and ``report escalations``.

``casefile feedback INVESTIGATION --bounced --article URL --note "…"`` records
that an escalation was sent back to support, with the help-center article that
should have prevented it. ``casefile report escalations --since 7d`` prints the
weekly review: escalations by team, bounce rate, the preventable ones with
their article, time to escalation, and which runbooks and trigger rules to
change. :func:`escalation_report` builds the same review as data for the
service.

Only the standard library is imported at the top: ``casefile --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from casefile.agent.cli_args import add_action, check_action, command_group, database_url_option, since_option

if TYPE_CHECKING:
    from casefile.agent.store import FeedbackRecord, InvestigationRecord, Store

__all__ = ["EscalationReport", "escalation_report", "parse_since", "register", "render_report"]

_SINCE = re.compile(r"^(?P<n>\d+)\s*(?P<unit>[mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``90m``, ``2w`` before ``now``, or an ISO 8601 date or time."""
    from casefile.agent.errors import UsageError

    now = now or datetime.now(UTC)
    m = _SINCE.match(value.strip().lower())
    try:
        if m:
            return now - timedelta(**{_UNITS[m.group("unit")]: int(m.group("n"))})
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        parsed.astimezone(UTC)  # a time that exists only outside UTC's range (0001-01-01+14:00)
    except (ValueError, OverflowError):
        raise UsageError(f"--since {value[:40]!r}: use 7d, 24h, 2w or an ISO 8601 date") from None
    return parsed


# ---------------------------------------------------------------- the weekly review


@dataclass
class TeamLine:
    team: str
    escalations: int
    bounced: int


@dataclass
class Preventable:
    investigation_id: str
    ticket_id: str
    team: str
    article: str | None
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


@dataclass
class EscalationReport:
    since: str
    until: str
    investigations: int
    escalations: int
    bounced: int
    bounce_rate: float | None
    by_team: list[TeamLine] = field(default_factory=list)
    preventable: list[Preventable] = field(default_factory=list)
    time_to_escalation_s: dict[str, float | None] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    shared_causes: dict[str, Any] = field(default_factory=dict)  # agent/similar/clusters.py
    docs_gap: dict[str, Any] | None = None  # agent/similar/docs_gap.py, filled by the caller (it searches)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        causes.append(
            Cause(
                id=record.id,
                trigger=escalation.trigger,
                runbooks=diagnosis.runbooks,
                category=diagnosis.root_cause.category,
            )
        )
        if bounced and verdict is not None and verdict.article:
            preventable.append(
                Preventable(
                    investigation_id=record.id,
                    ticket_id=record.ticket_id,
                    team=escalation.team,
                    article=verdict.article,
                    note=verdict.note,
                    trigger=escalation.trigger,
                    runbooks=list(diagnosis.runbooks),
                    category=diagnosis.root_cause.category,
                )
            )
    changes = [
        Change(s.lever, s.name, s.escalations, s.prevented, s.articles, s.text)
        for s in suggestions(causes, bounces)
    ]
    return EscalationReport(
        since=_iso(since),
        until=_iso(until),
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


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _duration(seconds: float | None) -> str:
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
        f"Time to escalation: median {_duration(t.get('median'))}, p90 {_duration(t.get('p90'))}, "
        f"max {_duration(t.get('max'))}",
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


# ---------------------------------------------------------------- commands


def _open_store(url: str | None) -> Store:
    from casefile.agent.store import Store

    return Store(url)


def _cmd_routing_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from casefile.agent.routing import ROUTING_FILE, check_routing

    path = Path(args.file) if args.file else ROUTING_FILE
    config, problems = check_routing(path)
    if config is not None:
        from casefile.agent.config import load_settings
        from casefile.agent.handoff.config import check_handoff

        slack = load_settings(getattr(args, "config", None)).slack
        problems += check_handoff(config.teams, path.read_text(encoding="utf-8"), str(path), slack)
    for problem in problems:
        print(str(problem))
    if problems or config is None:
        print(f"{len(problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    print(
        f"{path}: OK — {len(config.teams)} teams, {len(config.symptoms)} symptoms, "
        f"{len(config.triggers)} trigger rules"
    )
    return 0


def _cmd_routing_fields(args: argparse.Namespace) -> int:
    from casefile.agent.packet import FIELDS

    for name, spec in FIELDS.items():
        print(f"{name:24} {spec.description}")
    return 0


def _cmd_feedback(args: argparse.Namespace) -> int:
    from casefile.agent.errors import UsageError
    from casefile.agent.handoff.bounce import InvalidBounce, NotEscalated, Verdict, record_feedback

    if args.article and not re.match(r"^https?://\S+$", args.article):
        raise UsageError(f"--article must be a URL, got {args.article!r}")
    by = args.by or os.environ.get("USER") or "cli"
    store = _open_store(args.database_url)
    try:
        record = store.get(args.investigation)
        if record is None:
            raise UsageError(f"no investigation {args.investigation!r} in {store.url}")
        try:
            said = Verdict(bounced=args.bounced, article=args.article, snippet=args.snippet, note=args.note)
            entry = record_feedback(store, record, said, by=by, via="cli")
        except InvalidBounce as exc:
            raise UsageError(f"--bounced: {exc} (--article URL or --snippet TEXT, and --note)") from None
        except NotEscalated as exc:
            raise UsageError(str(exc)) from None
        if args.bounced:
            _queue_bounce_note(store, record, entry, getattr(args, "config", None))
    finally:
        store.close()
    team = record.diagnosis.escalation.team if record.diagnosis and record.diagnosis.escalation else None
    verdict = "bounced back" + (f" from {team}" if team else "") if args.bounced else "recorded"
    print(f"{args.investigation} (ticket {record.ticket_id}): feedback {verdict}")
    return 0


def _queue_bounce_note(
    store: Store, record: InvestigationRecord, entry: FeedbackRecord, config: str | None
) -> None:
    """Owe the ticket a note about the bounce; the service's workers post it (same store)."""
    from casefile.agent.config import load_settings
    from casefile.agent.handoff.deliver import Handoff

    settings = load_settings(config)
    if settings.service.zendesk.api_base() is None or not settings.service.zendesk.post_notes:
        return
    handoff = Handoff(store, settings)
    ticket = handoff.bounce_ticket(record)
    if ticket is not None:
        handoff.queue_bounce(entry, ticket)
        print(f"the ticket's note about it is queued for the service (ticket {ticket})")


def _cmd_report_escalations(args: argparse.Namespace) -> int:
    import asyncio

    from casefile.agent.similar.docs_gap import DocsGap
    from casefile.agent.similar.review import docs_toolbox, measure_docs_gap

    since = parse_since(args.since)
    store = _open_store(args.database_url)
    try:
        report = escalation_report(store.list(since=since), store.feedback(), since=since)
        toolbox = docs_toolbox(args.world)

        async def measure() -> DocsGap | None:
            try:
                return await measure_docs_gap(report.preventable, store, toolbox)
            finally:
                if toolbox is not None:
                    await toolbox.aclose()

        gap = asyncio.run(measure())
        report.docs_gap = gap.model_dump(mode="json") if gap else None
    finally:
        store.close()
    print(json.dumps(report.as_dict(), indent=2) if args.json else render_report(report))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``routing``, ``feedback`` and ``report`` to the ``casefile`` command."""
    actions = command_group(subparsers, "routing", "check the escalation matrix (prompts/routing.yaml)")
    check_action(
        actions, "a routing file", "file", "routing file (default: prompts/routing.yaml)", _cmd_routing_check
    )
    add_action(actions, "fields", "list the packet fields teams may require", _cmd_routing_fields)

    p = subparsers.add_parser("feedback", help="record that an escalation bounced back, and why")
    p.add_argument("investigation", help="investigation id (inv_…)")
    p.add_argument("--bounced", action="store_true", help="the team sent the escalation back to support")
    p.add_argument("--article", help="the help-center article that answers the ticket")
    p.add_argument("--snippet", help="or the snippet (macro, reply text) that answers it")
    p.add_argument("--note", help="why it bounced, in one or two sentences (required with --bounced)")
    p.add_argument("--by", help="who is recording this (default: $USER)")
    database_url_option(p)
    p.set_defaults(func=_cmd_feedback)

    reports = command_group(subparsers, "report", "reports over past investigations", metavar="REPORT")
    c = add_action(
        reports,
        "escalations",
        "escalations by team, bounce rate, preventable ones, what to change",
        _cmd_report_escalations,
    )
    since_option(c)
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    database_url_option(c)
    c.add_argument(
        "--world", help="search this world's help center for the docs gap (default: HELPCENTER_URL's, if set)"
    )

    from casefile.agent.metrics.cli import register as register_metrics

    register_metrics(reports)
