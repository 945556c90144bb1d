"""``casefile report metrics``: the numbers over a window, as text or JSON.

Only the standard library is imported at the top: ``casefile --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from casefile.agent.cli_args import database_url_option, since_option

if TYPE_CHECKING:
    from casefile.agent.metrics.model import Durations, MetricsReport, Slice

__all__ = ["register", "render_metrics"]

T = TypeVar("T")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _times(d: Durations) -> str:
    from casefile.agent.metrics.escalations import human_duration

    return f"p50 {human_duration(d.p50)}, p95 {human_duration(d.p95)}" if d.n else "–"


def _row(s: Slice) -> str:
    return (
        f"  {s.key:26} {s.investigations:5} {_pct(s.escalation_rate):>6} {_pct(s.bounce_rate):>7}"
        f" {_pct(s.fcr_rate):>5} {_pct(s.resolved_without_engineering_share):>6}"
        f"  {_times(s.investigation_time_s)}"
    )


def render_metrics(report: MetricsReport) -> str:
    """The report as text for a terminal (the JSON has every field)."""
    from casefile.agent.metrics.escalations import iso_seconds

    t = report.total
    out = [
        f"Metrics {iso_seconds(report.since)} → {iso_seconds(report.until)}",
        f"  investigations            {t.investigations}",
        f"  escalation rate           {_pct(t.escalation_rate)} ({t.escalations})",
        f"  investigation time        {_times(t.investigation_time_s)} (ticket arrival → diagnosis)",
        f"  time to escalation        {_times(t.time_to_escalation_s)}",
        f"  bounce rate               {_pct(t.bounce_rate)} ({t.bounced} of {t.escalations})",
        f"  first-contact resolution  {_pct(t.fcr_rate)} ({t.first_contact_resolved} of {t.outcome_known}"
        f" known, {t.outcome_unknown} unknown)",
        f"  resolved w/o engineering  {_pct(t.resolved_without_engineering_share)}"
        f" ({t.resolved_without_engineering})",
    ]
    header = f"  {'':26} {'inv':>5} {'esc':>6} {'bounce':>7} {'FCR':>5} {'no-eng':>6}  investigation time"
    for title, slices in (
        ("By team (escalations routed to it)", report.by_team),
        ("By category", report.by_category),
        ("By week (Monday)", report.by_week),
    ):
        out += ["", f"{title}:", header] + ([_row(s) for s in slices] or ["  (none)"])
    out += ["", "Bounce rate by rule:"]
    out += [
        f"  {line.rule:26} {line.bounced:3} of {line.escalations:3} ({_pct(line.bounce_rate)})"
        for line in report.by_trigger
    ] or ["  (no escalations)"]
    out += ["", "Shared causes (largest; all at /clusters):"]
    out += [
        f"  {c.size} tickets share {c.key} ({c.category}, {c.accounts} accounts)" for c in report.top_clusters
    ] or ["  (none)"]
    if report.notes:
        out += ["", "Notes:"] + [f"  - {note}" for note in report.notes]
    return "\n".join(out)


def _run(args: argparse.Namespace, job: Callable[..., Awaitable[T]]) -> T:
    """``job(store, reader, since, until)`` over the window and helpdesk the arguments name."""

    from casefile.agent.config import load_settings
    from casefile.agent.errors import UsageError
    from casefile.agent.metrics.compute import window
    from casefile.agent.metrics.outcomes import outcome_reader
    from casefile.agent.runner import run_to_end
    from casefile.agent.store import Store

    since, until = window(args.since, args.until)
    settings = load_settings(args.config)
    world = None
    world_path = args.world or settings.world
    if world_path:
        from casefile.tools.world.loader import World, WorldError

        try:
            world = World(world_path)
        except WorldError as exc:
            raise UsageError(str(exc)) from None
    store = Store(args.database_url)

    async def run() -> T:
        reader = outcome_reader(settings.service.zendesk, world)
        try:
            return await job(store, reader, since, until)
        finally:
            if reader is not None:
                await reader.aclose()

    try:
        return run_to_end(run())
    finally:
        store.close()


def _cmd_report_metrics(args: argparse.Namespace) -> int:
    from casefile.agent.metrics.compute import collect_metrics

    report = _run(
        args,
        lambda store, reader, since, until: collect_metrics(
            store, reader, since=since, until=until, tenant=args.tenant
        ),
    )
    print(report.model_dump_json(indent=2) if args.json else render_metrics(report))
    return 0


def _cmd_report_review(args: argparse.Namespace) -> int:
    from pathlib import Path

    from casefile.agent.metrics.compute import metrics_of
    from casefile.agent.metrics.history import load_bounces, load_history
    from casefile.agent.metrics.review import WeeklyReview, build_review, render_markdown

    async def review(store: Any, reader: Any, since: datetime, until: datetime) -> WeeklyReview:
        rows, bounces = load_history(store, since, until, args.tenant), load_bounces(store, args.tenant)
        return build_review(await metrics_of(rows, bounces, reader, since=since, until=until), rows, bounces)

    text = render_markdown(_run(args, review))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"casefile: weekly review written to {args.out}", file=sys.stderr)
    else:
        print(text, end="")
    return 0


def _window_options(c: argparse.ArgumentParser) -> None:
    since_option(c)
    c.add_argument("--until", help="end of the window (default: now); same forms as --since")
    c.add_argument("--tenant", help="one tenant's investigations (default: all)")
    c.add_argument(
        "--world", help="read ticket outcomes from this world's Zendesk stand-in (default: service.zendesk)"
    )
    database_url_option(c)


def register(reports: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``metrics`` and ``review`` to ``casefile report``."""
    c = reports.add_parser(
        "metrics",
        help="escalation rate, investigation time, time to escalation, bounce rate, first-contact "
        "resolution: overall, per team, per category, per week",
    )
    _window_options(c)
    c.add_argument(
        "--json", action="store_true", help="print the report as JSON (what /v1/reports/metrics returns)"
    )
    c.set_defaults(func=_cmd_report_metrics)
    c = reports.add_parser(
        "review", help="the weekly review as Markdown: the figures, what bounced, one suggestion per cause"
    )
    _window_options(c)
    c.add_argument("--out", help="write the Markdown to this file (default: print it)")
    c.set_defaults(func=_cmd_report_review)
