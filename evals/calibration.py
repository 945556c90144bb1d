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

from casefile.evals.charts import CalibrationBin, calibration_bins
from casefile.evals.scoring import CaseScore, brier

__all__ = ["CONFIDENT", "Reliability", "reliability", "render_reliability", "world_name"]

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
