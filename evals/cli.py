"""``casefile eval``: run, validate and record golden cases.

Only the standard library is imported at the top (``casefile --help`` must stay
fast); each subcommand imports the harness when it runs.

Exit codes of ``eval run``: 0 when nothing regressed against ``--baseline`` and
the pass rate is at least ``--fail-under``; 1 otherwise, and when every case
errored; 2 for bad input (an unknown ``--case``, a missing ``--baseline``, a
broken golden case); 78 when the model is misconfigured (no key, unknown model,
401/403): the run stops at the first such answer, and the report says why.
A case the offline investigator diagnosed in the model's place fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

RUNS_DIR = Path("evals") / "runs"  # relative: under the directory the command runs in


def _cmd_run(args: argparse.Namespace) -> int:
    from casefile.agent.config import load_settings
    from casefile.agent.errors import ConfigError
    from casefile.agent.runner import run_to_end
    from casefile.evals.cases import GOLDEN_DIR, load_cases
    from casefile.evals.report import (
        ProgressBar,
        compare,
        load_results,
        render_comparison,
        render_table,
        write_junit,
        write_run,
    )
    from casefile.evals.runner import run_cases

    settings = load_settings(args.config)
    settings = settings.model_copy(update={"model": args.model or settings.model or "offline"})
    cases = load_cases(
        Path(args.golden) if args.golden else GOLDEN_DIR,
        ids=args.case,
        tags=args.tag,
        world=Path(args.world) if args.world else None,
    )
    if not cases:
        print(f"casefile eval: no case has the tag(s) {', '.join(args.tag)}", file=sys.stderr)
        return 2
    baseline = load_results(Path(args.baseline)) if args.baseline else None
    out_root = Path(args.out) if args.out else None
    # Transcripts go next to the results, so the directory is known before the run. Runs are the
    # user's, so they go under the working directory (never into the installed package).
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = out_root or RUNS_DIR / f"{stamp}-{settings.model.replace(':', '_').replace('/', '_')}"
    progress = None if args.quiet else ProgressBar(sys.stderr)
    print(
        f"casefile eval: {len(cases)} case(s) × {args.k} with {settings.model}, concurrency {args.concurrency}",
        file=sys.stderr,
    )
    run = run_to_end(  # not asyncio.run: it would wait for what a deadline left behind
        run_cases(cases, settings, concurrency=args.concurrency, k=args.k, out_dir=out_dir, on_score=progress)
    )
    comparison = compare(run, baseline) if baseline else None
    write_run(run, out_dir, comparison)
    if args.junit:
        write_junit(run, Path(args.junit))
    print(render_table(run))
    if comparison is not None:
        print()
        print(render_comparison(comparison))
    print(f"\nreport: {out_dir / 'report.md'}  results: {out_dir / 'results.json'}", file=sys.stderr)
    code = 0
    m = run.summary
    if m.fallbacks:
        print(
            f"casefile eval: the offline investigator stood in for {run.model} in {m.fallbacks} of "
            f"{m.runs} run(s); they count as failures",
            file=sys.stderr,
        )
    if run.stopped:
        print(f"casefile eval: stopped: {run.stopped}", file=sys.stderr)
        return ConfigError.exit_code
    if m.runs and m.errors == m.runs:
        print(f"casefile eval: every case errored ({m.errors}); see {out_dir / 'report.md'}", file=sys.stderr)
        code = 1
    if comparison is not None and comparison.has_regressions:
        print(f"casefile eval: {len(comparison.regressed)} case(s) regressed", file=sys.stderr)
        code = 1
    if args.fail_under is not None and run.summary.pass_rate < args.fail_under:
        print(
            f"casefile eval: pass rate {run.summary.pass_rate:.1%} is under {args.fail_under:.1%}",
            file=sys.stderr,
        )
        code = 1
    return code


def _cmd_validate(args: argparse.Namespace) -> int:
    from casefile.evals.cases import GOLDEN_DIR, CaseError, load_case, uses_world
    from casefile.evals.validate import validate_dirs

    root = Path(args.golden) if args.golden else GOLDEN_DIR
    if not root.is_dir():
        raise CaseError(f"golden directory not found: {root}")
    unknown = [c for c in args.case if not (root / c).is_dir()]
    if unknown:
        raise CaseError(f"unknown case(s) in {root}: {', '.join(unknown)}")
    dirs = (
        [root / c for c in args.case]
        if args.case
        else [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(("_", "."))]
    )
    if args.world:

        def in_world(d: Path) -> bool:
            try:
                return uses_world(load_case(d, root), Path(args.world))
            except CaseError:
                return True  # validate reports it

        dirs = [d for d in dirs if in_world(d)]
    problems = validate_dirs(dirs)
    for problem in problems:
        print(str(problem))
    errors = [p for p in problems if p.level == "error"]
    print(
        f"{len(dirs)} case(s) checked: {len(errors)} error(s), {len(problems) - len(errors)} warning(s)",
        file=sys.stderr,
    )
    return 1 if errors else 0


def _cmd_record(args: argparse.Namespace) -> int:
    from casefile.agent.config import load_settings
    from casefile.evals.record import record_case

    settings = load_settings(args.config)
    target = record_case(
        Path(args.ticket),
        Path(args.out),
        settings,
        world=Path(args.world) if args.world else None,
        days=args.pad_hours / 24 if args.days is None else args.days,
        category=args.category,
        action=args.action,
        team=args.team,
        must_cite=args.cite,
    )
    print(f"recorded {target}", file=sys.stderr)
    print(
        "next: review expected.json, then run `casefile eval validate --case " + target.name + "`",
        file=sys.stderr,
    )
    return 0


def _cmd_calibration(args: argparse.Namespace) -> int:
    from casefile.agent.errors import UsageError
    from casefile.evals.calibration import (
        limit_checks,
        reliability,
        render_limits,
        render_reliability,
        world_name,
    )
    from casefile.evals.report import load_results

    run = load_results(Path(args.results))
    worlds = {world_name(s.world) for s in run.scores}
    unknown = sorted(set(args.held_out) - worlds)
    if unknown:
        raise UsageError(
            f"no run of world(s) {', '.join(unknown)} in {args.results} (it has: {', '.join(sorted(worlds))})"
        )
    groups = reliability(run.scores, held_out=args.held_out)
    print(render_reliability(groups, detail=("held out", "tuned", "all", *args.detail)))
    print()
    print(render_limits(limit_checks(run.scores)))
    return 0


def _cmd_similar(args: argparse.Namespace) -> int:
    from casefile.evals.similar import cmd_similar

    return cmd_similar(args.world, args.run, args.verbose)


def register(subparsers: Any) -> None:
    """Add ``eval run|validate|record|calibration|similar`` to the ``casefile`` command."""
    p = subparsers.add_parser("eval", help="score models on the golden tickets (offline by default)")
    sub = p.add_subparsers(dest="eval_command", metavar="{run,validate,record,calibration,similar}")
    p.set_defaults(func=lambda _args: (p.print_help(), 2)[1])

    r = sub.add_parser("run", help="run golden cases and score them")
    r.add_argument("--model", help="offline (default), openai:<model> or anthropic:<model>")
    r.add_argument("--concurrency", type=int, default=4, help="investigations at once (default 4)")
    r.add_argument("--k", type=int, default=1, help="repeats per case, for pass^k (default 1)")
    r.add_argument("--case", action="append", default=[], metavar="ID", help="only this case (repeatable)")
    r.add_argument(
        "--tag", action="append", default=[], metavar="T", help="only cases with this tag (repeatable)"
    )
    r.add_argument(
        "--out",
        help="directory for report.md/.html, charts, results.json, transcripts (default ./evals/runs/<id>)",
    )
    r.add_argument("--baseline", help="results.json of an earlier run: show changes, exit 1 on regressions")
    r.add_argument("--junit", help="also write JUnit XML here")
    r.add_argument(
        "--fail-under", type=float, default=None, metavar="RATE", help="exit 1 below this pass rate"
    )
    r.add_argument("--golden", help="golden directory (default evals/golden)")
    r.add_argument("--world", help="only cases that run against this world directory (or an overlay of it)")
    r.add_argument("--config", help="casefile.toml")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=_cmd_run)

    v = sub.add_parser("validate", help="check that every golden case is well-formed and needs its tools")
    v.add_argument("--case", action="append", default=[], metavar="ID")
    v.add_argument("--golden", help="golden directory (default evals/golden)")
    v.add_argument("--world", help="only cases that run against this world directory (or an overlay of it)")
    v.set_defaults(func=_cmd_validate)

    c = sub.add_parser("record", help="build a golden case from a resolved ticket by snapshotting the tools")
    c.add_argument("ticket", help="the ticket file")
    c.add_argument("--out", required=True, help="new case directory, e.g. evals/golden/acme-429-again")
    c.add_argument(
        "--world",
        help="record from this world instead of the live systems (the same connectors, its emulators)",
    )
    c.add_argument(
        "--pad-hours",
        type=float,
        default=1.0,
        help="hours of log rows kept around each window the investigation read (default 1)",
    )
    c.add_argument(
        "--days", type=float, default=None, help=argparse.SUPPRESS
    )  # the same, in days (older name)
    c.add_argument("--category", required=True, help="the root cause the ticket was resolved with")
    c.add_argument("--action", choices=["resolve", "escalate"], required=True)
    c.add_argument("--team", help="the team it was escalated to")
    c.add_argument(
        "--cite", action="append", default=[], metavar="FACT", help="a fact the diagnosis must cite"
    )
    c.add_argument("--config", help="casefile.toml")
    c.set_defaults(func=_cmd_record)

    k = sub.add_parser(
        "calibration", help="Brier and reliability by confidence bin, per world and for held-out worlds"
    )
    k.add_argument("results", help="an eval run's results.json")
    k.add_argument(
        "--held-out",
        action="append",
        default=[],
        metavar="WORLD",
        help="a world nobody tuned on (repeatable)",
    )
    k.add_argument(
        "--detail",
        action="append",
        default=[],
        metavar="WORLD",
        help="also show this world's bins (repeatable)",
    )
    k.set_defaults(func=_cmd_calibration)

    s = sub.add_parser("similar", help="precision@3 of similar-case ranking on the labelled sets")
    s.add_argument("--world", action="append", default=[], help="demo, kestrel or pipewell (repeatable)")
    s.add_argument("--run", help="an eval run's results.json: rank its diagnoses as past cases")
    s.add_argument("-v", "--verbose", action="store_true", help="list the queries that missed")
    s.set_defaults(func=_cmd_similar)
