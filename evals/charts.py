"""The pictures of an eval run, as PNG files beside ``report.md`` (matplotlib, Agg backend).

Four charts, each answering one question a support lead asks:

* ``pass_by_family.png`` — which families of tickets does the model get right?
* ``calibration.png`` — when it says 80 % sure, is it right 80 % of the time?
* ``latency.png`` — how long does a customer wait for a diagnosis?
* ``trend.png`` — is it getting better than the earlier runs in the same directory?

matplotlib is imported here only (not by ``casefile --help`` or an investigation),
with the non-interactive Agg backend, so it renders without a display.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from casefile.evals.runner import RunResult
    from casefile.evals.scoring import CaseScore

__all__ = ["CalibrationBin", "FamilyRate", "Figure", "by_family", "calibration_bins", "render_charts"]

_GOOD, _BAD, _INK, _GRID = "#2f7d4f", "#c0392b", "#333333", "#dddddd"


class Figure(BaseModel):
    """One rendered chart: the file (relative to the report) and what it shows."""

    file: str
    title: str


class PassTally(BaseModel):
    """How many cases and runs of them, and how many runs passed."""

    cases: int
    runs: int
    passed: int

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0


class FamilyRate(PassTally):
    """Pass rate of the runs of one tag (a case counts in every family it is tagged with)."""

    family: str
    pass_hat_k: float


class CalibrationBin(BaseModel):
    """Runs whose stated confidence fell in ``[low, high)``, and how often they were right."""

    low: float
    high: float
    runs: int
    mean_confidence: float
    pass_rate: float


def by_family(scores: Sequence[CaseScore]) -> list[FamilyRate]:
    """Per tag: cases, runs, passed runs and pass^k (cases right on every repeat); untagged → ``(none)``."""
    grouped: dict[str, dict[str, list[bool]]] = {}
    for s in scores:
        for tag in s.tags or ["(none)"]:
            grouped.setdefault(tag, {}).setdefault(s.case_id, []).append(s.passed)
    rates = [
        FamilyRate(
            family=tag,
            cases=len(cases),
            runs=sum(len(r) for r in cases.values()),
            passed=sum(sum(r) for r in cases.values()),
            pass_hat_k=sum(all(r) for r in cases.values()) / len(cases),
        )
        for tag, cases in grouped.items()
    ]
    return sorted(rates, key=lambda f: (f.rate, f.family))


class WorldRate(PassTally):
    """Pass rate and Brier score of the runs of the cases on one world."""

    world: str
    brier: float | None
    top1: float = 0.0
    top3: float = 0.0


def by_world(scores: Sequence[CaseScore]) -> list[WorldRate]:
    """Per base world (a new company's world is judged on its own), by name."""
    from casefile.evals.scoring import brier

    grouped: dict[str, list[CaseScore]] = {}
    for s in scores:
        grouped.setdefault(s.world or "(unknown)", []).append(s)
    return [
        WorldRate(
            world=world,
            cases=len({s.case_id for s in runs}),
            runs=len(runs),
            passed=sum(s.passed for s in runs),
            brier=brier(runs),
            top1=sum(s.category_ok for s in runs) / len(runs),
            top3=sum(s.top3_ok for s in runs) / len(runs),
        )
        for world, runs in sorted(grouped.items())
    ]


def calibration_bins(scores: Sequence[CaseScore], bins: int = 5) -> list[CalibrationBin]:
    """Reliability table of the runs the model itself diagnosed (a stand-in's confidence is not its own)."""
    rated = [s for s in scores if s.confidence is not None and s.error is None and not s.stood_in]
    out = []
    for i in range(bins):
        low, high = i / bins, (i + 1) / bins
        inside = [
            s for s in rated if low <= (s.confidence or 0.0) < high or (i == bins - 1 and s.confidence == 1.0)
        ]
        if inside:
            out.append(
                CalibrationBin(
                    low=low,
                    high=high,
                    runs=len(inside),
                    mean_confidence=sum(s.confidence or 0.0 for s in inside) / len(inside),
                    pass_rate=sum(s.passed for s in inside) / len(inside),
                )
            )
    return out


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {"font.size": 9, "axes.edgecolor": _INK, "axes.spines.top": False, "axes.spines.right": False}
    )
    return plt


def _save(plt: Any, fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pass_by_family(plt: Any, run: RunResult, path: Path) -> None:
    families = by_family(run.scores)
    fig, ax = plt.subplots(figsize=(7, 0.32 * max(len(families), 3) + 1.2))
    names = [f"{f.family} ({f.cases})" for f in families]
    rates = [f.rate * 100 for f in families]
    colours = [_GOOD if r >= 80 else _BAD if r < 50 else "#d68910" for r in rates]
    ax.barh(names, rates, color=colours)
    for y, f in enumerate(families):
        ax.text(min(f.rate * 100 + 1, 92), y, f"{f.passed}/{f.runs}", va="center", fontsize=8, color=_INK)
    ax.set_xlim(0, 100)
    ax.set_xlabel("pass rate (%)")
    ax.set_title(f"Pass rate by family — {run.model}")
    ax.grid(axis="x", color=_GRID)
    _save(plt, fig, path)


def _calibration(plt: Any, run: RunResult, path: Path) -> None:
    table = calibration_bins(run.scores)
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.plot([0, 1], [0, 1], linestyle="--", color="#999999", label="perfectly calibrated")
    if table:
        xs = [b.mean_confidence for b in table]
        ys = [b.pass_rate for b in table]
        ax.plot(xs, ys, color=_INK, label="this run")
        ax.scatter(xs, ys, s=[20 + 8 * b.runs for b in table], color=_INK, zorder=3)
        for b in table:
            ax.annotate(
                f"n={b.runs}", (b.mean_confidence, b.pass_rate), textcoords="offset points", xytext=(5, -10)
            )
    else:
        ax.text(0.5, 0.5, "no diagnosis by the model itself", ha="center", va="center", color=_BAD)
    brier = run.summary.brier
    ax.set_title(f"Calibration (Brier {brier:.3f})" if brier is not None else "Calibration")
    ax.set_xlabel("stated confidence")
    ax.set_ylabel("share of runs that passed")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(color=_GRID)
    ax.legend(loc="lower right", frameon=False)
    _save(plt, fig, path)


def _latency(plt: Any, run: RunResult, path: Path) -> None:
    seconds = [s.latency_ms / 1000 for s in run.scores]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.hist(seconds, bins=min(20, max(5, len(seconds) // 2)), color="#5d6d7e")
    m = run.summary
    for value, label in ((m.latency_p50_ms, "p50"), (m.latency_p95_ms, "p95")):
        ax.axvline(value / 1000, color=_BAD if label == "p95" else _INK, linestyle=":")
        ax.text(value / 1000, ax.get_ylim()[1] * 0.92, f" {label} {value / 1000:.2f} s", fontsize=8)
    ax.set_xlabel("seconds per investigation")
    ax.set_ylabel("runs")
    ax.set_title("Latency")
    _save(plt, fig, path)


def _trend(plt: Any, history: Sequence[RunResult], path: Path) -> None:
    import matplotlib.dates as mdates

    fig, ax = plt.subplots(figsize=(7, 3.6))
    models = sorted({r.model for r in history})
    for model in models:
        runs = [r for r in history if r.model == model]
        ax.plot(
            [datetime.fromisoformat(r.started_at.replace("Z", "+00:00")) for r in runs],
            [r.summary.pass_rate * 100 for r in runs],
            marker="o",
            label=model,
        )
    times = [datetime.fromisoformat(r.started_at.replace("Z", "+00:00")) for r in history]
    margin = max((max(times) - min(times)) / 20, timedelta(minutes=30))  # one run alone is still a range
    ax.set_xlim(min(times) - margin, max(times) + margin)
    locator = mdates.AutoDateLocator(maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_ylim(-4, 105)
    ax.set_ylabel("pass rate (%)")
    ax.set_title(f"Trend over {len(history)} run(s) in this directory")
    ax.grid(axis="y", color=_GRID)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(frameon=False, fontsize=8)
    _save(plt, fig, path)


def render_charts(run: RunResult, out_dir: Path, history: Sequence[RunResult] = ()) -> list[Figure]:
    """Write the four charts into ``out_dir``; ``history`` = earlier runs (oldest first), this one included."""
    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[Figure, Callable[[Path], None]]] = [
        (
            Figure(file="pass_by_family.png", title="Pass rate by family"),
            lambda p: _pass_by_family(plt, run, p),
        ),
        (
            Figure(file="calibration.png", title="Calibration: confidence vs correctness"),
            lambda p: _calibration(plt, run, p),
        ),
        (Figure(file="latency.png", title="Latency per investigation"), lambda p: _latency(plt, run, p)),
        (
            Figure(file="trend.png", title="Pass rate over earlier runs"),
            lambda p: _trend(plt, history or [run], p),
        ),
    ]
    for figure, draw in figures:
        draw(out_dir / figure.file)
    return [figure for figure, _ in figures]
