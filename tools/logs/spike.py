"""Spike detection: where an error rate jumps and stays up, in time buckets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from casefile.tools.logs.common import SPIKE_CONFIRM_BUCKETS, SPIKE_MIN_ERRORS
from casefile.tools.logs.values import ratio

__all__ = ["Bucket", "Spike", "coarsen", "detect_spike", "earliest", "hot_endpoint"]


class Bucket(NamedTuple):
    # A tuple, not a dataclass: thousands are built per investigation.
    start: datetime
    requests: int
    errors: int

    @property
    def rate(self) -> float:
        return ratio(self.errors, self.requests)


@dataclass(frozen=True)
class Spike:
    start: datetime
    bucket_minutes: int
    before_rate: float
    after_rate: float
    peak_rate: float
    errors_since: int
    confirmed: datetime | None = None  # the bucket that confirmed it (``start`` may be walked back from it)

    def as_confirmed(self) -> Spike:
        """Dated by the bucket that confirmed it: a coarse bucket's walk-back can reach a stray error."""
        return replace(self, start=self.confirmed or self.start)

    def earlier_than(self, other: Spike) -> bool:
        """Found failing more than one of its buckets before ``other`` began, counting from the
        bucket that confirmed it (an onset walked back to a stray error does not count)."""
        return (self.confirmed or self.start) + timedelta(minutes=self.bucket_minutes) < other.start


def detect_spike(
    buckets: Sequence[Bucket],
    baseline_rate: float,
    bucket_minutes: int,
    *,
    min_errors: int = SPIKE_MIN_ERRORS,
    confirm: int = SPIKE_CONFIRM_BUCKETS,
) -> Spike | None:
    """Find where the error rate jumps and stays up.

    ``buckets`` are the non-empty buckets of the window in time order. A bucket
    opens a spike when its rate exceeds ``max(3 × baseline, baseline + 5
    points)`` with at least ``min_errors`` errors, and most of the next
    ``confirm`` buckets are above that threshold too (a lone bad bucket is
    noise, not an incident).
    """
    threshold = max(3 * baseline_rate, baseline_rate + 0.05)
    for index, bucket in enumerate(buckets):
        if bucket.errors < min_errors or bucket.rate <= threshold:
            continue
        following = buckets[index + 1 : index + 1 + confirm]
        elevated = sum(1 for b in following if b.rate > threshold)
        if following and elevated * 2 <= len(following):
            continue
        confirmed = buckets[index].start
        index = _onset(buckets, index, threshold, confirm)
        before = buckets[:index]
        after = buckets[index:]
        before_requests = sum(b.requests for b in before)
        after_requests = sum(b.requests for b in after)
        after_errors = sum(b.errors for b in after)
        return Spike(
            start=buckets[index].start,
            bucket_minutes=bucket_minutes,
            before_rate=(sum(b.errors for b in before) / before_requests)
            if before_requests
            else baseline_rate,
            after_rate=ratio(after_errors, after_requests),
            peak_rate=max(b.rate for b in after),
            errors_since=after_errors,
            confirmed=confirmed,
        )
    return None


def earliest(found: Sequence[Spike | None]) -> Spike | None:
    """Of the spikes found at each bucket size (finest first), the finest, unless a coarser one
    shows the failures began well before it: on thin traffic a fine bucket holds enough errors to
    confirm a spike only once the volume grows (the morning after a night)."""
    best: Spike | None = None
    for spike in found:
        if spike is not None and best is None:
            best = spike
        elif spike is not None and best is not None and spike.earlier_than(best):
            best = spike.as_confirmed()
    return best


def _onset(buckets: Sequence[Bucket], index: int, threshold: float, lookback: int) -> int:
    """Walk back from a confirmed spike bucket to where it really began.

    On thin traffic the first buckets of an incident hold too few errors to
    confirm it on their own. An earlier bucket is the onset when its own rate is
    above the threshold and so is the pooled rate from it up to the confirmed
    bucket (an isolated error long before does not qualify).
    """
    onset = index
    for j in range(index - 1, max(-1, index - lookback - 1), -1):
        if not buckets[j].errors:
            break  # an incident's lead-in has errors in every bucket
        lead_in = buckets[j:index]  # the buckets before confirmation, without it
        requests = sum(b.requests for b in lead_in)
        if buckets[j].rate > threshold and requests and sum(b.errors for b in lead_in) / requests > threshold:
            onset = j
    return onset


def hot_endpoint(rows: Sequence[tuple[Any, int, int, int, int]]) -> tuple[str, float] | None:
    """The endpoint whose window errors most exceed its own baseline rate, with that rate.

    Rows are (path, window requests, baseline requests, window errors, baseline errors). A
    loose filter: the caller confirms a spike bucket by bucket before reporting one.
    """
    best: tuple[float, str, float] | None = None
    for path, w_n, b_n, w_errors, b_errors in rows:
        if not w_n or not path:
            continue
        rate = ratio(b_errors, b_n)
        excess = w_errors - rate * w_n
        if excess >= SPIKE_MIN_ERRORS and w_errors / w_n > 1.5 * rate and (best is None or excess > best[0]):
            best = (excess, str(path), rate)
    return (best[1], best[2]) if best else None


def coarsen(fine: Sequence[tuple[int, int, int]], size_ms: int) -> list[Bucket]:
    """Merge ``(start_ms, requests, errors)`` buckets into buckets of ``size_ms``."""
    merged: dict[int, list[int]] = {}
    for start, requests, errors in fine:
        slot = merged.setdefault(start - start % size_ms, [0, 0])
        slot[0] += requests
        slot[1] += errors
    at = datetime.fromtimestamp
    return [Bucket(at(k / 1000, UTC), n, e) for k, (n, e) in sorted(merged.items())]
