"""The random draws the traffic generators make, all from one seeded random.Random: Poisson counts,\nlognormal latencies, weighted choices, the diurnal curve, normal quantiles."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from statistics import NormalDist
from typing import Any
from zoneinfo import ZoneInfo

from casefile.tools.world.traffic.common import EPOCH, HOUR_MS, Z95, TrafficError

__all__ = [
    "account_curve",
    "diurnal_curve",
    "gauss",
    "lognormal",
    "offsets",
    "poisson",
    "weighted",
    "z_table",
]


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:  # normal approximation is plenty for log volumes
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def lognormal(spec: Mapping[str, Any] | None, default: tuple[float, float]) -> tuple[float, float]:
    """(mu, sigma) of a lognormal whose median is p50 and 95th percentile is p95."""
    p50 = float((spec or {}).get("p50_ms", default[0]))
    p95 = float((spec or {}).get("p95_ms", default[1]))
    if p50 <= 0 or p95 < p50:
        raise TrafficError(f"latency needs 0 < p50_ms <= p95_ms, got {spec!r}")
    return math.log(p50), math.log(p95 / p50) / Z95


def weighted(spec: Any, what: str) -> tuple[list[str], list[float]]:
    """A list of names, or {name: weight}, → (names, cumulative weights)."""
    if isinstance(spec, str):
        spec = [spec]
    items = list(spec.items()) if isinstance(spec, Mapping) else [(name, 1.0) for name in spec or []]
    if not items:
        raise TrafficError(f"{what}: needs at least one entry")
    names, cum, total = [], [], 0.0
    for name, weight in items:
        total += float(weight)
        names.append(str(name))
        cum.append(total)
    return names, cum


def account_curve(
    spec: Mapping[str, Any], start: int, end: int, trough: float, weekend: float
) -> list[tuple[int, float]]:
    """An account's diurnal curve from its description (timezone, peak_hour, trough, weekend_factor),
    with the section's defaults for trough and weekend."""
    return diurnal_curve(
        start,
        end,
        str(spec.get("timezone", "UTC")),
        float(spec.get("peak_hour", 14)),
        float(spec.get("trough", trough)),
        float(spec.get("weekend_factor", weekend)),
    )


def diurnal_curve(
    start: int, end: int, tz: str, peak_hour: float, trough: float, weekend: float
) -> list[tuple[int, float]]:
    """(hour start in epoch ms, volume factor in 0..1) for every UTC hour of the range."""
    zone = ZoneInfo(tz)
    out = []
    hour = start - start % HOUR_MS
    while hour < end:
        local = (EPOCH + timedelta(milliseconds=hour + HOUR_MS // 2)).astimezone(zone)
        h = local.hour + local.minute / 60
        shape = ((1 + math.cos(2 * math.pi * (h - peak_hour) / 24)) / 2) ** 2
        factor = trough + (1 - trough) * shape
        if local.weekday() >= 5:
            factor *= weekend
        # clip the first/last partial hour to the range
        covered = (min(end, hour + HOUR_MS) - max(start, hour)) / HOUR_MS
        out.append((hour, factor * covered))
        hour += HOUR_MS
    return out


def offsets(rng: random.Random, n: int, lo: int, hi: int) -> list[int]:
    """n sorted uniform epoch-ms instants in [lo, hi)."""
    span = hi - lo
    rand = rng.random
    return sorted([lo + int(rand() * span) for _ in range(n)])


@cache
def z_table() -> tuple[float, ...]:
    """Standard normal quantiles at the midpoints of 1024 equal-probability steps."""
    normal = NormalDist()
    return tuple(normal.inv_cdf((k + 0.5) / 1024) for k in range(1024))


def gauss(rand: Any) -> float:
    """A standard normal draw from one uniform via the quantile table (no rejection loop)."""
    return z_table()[int(rand() * 1024)]
