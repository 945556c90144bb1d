"""Shared by the logs connector's modules: its limits, validated identifiers, parameters and
values as plain JSON, a query's result, and the SQL fragments of one mapped log table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from casefile.tools.errors import SourceUnavailable
from casefile.tools.settings import LogTableMap

__all__ = [
    "BASELINE_DAYS",
    "BUILTIN_MAX_RESULT_ROWS",
    "IDENT_RE",
    "LOOKBACK",
    "MAX_RECENT",
    "MAX_WINDOW",
    "OTHERS_PAIRS",
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
    "ident",
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
# How many of the account's top (status, code) pairs are compared with the other accounts.
OTHERS_PAIRS = 5
# The baseline logs_top_errors compares each error with: the days before the window.
BASELINE_DAYS = 7
# How many accounts' p95 ratios (anonymous, highest first) the platform latency view shows.
PLATFORM_RATIOS = 20
# How far back "last success" and "recent requests" look before the window.
LOOKBACK = timedelta(days=7)
MAX_WINDOW = timedelta(days=31)
# Built-in queries are small aggregates; this only catches a mistake in one of them.
BUILTIN_MAX_RESULT_ROWS = 10_000

# What an error-code column holds for a success in the schemas we have met: nothing, or a word for none.
_NO_ERROR = "('', '0', 'ok', 'none', 'null', 'success', '-')"

IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
TS_PARAM = "DateTime64(3, 'UTC')"


def ident(name: str) -> str:
    """A validated, quoted identifier (``db.table`` allowed) from settings."""
    if not IDENT_RE.match(name):
        raise SourceUnavailable(SOURCE, f"invalid identifier in logs settings: {name!r}")
    return ".".join(f"`{part}`" for part in name.split("."))


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

    def failed(self) -> str:
        """A request that failed: an HTTP status of 400 or more, or an error code set whatever its status
        (a batch endpoint answers 200 with the refused items' codes in its body)."""
        if self.error is None:
            return f"{self.status} >= 400"
        code = f"lower(ifNull(toString({self.error}), ''))"
        return f"({self.status} >= 400 OR {code} NOT IN {_NO_ERROR})"

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
