"""An error code's rate at this account against the same code's rate elsewhere and before.

A booking API answers a few 409 slot conflicts a day to every clinic; a carrier refuses some
labels for every shipper. Whether such a code is this account's problem is not read from its
status but from a baseline: the same code's rate at the other accounts in the same window, and
theirs in the days before (``logs_top_errors`` reports both as aggregates, under the tenancy
guard). Three readings:

* **usual** — the account gets it about as often as everyone else, and everyone got it as often
  before: the product's normal noise, nobody's fault;
* **platform** — everyone gets it now at about this account's rate, but they did not before: a
  change on our side (a bug, an incident), whatever the status says;
* **own** — the account gets it far more often than the others, or far more than it did itself
  while the others' rate stayed: its own requests.

``unknown`` when the other accounts' volume or the code's counts are not known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from casefile.agent.differential.model import Hypothesis, cite
from casefile.tools.logs_results import TopError, TopErrors

__all__ = ["Background", "background", "platform_change"]

Reading = Literal["usual", "platform", "own", "unknown"]

# The compared codes must hold at least this share of the rows' errors for a verdict.
COVERED = 0.8


def _noise(expected: float) -> float:
    """About three Poisson deviations above ``expected``, plus two: what chance alone gives."""
    return 3 * math.sqrt(expected) + 2


@dataclass(frozen=True)
class Background:
    reading: Reading
    rate: float = 0.0
    """The account's rate of these codes in the window."""
    others_rate: float = 0.0
    """The other accounts' rate of the same codes in the window."""
    others_before_rate: float | None = None
    """Theirs in the days before (None: their earlier volume is not known)."""

    def said(self) -> str:
        """The comparison in words, for the differential's observations."""
        before = (
            f", {self.others_before_rate:.2%} in the days before"
            if self.others_before_rate is not None
            else ""
        )
        return f"{self.rate:.2%} of this account's requests against {self.others_rate:.2%} at other accounts{before}"


def background(top: TopErrors, rows: list[TopError]) -> Background:
    """How ``rows``' (status, code) pairs compare with the same pairs at other accounts."""
    count = sum(r.count for r in rows)
    if not count or not top.requests or not top.others_requests:
        return Background("unknown")
    pairs = {(r.status, r.error_code) for r in rows}
    # ``others`` lists every pair that was compared (zeros for a code nobody else got); a pair
    # beyond them is not known either way.
    shared = [s for s in (top.shared(*p) for p in pairs) if s is not None]
    compared = {(s.status, s.error_code) for s in shared}
    known = sum(r.count for r in rows if (r.status, r.error_code) in compared)
    elsewhere = sum(s.count for s in shared)
    rate, others_rate = count / top.requests, elsewhere / top.others_requests
    before_rate = (
        sum(s.before for s in shared) / top.others_baseline_requests if top.others_baseline_requests else None
    )
    if known < COVERED * count:
        return Background("unknown", rate, others_rate, before_rate)
    expected = others_rate * top.requests
    if count > 2 * expected + _noise(expected) or sum(s.accounts for s in shared) < 2:
        return Background("own", rate, others_rate, before_rate)
    if before_rate is not None:
        # Their counts now against what their earlier rate predicts for their volume now.
        then = before_rate * top.others_requests
        if elsewhere > 3 * then + _noise(then):
            return Background("platform", rate, others_rate, before_rate)
    if top.baseline_requests:
        # The others get it as they always did; this account did not, until now (on one endpoint,
        # or one key, at least): its own news.
        ratio = top.requests / top.baseline_requests
        if any(r.count >= 5 and r.count > 2 * r.before * ratio + _noise(r.before * ratio) for r in rows):
            return Background("own", rate, others_rate, before_rate)
    return Background("usual", rate, others_rate, before_rate)


def platform_change(
    who: str, picture_rows: list[TopError], onset: str | None, reading: Background, call_id: str
) -> Hypothesis:
    """Every account began getting the account's client-side code at once: a change of ours (a bug, an
    incident), not this customer's requests, whatever the status says."""
    top = picture_rows[0]
    code = top.error_code or str(top.status)
    since = f" since {onset}" if onset else ""
    return Hypothesis(
        category="platform_incident",
        confidence=0.6,
        statement=(
            f"{who}'s requests fail with {top.status} {top.error_code}{since}".replace("  ", " ")
            + f", and every other account began getting the same error at the same time ({reading.said()}): "
            "a change on our side, not this customer's requests."
        ),
        summary=f"{top.status} {code} across accounts{since}: a change on our side.",
        component=top.path or "api",
        reasons=[
            "other accounts get the same status and code at about this account's rate",
            "they did not before: it is new everywhere at once",
        ],
        evidence=cite(
            call_id, "logs_top_errors", top.error_code or None, f"{top.count} requests failed with {code}"
        ),
        action="escalate",
        reply=(
            f"Thanks for reporting this. The {top.status} {code} answers you see{since} are not caused by your "
            "requests: other customers began getting them at the same time, so the cause is on our side. Our "
            "engineers have the details; we'll update you as soon as we know more."
        ),
        note=f"{top.status} {code} is new at every account at once ({reading.said()}).",
    )
