"""``casefile eval calibration``: how sure each diagnosis said it was, against how often it was right.

A confidence is the probability that the diagnosis is right (the case passes). This reads a run's
``results.json`` and shows, per world, for the held-out worlds together, the tuned ones together and
all: the Brier score, a reliability table by confidence bin (runs, mean confidence, share passed),
and the runs that were *confidently wrong* (failed at a confidence of at least 0.7, where routing
resolves most categories or names a team) and the wrong ones that were resolved (sent to the
customer as an answer) rather than escalated. Held-out worlds are named by the caller: which worlds
nobody tuned on is a fact of the session, not of the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

from pydantic import BaseModel, Field

from casefile.agent.calibration import CAPS
from casefile.evals.charts import CalibrationBin, calibration_bins
from casefile.evals.scoring import CaseScore, brier

__all__ = [
    "CONFIDENT",
    "LimitCheck",
    "Reliability",
    "limit_checks",
    "reliability",
    "render_limits",
    "render_reliability",
    "world_name",
]

CONFIDENT = 0.7  # at or above it most categories resolve and routing trusts the diagnosis' team
_BINS = 10


class Reliability(BaseModel):
    """The calibration of one group of runs (a world, the held-out worlds, …)."""

    group: str
    runs: int
    passed: int
    mean_confidence: float
    brier: float | None
    confidently_wrong: int = Field(description=f"failed at a confidence of at least {CONFIDENT}")
    wrong_resolved: int = Field(
        description="failed, and resolved (answered the customer) rather than escalated"
    )
    bins: list[CalibrationBin]


def _rated(scores: Iterable[CaseScore]) -> list[CaseScore]:
    # As the Brier score: the model's own confidences (not a stand-in's, not a crashed run's).
    return [s for s in scores if s.confidence is not None and s.error is None and not s.stood_in]


def _group(name: str, scores: Sequence[CaseScore]) -> Reliability:
    rated = _rated(scores)
    wrong = [s for s in rated if not s.passed]
    return Reliability(
        group=name,
        runs=len(rated),
        passed=len(rated) - len(wrong),
        mean_confidence=round(sum(s.confidence or 0.0 for s in rated) / len(rated), 3) if rated else 0.0,
        brier=brier(rated),
        confidently_wrong=sum(1 for s in wrong if (s.confidence or 0.0) >= CONFIDENT),
        wrong_resolved=sum(1 for s in wrong if s.action == "resolve"),
        bins=calibration_bins(rated, bins=_BINS),
    )


def world_name(label: str | None) -> str:
    """A run's world label as people say it: ``evals/worlds/kestrel`` is ``kestrel``; others as labelled."""
    if not label:
        return "(unknown)"
    path = PurePosixPath(label)
    return path.name if path.parent == PurePosixPath("evals/worlds") else label


def reliability(scores: Sequence[CaseScore], held_out: Iterable[str] = ()) -> list[Reliability]:
    """Each world, then the held-out worlds together, the others ("tuned"), and all runs."""
    hidden = set(held_out)
    worlds: dict[str, list[CaseScore]] = {}
    for s in scores:
        worlds.setdefault(world_name(s.world), []).append(s)
    groups = [_group(w, runs) for w, runs in sorted(worlds.items())]
    if hidden:
        groups.append(_group("held out", [s for w, runs in worlds.items() if w in hidden for s in runs]))
        groups.append(_group("tuned", [s for w, runs in worlds.items() if w not in hidden for s in runs]))
    groups.append(_group("all", scores))
    return [g for g in groups if g.runs]


def _bins(r: Reliability) -> list[str]:
    return [
        f"    {b.low:.1f}–{b.high:.1f}  {b.runs:>4}  {b.mean_confidence:>9.2f}  {b.pass_rate:>7.0%}"
        for b in r.bins
    ]


def render_reliability(groups: Sequence[Reliability], *, detail: Iterable[str] = ("held out", "all")) -> str:
    """The per-group table, then the reliability bins of the groups named in ``detail``."""
    lines = [
        f"{'group':<14} {'runs':>5} {'passed':>7} {'mean conf':>10} {'Brier':>7} {'conf≥0.7 wrong':>15} {'wrong resolved':>15}"
    ]
    for g in groups:
        lines.append(
            f"{g.group:<14} {g.runs:>5} {g.passed:>7} {g.mean_confidence:>10.2f} "
            f"{'–' if g.brier is None else f'{g.brier:.3f}':>7} {g.confidently_wrong:>15} {g.wrong_resolved:>15}"
        )
    wanted = set(detail)
    for g in groups:
        if g.group in wanted:
            lines += ["", f"{g.group}: confidence   runs  mean conf  passed", *_bins(g)]
    return "\n".join(lines)


class LimitCheck(BaseModel):
    """One calibration limit (``agent/calibration.py``) checked leave-one-world-out.

    For each world where the limit fired, the confidence it should have said is estimated from the
    *other* worlds alone: the share of their capped runs that passed, with one pass and one failure
    added (Laplace), so a cap is not judged by the world it was fitted on. The Brier score of the
    capped runs at that estimate is set beside their Brier score at the fixed cap.
    """

    limit: str
    cap: float
    runs: int
    passed: int
    worlds: dict[str, int] = Field(description="world → capped runs")
    estimates: dict[str, float] = Field(description="world → the confidence the other worlds' runs give")
    brier_at_cap: float | None
    brier_left_out: float | None


def _brier(pairs: list[tuple[float, bool]]) -> float | None:
    return round(sum((c - float(ok)) ** 2 for c, ok in pairs) / len(pairs), 4) if pairs else None


def limit_checks(scores: Sequence[CaseScore]) -> list[LimitCheck]:
    """Every limit that fired in the run, checked leave-one-world-out."""
    rated = _rated(scores)
    checks = []
    for name, cap in CAPS.items():
        hit = [s for s in rated if name in s.limits]
        if not hit:
            continue
        worlds: dict[str, list[CaseScore]] = {}
        for s in hit:
            worlds.setdefault(world_name(s.world), []).append(s)
        estimates = {}
        for w in worlds:
            others = [s for s in hit if world_name(s.world) != w]
            estimates[w] = round((sum(s.passed for s in others) + 1) / (len(others) + 2), 3)
        checks.append(
            LimitCheck(
                limit=name,
                cap=cap,
                runs=len(hit),
                passed=sum(s.passed for s in hit),
                worlds={w: len(runs) for w, runs in sorted(worlds.items())},
                estimates=dict(sorted(estimates.items())),
                brier_at_cap=_brier([(s.confidence or 0.0, s.passed) for s in hit]),
                brier_left_out=_brier([(estimates[world_name(s.world)], s.passed) for s in hit]),
            )
        )
    return checks


def render_limits(checks: Sequence[LimitCheck]) -> str:
    """The limits that fired: where, how often right, and the leave-one-world-out estimates."""
    if not checks:
        return "no calibration limit lowered a confidence in this run"
    lines = ["limit (cap): runs, passed; per world: capped runs → confidence the other worlds give"]
    for c in checks:
        per = ", ".join(f"{w} {n} → {c.estimates[w]:.2f}" for w, n in c.worlds.items())
        lines.append(
            f"{c.limit} ({c.cap:.2f}): {c.runs} runs, {c.passed} passed; {per}; "
            f"Brier at the cap {c.brier_at_cap}, at the left-out estimates {c.brier_left_out}"
        )
    return "\n".join(lines)
