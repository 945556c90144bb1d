"""``casefile eval calibration``: reliability by confidence bin and Brier, per world and for the held-out ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from casefile.agent.calibration import ABSENCE_CAP, ABSENCE_RULE
from casefile.agent.cli import main
from casefile.evals.calibration import (
    limit_checks,
    reliability,
    render_limits,
    render_reliability,
    world_name,
)
from casefile.evals.runner import RunResult
from casefile.evals.scoring import CaseScore, summarise


def _score(case: str, world: str, confidence: float, passed: bool, action: str = "resolve") -> CaseScore:
    return CaseScore(
        case_id=case,
        world=world,
        confidence=confidence,
        passed=passed,
        action=action,
        requested_model="offline",
        diagnosed_by="offline",
    )


SCORES = [
    _score("a1", "evals/worlds/ardent", 0.9, True),
    _score("a2", "evals/worlds/ardent", 0.85, True),
    _score("a3", "evals/worlds/ardent", 0.3, False, "escalate"),
    _score("b1", "evals/worlds/brisk", 0.8, False),  # confidently wrong, resolved
    _score("b2", "evals/worlds/brisk", 0.75, False, "escalate"),  # confidently wrong, escalated
    _score("b3", "evals/worlds/brisk", 0.55, True, "escalate"),
    # A stand-in's confidence is not the model's: left out, as from the Brier score.
    CaseScore(case_id="b4", world="evals/worlds/brisk", confidence=0.9, passed=False, diagnosed_by="other"),
]


def test_world_names_as_people_say_them() -> None:
    assert world_name("evals/worlds/ardent") == "ardent"
    assert world_name("examples/world") == "examples/world"
    assert world_name(None) == "(unknown)"


def test_groups_per_world_held_out_and_tuned() -> None:
    groups = {g.group: g for g in reliability(SCORES, held_out=["brisk"])}
    assert list(groups) == ["ardent", "brisk", "held out", "tuned", "all"]
    brisk = groups["brisk"]
    assert (brisk.runs, brisk.passed, brisk.confidently_wrong, brisk.wrong_resolved) == (3, 1, 2, 1)
    # (0.8² + 0.75² + 0.45²) / 3
    assert brisk.brier == pytest.approx((0.64 + 0.5625 + 0.2025) / 3, abs=1e-4)
    assert groups["held out"].brier == brisk.brier
    assert groups["tuned"].runs == 3 and groups["tuned"].confidently_wrong == 0
    assert groups["all"].runs == 6
    bins = {round(b.low, 1): b for b in groups["all"].bins}
    assert bins[0.8].runs == 2 and bins[0.8].pass_rate == 0.5  # 0.85 right, 0.8 wrong
    assert bins[0.3].pass_rate == 0.0 and bins[0.9].pass_rate == 1.0
    text = render_reliability(list(groups.values()))
    assert "held out: confidence" in text and "brisk" in text


def test_without_held_out_worlds_only_worlds_and_all() -> None:
    assert [g.group for g in reliability(SCORES)] == ["ardent", "brisk", "all"]


def test_the_command_reads_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results.json"
    run = RunResult(run_id="r", model="offline", started_at="2026-01-01T00:00:00Z", scores=SCORES)
    run.summary = summarise(SCORES)
    results.write_text(run.model_dump_json(), encoding="utf-8")
    assert main(["eval", "calibration", str(results), "--held-out", "brisk"]) == 0
    out = capsys.readouterr().out
    assert "held out" in out and "0.8–0.9" in out
    # A world the run does not have is a clear error, not an empty figure.
    assert main(["eval", "calibration", str(results), "--held-out", "nowhere"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_a_limit_is_checked_leave_one_world_out() -> None:
    capped = [
        _score("a4", "evals/worlds/ardent", ABSENCE_CAP, False, "escalate"),
        _score("a5", "evals/worlds/ardent", ABSENCE_CAP, True, "escalate"),
        _score("b5", "evals/worlds/brisk", ABSENCE_CAP, False, "escalate"),
    ]
    for s in capped:
        s.limits = [ABSENCE_RULE]
    (check,) = limit_checks([*SCORES, *capped])
    assert (check.runs, check.passed, check.worlds) == (3, 1, {"ardent": 2, "brisk": 1})
    # ardent judged by brisk's one failure: (0 + 1) / (1 + 2); brisk by ardent's 1 of 2: (1 + 1) / (2 + 2).
    assert check.estimates == {"ardent": 0.333, "brisk": 0.5}
    assert check.brier_at_cap == round(((ABSENCE_CAP**2) * 2 + (1 - ABSENCE_CAP) ** 2) / 3, 4)
    assert check.brier_left_out == round((0.333**2 + (1 - 0.333) ** 2 + 0.5**2) / 3, 4)
    assert "ardent 2 → 0.33" in render_limits([check])
    assert limit_checks(SCORES) == []
