"""Grounding: every evidence item must be backed by what a tool actually returned.

An item passes when it names a call of this investigation that succeeded and
its ``value`` occurs in that call's result (its JSON, or the text the model
was shown). Matching ignores case and surrounding whitespace and accepts a
number written with fewer decimals than the result holds. The check runs on
every diagnosis, whatever model produced it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from casefile.agent.diagnosis import Diagnosis, Evidence, GroundingVerdict
from casefile.tools.base import ToolOutcome

__all__ = ["check_evidence", "ground"]

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _scalars(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    elif value is not None:
        yield str(value)


def _occurs(value: str, outcome: ToolOutcome) -> bool:
    needle = value.strip().lower()
    if not needle:
        return False
    haystack = (
        json.dumps(outcome.data, default=str, ensure_ascii=False).lower() + "\n" + outcome.rendered.lower()
    )
    if needle in haystack:
        return True
    if _NUMBER.match(needle):
        target = float(needle)
        decimals = len(needle.split(".")[1]) if "." in needle else 0
        for scalar in _scalars(outcome.data):
            if _NUMBER.match(scalar) and round(float(scalar), decimals) == target:
                return True
    return False


def check_evidence(item: Evidence, outcomes: dict[str, ToolOutcome]) -> str | None:
    """Why ``item`` is not grounded, or None when it is."""
    outcome = outcomes.get(item.call_id)
    if outcome is None:
        return f"evidence cites call {item.call_id!r}, which was never made in this investigation"
    if not outcome.ok:
        return f"evidence cites call {item.call_id} ({outcome.tool}), which failed: {outcome.error}"
    if not _occurs(item.value, outcome):
        return f"value {item.value!r} does not occur in the result of call {item.call_id} ({outcome.tool})"
    return None


def ground(diagnosis: Diagnosis, outcomes: Iterable[ToolOutcome]) -> tuple[Diagnosis, list[str]]:
    """Return the diagnosis keeping only grounded evidence, and why the others were rejected."""
    by_id = {o.call_id: o for o in outcomes}
    kept: list[Evidence] = []
    rejected: list[str] = []
    for item in diagnosis.evidence:
        problem = check_evidence(item, by_id)
        if problem:
            rejected.append(problem)
            continue
        if not item.tool:
            item = item.model_copy(update={"tool": by_id[item.call_id].tool})
        kept.append(item)
    verdict = GroundingVerdict(verified=len(kept), rejected=rejected)
    return diagnosis.model_copy(update={"evidence": kept, "grounding": verdict}), rejected
