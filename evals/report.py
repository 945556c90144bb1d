"""Render a run: terminal table, progress bar, report.md, results.json, JUnit XML, baseline diff."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from xml.etree import ElementTree as ET

from casefile.evals.runner import RunResult
from casefile.evals.scoring import CaseScore

__all__ = [
    "Comparison",
    "ProgressBar",
    "compare",
    "load_results",
    "render_comparison",
    "render_markdown",
    "render_table",
    "write_junit",
    "write_run",
]


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal; one line per case otherwise."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self.failed = 0

    def __call__(self, score: CaseScore, done: int, total: int) -> None:
        self.failed += not score.passed
        mark = "✓" if score.passed else "✗"
        if self.tty:
            filled = int(self.width * done / max(total, 1))
            bar = "█" * filled + "░" * (self.width - filled)
            self.stream.write(
                f"\r{bar} {done}/{total}  failed {self.failed}  {mark} {score.case_id[:40]:<40}"
            )
            if done == total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{done}/{total}] {mark} {score.case_id} ({score.latency_ms:.0f} ms)\n")
        self.stream.flush()


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _yn(flag: bool) -> str:
    return "✓" if flag else "✗"


def render_table(run: RunResult) -> str:
    """The per-case table and the totals, for the terminal."""
    rows = [("case", "pass", "cat", "act", "team", "facts", "got", "conf", "calls", "ms")]
    for s in run.scores:
        facts = f"{len(s.facts_cited)}/{len(s.facts_cited) + len(s.facts_missing)}"
        got = "ERROR" if s.error else f"{s.category}/{s.action}" + (f"/{s.team}" if s.team else "")
        rows.append(
            (
                s.case_id + (f"#{s.repeat}" if run.k > 1 else ""),
                _yn(s.passed),
                _yn(s.category_ok),
                _yn(s.action_ok),
                _yn(s.team_ok),
                facts,
                got,
                "–" if s.confidence is None else f"{s.confidence:.2f}",
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
        f"category {_pct(m.category_accuracy)}  action {_pct(m.action_accuracy)}  team {_pct(m.team_accuracy)}",
        f"facts {_pct(m.facts_recall)}  forbidden claims {m.forbidden_claims}  grounding {_pct(m.grounding)}  "
        f"Brier {m.brier if m.brier is not None else '–'}  errors {m.errors}",
        f"turns {m.turns}  tool calls {m.tool_calls}  tokens {m.input_tokens}/{m.output_tokens}  "
        f"cost ${m.cost_usd:.4f}  latency p50 {m.latency_p50_ms:.0f} ms p95 {m.latency_p95_ms:.0f} ms",
    ]
    return "\n".join(lines)


def render_markdown(run: RunResult, comparison: Comparison | None = None) -> str:
    m = run.summary
    out = [
        f"# Eval run {run.run_id}",
        "",
        f"Model `{run.model}`, {m.cases} cases × {run.k}, concurrency {run.concurrency}, "
        f"wall time {run.wall_s:.2f} s, started {run.started_at}.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| pass rate | {_pct(m.pass_rate)} ({m.passed}/{m.runs}) |",
        f"| pass^{run.k} | {_pct(m.pass_hat_k)} |",
        f"| category / action / team | {_pct(m.category_accuracy)} / {_pct(m.action_accuracy)} / {_pct(m.team_accuracy)} |",
        f"| required facts cited | {_pct(m.facts_recall)} |",
        f"| forbidden claims | {m.forbidden_claims} |",
        f"| grounding | {_pct(m.grounding)} |",
        f"| Brier score | {m.brier if m.brier is not None else '–'} |",
        f"| turns / tool calls (mean) | {m.turns} / {m.tool_calls} |",
        f"| tokens in / out | {m.input_tokens} / {m.output_tokens} |",
        f"| cost | ${m.cost_usd:.4f} |",
        f"| latency p50 / p95 | {m.latency_p50_ms:.0f} / {m.latency_p95_ms:.0f} ms |",
        "",
        "## Cases",
        "",
        "| case | pass | got | expected | confidence | why it failed |",
        "|---|---|---|---|---|---|",
    ]
    for s in run.scores:
        exp = s.expected
        got = "error" if s.error else f"{s.category} / {s.action}" + (f" / {s.team}" if s.team else "")
        want = f"{exp.get('category')} / {exp.get('action')}" + (
            f" / {exp['team']}" if exp.get("team") else ""
        )
        why = "; ".join(s.failures()).replace("|", "\\|")
        conf = "–" if s.confidence is None else f"{s.confidence:.2f}"
        out.append(
            f"| {s.case_id}{f' #{s.repeat}' if run.k > 1 else ''} | {_yn(s.passed)} | {got} | {want} | {conf} | {why} |"
        )
    if comparison is not None:
        out += ["", "## Against the baseline", "", render_comparison(comparison)]
    return "\n".join(out) + "\n"


def write_run(run: RunResult, out_dir: Path, comparison: Comparison | None = None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(run.model_dump_json(indent=2), encoding="utf-8")
    (out_dir / "report.md").write_text(render_markdown(run, comparison), encoding="utf-8")


def load_results(path: Path) -> RunResult:
    return RunResult.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


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
