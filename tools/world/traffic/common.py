"""What the traffic generators share: the error type, time in epoch milliseconds, and the
random draws (Poisson counts, lognormal latencies, weighted choices, the diurnal curve)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["EPOCH", "HOUR_MS", "Z95", "Columns", "TrafficError", "ms", "to_datetimes", "window"]


Columns = dict[str, list[Any]]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR_MS = 3_600_000
Z95 = 1.6448536269514722  # standard normal quantile of 0.95: sigma = ln(p95/p50) / z95


class TrafficError(ValueError):
    """The traffic description is malformed; the message names the offending entry."""


def ms(value: Any, what: str) -> int:
    """ISO 8601 string → epoch milliseconds (exact integers, so no float drift per row)."""
    if not isinstance(value, str):
        raise TrafficError(f"{what}: expected an ISO 8601 timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TrafficError(f"{what}: not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - EPOCH) // timedelta(milliseconds=1)


def to_datetimes(values: list[int]) -> list[datetime]:
    # v / 1000 is within a fraction of a microsecond of the exact instant and fromtimestamp
    # rounds to the microsecond, so the result is exact; it is 2-3x faster than epoch + timedelta.
    stamp = datetime.fromtimestamp
    return [stamp(v / 1000, UTC) for v in values]


def window(anomaly: Mapping[str, Any], what: str) -> tuple[int, int]:
    lo, hi = ms(anomaly.get("start"), f"{what}.start"), ms(anomaly.get("end"), f"{what}.end")
    if hi <= lo:
        raise TrafficError(f"{what}: end must be after start")
    return lo, hi
