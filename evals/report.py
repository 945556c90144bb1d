"""Render a run: terminal table, progress bar, report.md/.html with charts, results.json, JUnit XML, baseline diff.

The report is written for a support lead: failures first (expected against
actual, the missing facts, the draft reply), then the families, calibration,
cost and latency, the trend over the earlier runs in the same directory, and
every case. It is built once as typed blocks (``casefile.evals.document``) and
laid out as Markdown and as HTML, both showing the charts (``casefile.evals.charts``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

from casefile.agent.errors import CasefileError, UsageError
from casefile.evals.charts import Figure, by_family, by_world, calibration_bins, render_charts
from casefile.evals.document import (
    Alert,
    Block,
    Bullets,
    Heading,
    Image,
    Para,
    Pre,
    Quote,
    Table,
    to_html,
    to_markdown,
)
from casefile.evals.progress import ProgressBar
from casefile.evals.runner import RunResult
from casefile.evals.scoring import CaseScore, RunSummary, summarise

__all__ = [
    "Comparison",
    "ProgressBar",
    "compare",
    "load_history",
    "load_results",
    "render_comparison",
    "render_markdown",
    "render_table",
    "report_blocks",
    "write_junit",
    "write_run",
]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _yn(flag: bool) -> str:
    return "✓" if flag else "✗"


def _who(s: CaseScore) -> str:
    if s.error:
        return "–"
    return "stand-in" if s.stood_in else "model"


def _counts_line(m: RunSummary) -> str:
    producers = ", ".join(f"{who} {n}" for who, n in sorted(m.diagnosed_by.items())) or "nobody"
    return (
        f"diagnosed by: {producers}  fallbacks {m.fallbacks}  repairs {m.repairs}  "
        f"rejections {m.rejections}  errors {m.errors}"
    )


def render_table(run: RunResult) -> str:
    """The per-case table and the totals, for the terminal."""
    rows = [("case", "pass", "by", "cat", "act", "team", "facts", "got", "conf", "rep", "calls", "ms")]
    for s in run.scores:
        facts = f"{len(s.facts_cited)}/{len(s.facts_cited) + len(s.facts_missing)}"
        got = "ERROR" if s.error else f"{s.category}/{s.action}" + (f"/{s.team}" if s.team else "")
        rows.append(
            (
                s.case_id + (f"#{s.repeat}" if run.k > 1 else ""),
                _yn(s.passed),
                _who(s),
                _yn(s.category_ok),
                _yn(s.action_ok),
                _yn(s.team_ok),
                facts,
                got,
                "–" if s.confidence is None else f"{s.confidence:.2f}",
                str(s.repairs),
                str(s.tool_calls),
                f"{s.latency_ms:.0f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("─" * w for w in widths))
    m = run.summary
    lines += [
        "",
        f"model {run.model}  cases {m.cases}  runs {m.runs}  concurrency {run.concurrency}  wall {run.wall_s:.2f} s",
        f"pass {m.passed}/{m.runs} ({_pct(m.pass_rate)})  pass^{run.k} {_pct(m.pass_hat_k)}  "
        f"category {_pct(m.category_accuracy)}  action {_pct(m.action_accuracy)}  team {_pct(m.team_accuracy)}  "
        f"top-1 {_pct(m.category_accuracy)}  top-3 {_pct(m.top3_accuracy)}",
        _counts_line(m),
        f"facts {_pct(m.facts_recall)}  forbidden claims {m.forbidden_claims}  grounding {_pct(m.grounding)}  "
        f"Brier {m.brier if m.brier is not None else '–'}",
        f"turns {m.turns}  tool calls {m.tool_calls}  tokens {m.input_tokens}/{m.output_tokens}  "
        f"cost ${m.cost_usd:.4f}  latency p50 {m.latency_p50_ms:.0f} ms p95 {m.latency_p95_ms:.0f} ms",
    ]
    worlds = by_world(run.scores)
    if len(worlds) > 1:
        lines += [
            f"world {w.world}: {w.passed}/{w.runs} ({_pct(w.rate)})  top-1 {_pct(w.top1)}  top-3 {_pct(w.top3)}  "
            f"Brier {w.brier if w.brier is not None else '–'}"
            for w in worlds
        ]
    if run.stopped:
        lines.append(f"STOPPED: {run.stopped}")
    return "\n".join(lines)


# ---------------------------------------------------------------- report.md / report.html


def _triple(category: object, action: object, team: object) -> str:
    return f"{category or '–'} / {action or '–'}" + (f" / {team}" if team else "")


def _failure_section(s: CaseScore, k: int) -> list[Block]:
    exp = s.expected
    title = s.case_id + (f" (repeat {s.repeat})" if k > 1 else "")
    blocks: list[Block] = [Heading(3, title)]
    if s.error:
        return [*blocks, Para(f"The run failed: {s.error}")]
    if s.stood_in:
        blocks.append(
            Para(
                f"Not diagnosed by {s.requested_model}: the {s.diagnosed_by} investigator stood in "
                f"({s.fallback_reason or 'no reason recorded'}). Its answer is shown below; it does not count."
            )
        )
    blocks.append(
        Table(
            ["", "category", "action", "team"],
            [
                ["expected", str(exp.get("category")), str(exp.get("action")), str(exp.get("team") or "–")],
                ["actual", str(s.category), str(s.action), str(s.team or "–")],
            ],
        )
    )
    reasons = [r for r in s.failures() if not r.startswith("diagnosed by")]
    if reasons:
        blocks.append(Bullets(reasons))
    if s.facts_missing:
        blocks.append(Para("Missing facts: " + ", ".join(f"`{f}`" for f in s.facts_missing)))
    if s.summary:
        blocks.append(Para(f"Summary: {s.summary}"))
    if s.reply:
        blocks.append(Quote(f"Draft reply: {s.reply}"))
    return blocks


def report_blocks(
    run: RunResult,
    comparison: Comparison | None = None,
    *,
    figures: Sequence[Figure] = (),
    history: Sequence[RunResult] = (),
) -> list[Block]:
    """The report as typed blocks; :func:`write_run` lays them out as Markdown and HTML."""
    m = run.summary
    blocks: list[Block] = [
        Heading(1, f"Eval run {run.run_id}"),
        Para(
            f"Model `{run.model}`, {m.cases} cases × {run.k}, concurrency {run.concurrency}, "
            f"wall time {run.wall_s:.2f} s, started {run.started_at}."
        ),
    ]
    if run.stopped:
        blocks.append(
            Alert(
                f"The run stopped: {run.stopped}. This is a configuration error, not an outage: "
                "no case was diagnosed by the model, and every case counts as failed."
            )
        )
    if m.fallbacks:
        blocks.append(
            Alert(
                f"The offline investigator stood in for {run.model} in {m.fallbacks} of {m.runs} runs; "
                "those runs count as failures of the model (see Failures)."
            )
        )
    producers = ", ".join(f"{who}: {n}" for who, n in sorted(m.diagnosed_by.items())) or "nobody"
    blocks += [
        Table(
            ["metric", "value"],
            [
                ["pass rate", f"{_pct(m.pass_rate)} ({m.passed}/{m.runs})"],
                [f"pass^{run.k} (right on every repeat)", _pct(m.pass_hat_k)],
                ["diagnosed by", producers],
                ["fallbacks / repairs / rejections", f"{m.fallbacks} / {m.repairs} / {m.rejections}"],
                ["errors", str(m.errors)],
                [
                    "category / action / team",
                    f"{_pct(m.category_accuracy)} / {_pct(m.action_accuracy)} / {_pct(m.team_accuracy)}",
                ],
                [
                    "top-1 / top-3 (expected cause first / among the three hypotheses)",
                    f"{_pct(m.category_accuracy)} / {_pct(m.top3_accuracy)}",
                ],
                ["required facts cited", _pct(m.facts_recall)],
                ["forbidden claims", str(m.forbidden_claims)],
                ["grounding", _pct(m.grounding)],
                ["Brier score (lower is better)", "–" if m.brier is None else f"{m.brier:.3f}"],
                ["cost", f"${m.cost_usd:.4f}"],
                ["latency p50 / p95", f"{m.latency_p50_ms:.0f} / {m.latency_p95_ms:.0f} ms"],
            ],
        ),
    ]
    if figures:
        blocks += [Heading(2, "Pictures"), *(Image(f.file, f.title) for f in figures)]
    failing = [s for s in run.scores if not s.passed]
    blocks.append(Heading(2, f"Failures ({len(failing)})"))
    if not failing:
        blocks.append(Para("Every case passed."))
    not_run = [s for s in failing if (s.error or "").startswith("not run:")]
    if not_run:  # one line for the cases a stopped run never started, not one section each
        blocks.append(Para(f"{len(not_run)} case(s) not run: the run stopped (see above)."))
    for s in failing:
        if s not in not_run:
            blocks += _failure_section(s, run.k)

    blocks += [
        Heading(2, "By family"),
        Table(
            ["family", "cases", "runs", "passed", "pass rate", f"pass^{run.k}"],
            [
                [f.family, str(f.cases), str(f.runs), str(f.passed), _pct(f.rate), _pct(f.pass_hat_k)]
                for f in sorted(by_family(run.scores), key=lambda f: f.family)
            ],
        ),
        Heading(2, "By world"),
        Table(
            ["world", "cases", "runs", "passed", "pass rate", "top-1", "top-3", "Brier"],
            [
                [
                    w.world,
                    str(w.cases),
                    str(w.runs),
                    str(w.passed),
                    _pct(w.rate),
                    _pct(w.top1),
                    _pct(w.top3),
                    "–" if w.brier is None else f"{w.brier:.3f}",
                ]
                for w in by_world(run.scores)
            ],
        ),
        Heading(2, "Calibration"),
        Para(
            "Brier score = mean of (confidence − passed)² over the runs the model diagnosed itself "
            f"(lower is better; always answering 0.5 scores 0.25): "
            f"{'–' if m.brier is None else f'{m.brier:.3f}'}."
        ),
        Table(
            ["confidence", "runs", "mean confidence", "passed"],
            [
                [f"{b.low:.1f}–{b.high:.1f}", str(b.runs), f"{b.mean_confidence:.2f}", _pct(b.pass_rate)]
                for b in calibration_bins(run.scores)
            ],
        ),
        Heading(2, "Cost and latency"),
        Table(
            ["", "total", "per run"],
            [
                ["cost", f"${m.cost_usd:.4f}", f"${m.cost_usd / max(m.runs, 1):.4f}"],
                ["tokens in / out", f"{m.input_tokens} / {m.output_tokens}", ""],
                ["model turns", "", f"{m.turns}"],
                ["tool calls", "", f"{m.tool_calls}"],
                ["latency p50 / p95", "", f"{m.latency_p50_ms:.0f} / {m.latency_p95_ms:.0f} ms"],
            ],
        ),
    ]
    if len(history) > 1:
        blocks += [
            Heading(2, "Earlier runs in this directory"),
            Table(
                ["run", "model", "cases", "pass rate", "fallbacks", "Brier"],
                [
                    [
                        r.run_id,
                        r.model,
                        str(r.summary.cases),
                        _pct(r.summary.pass_rate),
                        str(r.summary.fallbacks),
                        "–" if r.summary.brier is None else f"{r.summary.brier:.3f}",
                    ]
                    for r in history
                ],
            ),
        ]
    blocks += [
        Heading(2, "Every case"),
        Table(
            ["case", "pass", "by", "got", "expected", "confidence", "repairs", "why it failed"],
            [
                [
                    s.case_id + (f" #{s.repeat}" if run.k > 1 else ""),
                    _yn(s.passed),
                    _who(s),
                    "error" if s.error else _triple(s.category, s.action, s.team),
                    _triple(s.expected.get("category"), s.expected.get("action"), s.expected.get("team")),
                    "–" if s.confidence is None else f"{s.confidence:.2f}",
                    str(s.repairs),
                    "; ".join(s.failures()),
                ]
                for s in run.scores
            ],
        ),
    ]
    if comparison is not None:
        blocks += [Heading(2, "Against the baseline"), Pre(render_comparison(comparison))]
    return blocks


def render_markdown(run: RunResult, comparison: Comparison | None = None) -> str:
    """The report as Markdown, without charts or history (what a terminal or a test reads)."""
    return to_markdown(report_blocks(run, comparison))


def load_history(runs_dir: Path, current: RunResult) -> list[RunResult]:
    """The runs in ``runs_dir`` (each ``*/results.json``), oldest first, ending with ``current``."""
    found = []
    for path in sorted(runs_dir.glob("*/results.json")):
        try:
            earlier = load_results(path)
        except CasefileError:
            continue  # a half-written or foreign file is not history
        if earlier.run_id != current.run_id:
            found.append(earlier)
    found.sort(key=lambda r: r.started_at)
    return [*found, current]


def write_run(
    run: RunResult, out_dir: Path, comparison: Comparison | None = None, *, charts: bool = True
) -> None:
    """results.json, the charts, report.md and report.html into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(run.model_dump_json(indent=2), encoding="utf-8")
    history = load_history(out_dir.parent, run)
    figures = render_charts(run, out_dir, history) if charts else []
    # Built once, laid out twice: report.md and report.html cannot drift apart.
    blocks = report_blocks(run, comparison, figures=figures, history=history)
    (out_dir / "report.md").write_text(to_markdown(blocks), encoding="utf-8")
    (out_dir / "report.html").write_text(to_html(blocks, title=f"Eval run {run.run_id}"), encoding="utf-8")


def load_results(path: Path) -> RunResult:
    """An earlier run's results.json; a run written before fallbacks failed is re-scored the same way."""
    try:
        run = RunResult.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise UsageError(f"no results file at {path}") from None
    except (OSError, ValueError) as exc:  # unreadable, not JSON, or not a run's results
        first = str(exc).splitlines()[0]
        raise UsageError(f"{path} is not a casefile eval results.json: {first}") from None
    rescored = False
    for s in run.scores:
        if s.diagnosed_by is None and not s.error:
            s.requested_model = run.model
            s.diagnosed_by = "offline" if s.fallback_reason else run.model
            if s.stood_in and s.passed:
                s.passed, rescored = False, True
    if rescored:
        run.summary = summarise(run.scores)
    return run


def write_junit(run: RunResult, path: Path) -> None:
    """One <testcase> per case × repeat; a failed case carries its reasons."""
    failures = sum(1 for s in run.scores if not s.passed and not s.error)
    errors = sum(1 for s in run.scores if s.error)
    suite = ET.Element(
        "testsuite",
        name=f"casefile-eval[{run.model}]",
        tests=str(len(run.scores)),
        failures=str(failures),
        errors=str(errors),
        time=f"{run.wall_s:.3f}",
        timestamp=run.started_at,
    )
    for s in run.scores:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"golden.{run.model}",
            name=s.case_id + (f"[{s.repeat}]" if run.k > 1 else ""),
            time=f"{s.latency_ms / 1000:.3f}",
        )
        if s.error:
            ET.SubElement(case, "error", message=s.error[:500]).text = s.error
        elif not s.passed:
            reasons = s.failures()
            ET.SubElement(case, "failure", message="; ".join(reasons)[:500]).text = "\n".join(reasons)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


@dataclass
class Comparison:
    """Case by case, this run against a baseline run (a case's pass rate over its repeats)."""

    improved: list[tuple[str, float, float]] = field(default_factory=list)
    regressed: list[tuple[str, float, float]] = field(default_factory=list)
    unchanged: int = 0
    new: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    pass_rate: tuple[float, float] = (0.0, 0.0)

    @property
    def has_regressions(self) -> bool:
        return bool(self.regressed)


def _case_rates(run: RunResult) -> dict[str, float]:
    return {cid: sum(s.passed for s in runs) / len(runs) for cid, runs in run.by_case().items()}


def compare(run: RunResult, baseline: RunResult) -> Comparison:
    now, before = _case_rates(run), _case_rates(baseline)
    result = Comparison(pass_rate=(baseline.summary.pass_rate, run.summary.pass_rate))
    for cid, rate in sorted(now.items()):
        if cid not in before:
            result.new.append(cid)
        elif rate > before[cid]:
            result.improved.append((cid, before[cid], rate))
        elif rate < before[cid]:
            result.regressed.append((cid, before[cid], rate))
        else:
            result.unchanged += 1
    result.missing = sorted(set(before) - set(now))
    return result


def render_comparison(c: Comparison) -> str:
    lines = [f"pass rate {_pct(c.pass_rate[0])} → {_pct(c.pass_rate[1])}"]
    for title, items in (("improved", c.improved), ("regressed", c.regressed)):
        lines.append(f"{title}: {len(items)}")
        lines += [f"  {cid}: {_pct(a)} → {_pct(b)}" for cid, a, b in items]
    lines.append(f"unchanged: {c.unchanged}")
    if c.new:
        lines.append("new cases: " + ", ".join(c.new))
    if c.missing:
        lines.append("not run (in the baseline): " + ", ".join(c.missing))
    return "\n".join(lines)
