"""What the investigation's tools found whatever its diagnosis says: the account's failing error codes.

A diagnosis can be wrong; the error codes the account's own requests were answered with are facts of
the run either way (``logs_top_errors``, ``logs_error_summary``). A resolved ticket that names the code
the account fails with is similar whoever is right about why. Not every code the logs show is the
account's failure: one answered to a few requests is chance, one the account was answered with as
often before the window is its background, and one every other account gets about as often (the
platform's everyday noise, or an incident all of them share) is not this account's own.
:attr:`ObservedCode.own` tells, from the rates the logs gave.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from casefile.tools.base import GarbledResult, ToolOutcome
from casefile.tools.logs_results import ErrorSummary, SharedError, TopError, TopErrors

__all__ = ["ObservedCode", "failing_codes", "observed_codes"]

# A code is the account's when its share of the account's requests is this many times its share before
# the window, and this many times the other accounts' share of theirs.
FACTOR = 3.0
# Fewer requests than this answered with a code is chance, not the account's failure.
MIN_COUNT = 5
MAX_FAILING = 3
# The account's failure is what dominates its own errors: a code a tenth as frequent is beside it.
SHARE = 0.1


class ObservedCode(BaseModel):
    """An error code the account's requests were answered with in the investigated window, and how
    often, beside how often before the window and how often the other accounts got it (shares of
    requests; None: the logs did not say)."""

    code: str
    count: int = Field(ge=0, description="requests answered with it in the window")
    rate: float | None = Field(default=None, ge=0.0, description="its share of the account's requests")
    before: float | None = Field(default=None, ge=0.0, description="that share before the window")
    others: float | None = Field(
        default=None, ge=0.0, description="its share of the other accounts' requests in the window"
    )
    others_before: float | None = Field(default=None, ge=0.0, description="that share before the window")

    @property
    def own(self) -> bool:
        """The account's own failure: answered often enough not to be chance, and (where the logs
        compare) far more often than before the window and than the other accounts."""
        if self.count < MIN_COUNT or self.rate is None:
            return False
        grew = self.before is None or self.rate >= FACTOR * self.before
        alone = self.others is None or self.rate >= FACTOR * self.others
        return grew and alone


def observed_codes(outcomes: Sequence[ToolOutcome]) -> list[ObservedCode]:
    """The error codes the account's logs returned in the run's tool outcomes, most frequent first; of a
    code two calls returned, the one with rates to compare (``logs_top_errors``'), else the larger."""
    found: dict[str, ObservedCode] = {}
    for outcome in outcomes:
        if not outcome.ok:
            continue
        for seen in _codes(outcome):
            old = found.get(seen.code)
            if old is None or (old.rate is not None, old.count) < (seen.rate is not None, seen.count):
                found[seen.code] = seen
    return sorted(found.values(), key=lambda c: (-c.count, c.code))


def failing_codes(observed: Sequence[ObservedCode], limit: int = MAX_FAILING) -> list[str]:
    """The codes a similar-case search carries: the account's own failures, most frequent first; one
    answered less than a :data:`SHARE` of the most frequent one's count is beside the failure, not it."""
    own = [c for c in observed if c.own]
    most = max((c.count for c in own), default=0)
    return [c.code for c in own if c.count >= SHARE * most][:limit]


def _codes(outcome: ToolOutcome) -> list[ObservedCode]:
    try:
        if outcome.tool == "logs_top_errors":
            return _compared(outcome.view(TopErrors))
        if outcome.tool == "logs_error_summary":
            summary = outcome.view(ErrorSummary)
            return [
                ObservedCode(code=c.error_code, count=c.count)
                for c in summary.top_error_codes
                if c.error_code
            ]
    except GarbledResult:
        return []
    return []


def _compared(top: TopErrors) -> list[ObservedCode]:
    """Each code of the account's top errors (its rows summed over statuses and paths) with its share of
    the account's requests now and before, and of the other accounts' requests."""
    now, before = _by_code(top.top)
    others, others_before = _by_code(top.others)
    return [
        ObservedCode(
            code=code,
            count=count,
            rate=_share(count, top.requests),
            before=_share(before[code], top.baseline_requests),
            others=_share(others[code], top.others_requests),
            others_before=_share(others_before[code], top.others_baseline_requests),
        )
        for code, count in now.items()
    ]


def _by_code(rows: Sequence[TopError | SharedError]) -> tuple[Counter[str], Counter[str]]:
    """Rows summed by error code: the counts in the window and before it (rows without a code left out)."""
    now: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for row in rows:
        if row.error_code:
            now[row.error_code] += row.count
            before[row.error_code] += row.before
    return now, before


def _share(count: int, requests: int) -> float | None:
    return round(count / requests, 6) if requests > 0 else None
