"""Values of the logs results as plain JSON: times as ISO 8601 UTC, query timestamps, rates and milliseconds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from casefile.tools.values import as_utc

__all__ = ["as_iso", "as_utc", "from_ms", "ms_or_none", "param_ts", "plain", "rate_of", "ratio"]


def as_iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def from_ms(value: Any) -> str | None:
    if value is None:
        return None
    return as_iso(datetime.fromtimestamp(int(value) / 1000, tz=UTC))


def param_ts(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def ratio(part: int | float, whole: int | float) -> float:
    """``part / whole``, and 0.0 for an empty whole (no requests: no error rate)."""
    return part / whole if whole else 0.0


def rate_of(part: int | float, whole: int | float) -> float:
    """:func:`ratio` as results report it, to four places."""
    return round(ratio(part, whole), 4)


def ms_or_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else round(number, 1)


def plain(value: Any) -> Any:
    """A value from a result row as plain JSON."""
    if isinstance(value, datetime):
        return as_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value
