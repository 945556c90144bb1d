"""Shared by the logs connector's modules: its limits, validated identifiers, parameters and
values as plain JSON, a query's result, and the SQL fragments of one mapped log table."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from casefile.tools.errors import SourceUnavailable
from casefile.tools.settings import LogTableMap

__all__ = [
    "BASELINE_DAYS",
    "BUILTIN_MAX_RESULT_ROWS",
    "IDENT_RE",
    "LOOKBACK",
    "MAX_RECENT",
    "MAX_WINDOW",
    "PLATFORM_RATIOS",
    "PLATFORM_SAMPLE",
    "SOURCE",
    "SPIKE_BUCKETS_MINUTES",
    "SPIKE_CONFIRM_BUCKETS",
    "SPIKE_MIN_ERRORS",
    "TOP_N",
    "TS_PARAM",
    "Result",
    "Table",
    "as_iso",
    "as_utc",
    "from_ms",
    "ident",
    "ms_or_none",
    "param_ts",
    "plain",
    "rate_of",
]

SOURCE = "logs"
TOP_N = 10
MAX_RECENT = 200
SPIKE_MIN_ERRORS = 5
# Spikes are looked for at 5-minute resolution first; sparse endpoints need coarser buckets.
SPIKE_BUCKETS_MINUTES = (5, 15, 60)
# How many following buckets decide whether a jump "stays elevated".
SPIKE_CONFIRM_BUCKETS = 6
# How many other accounts the webhook "platform" failure rate is measured over.
PLATFORM_SAMPLE = 50
# The baseline logs_top_errors compares each error with: the days before the window.
BASELINE_DAYS = 7
# How many accounts' p95 ratios (anonymous, highest first) the platform latency view shows.
PLATFORM_RATIOS = 20
# How far back "last success" and "recent requests" look before the window.
LOOKBACK = timedelta(days=7)
MAX_WINDOW = timedelta(days=31)
# Built-in queries are small aggregates; this only catches a mistake in one of them.
BUILTIN_MAX_RESULT_ROWS = 10_000

IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
TS_PARAM = "DateTime64(3, 'UTC')"


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ident(name: str) -> str:
    """A validated, quoted identifier (``db.table`` allowed) from settings."""
    if not IDENT_RE.match(name):
        raise SourceUnavailable(SOURCE, f"invalid identifier in logs settings: {name!r}")
    return ".".join(f"`{part}`" for part in name.split("."))


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


def rate_of(part: int | float, whole: int | float) -> float:
    return round(part / whole, 4) if whole else 0.0


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


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def one(self) -> dict[str, Any]:
        return self.dicts()[0] if self.rows else dict.fromkeys(self.columns)


class Table:
    """SQL fragments for one mapped log table, built from its logical fields."""

    def __init__(self, mapping: LogTableMap, database: str) -> None:
        self.mapping = mapping
        self.name = ident(mapping.table if "." in mapping.table else f"{database}.{mapping.table}")
        self.time = ident(mapping.time)
        self.account = ident(mapping.account)
        self.status = ident(mapping.status) if mapping.status else None
        self.path = ident(mapping.path) if mapping.path else None
        self.latency = ident(mapping.latency) if mapping.latency else None
        self.error = ident(mapping.error) if mapping.error else None
        # Milliseconds since the epoch: unambiguous whatever the column's type and timezone.
        self.ts_ms = f"toUnixTimestamp64Milli(toDateTime64({self.time}, 3, 'UTC'))"

    def require(self, *fields: str) -> None:
        missing = [f for f in fields if getattr(self.mapping, f) is None]
        if missing:
            raise SourceUnavailable(
                SOURCE, f"logs settings do not map {', '.join(missing)} for table {self.mapping.table}"
            )

    def account_range(self) -> str:
        """The sort-key filter every built-in query starts with."""
        return (
            f"{self.account} = {{account:String}} AND {self.time} >= {{t0:{TS_PARAM}}} "
            f"AND {self.time} < {{t1:{TS_PARAM}}}"
        )

    def time_range(self) -> str:
        return f"{self.time} >= {{t0:{TS_PARAM}}} AND {self.time} < {{t1:{TS_PARAM}}}"
