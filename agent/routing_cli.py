"""Commands for the escalation matrix: ``routing check|fields``, ``feedback`` and ``report escalations``.

``casefile feedback INVESTIGATION --bounced --article URL --note "…"`` records
that an escalation was sent back to support, with the help-center article that
should have prevented it. ``casefile report escalations --since 7d`` prints the
weekly review: escalations by team, bounce rate, the preventable ones with
their article, time to escalation, and which runbooks and trigger rules to
change (built by :mod:`casefile.agent.metrics.escalations`, which the service reads too).

Only the standard library is imported at the top: ``casefile --help`` must stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from casefile.agent.cli_args import add_action, check_action, command_group, database_url_option, since_option

if TYPE_CHECKING:
    from casefile.agent.store import FeedbackRecord, InvestigationRecord, Store

__all__ = ["parse_since", "register"]

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
    helpdesk = settings.service.open_helpdesk()
    if not helpdesk.configured or not helpdesk.settings.post_notes:
        return
    handoff = Handoff(store, settings)
    ticket = handoff.bounce_ticket(record)
    if ticket is not None:
        handoff.queue_bounce(entry, ticket)
        print(f"the ticket's note about it is queued for the service (ticket {ticket})")


def _cmd_report_escalations(args: argparse.Namespace) -> int:
    from casefile.agent.metrics.escalations import escalation_report, render_report
    from casefile.agent.runner import run_to_end
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

        gap = run_to_end(measure())
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
