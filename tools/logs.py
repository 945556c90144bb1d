"""The ``logs`` connector: request, webhook and SSO logs in ClickHouse.

Every built-in operation is an aggregate over one account's time range, built
from the logical fields of :class:`~casefile.tools.settings.LogTableMap` (so a customer
whose columns are named differently only changes configuration) and filtered on
the ``(account_id, ts)`` sort key, so a query reads one account's slice of the
table however large it grows. ``logs_sql`` lets a model ask anything else,
through :func:`casefile.tools.sqlguard.guard_sql`.

Read-only in depth:

1. model SQL passes the guard (one SELECT, allow-listed tables, no table
   functions, no SETTINGS, forced LIMIT);
2. only SELECT-like text ever reaches the client: clickhouse-connect routes
   other statements through a path that, on chdb, would leave the session stuck
   in ``readonly`` mode (see ``tools/world/chdb.py``);
3. every query, built-in ones included, runs with ``readonly=1`` (which blocks
   writes and the ``file()``/``url()`` table functions), ``max_execution_time``
   and ``max_result_rows`` with ``result_overflow_mode='throw'``. ``readonly``
   comes last: once it is applied no other setting may change.

Values are always bound as query parameters (``{name:Type}``); identifiers come
only from settings and are validated.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple
from urllib.parse import quote
from uuid import UUID

import clickhouse_connect
from clickhouse_connect.driver.exceptions import OperationalError
from pydantic import Field, field_validator, model_validator

from casefile.tools.base import (
    AccountId,
    CallContext,
    Connector,
    LinkContext,
    OptionalAccountId,
    SourceLink,
    StandIns,
    ToolArgs,
    ToolOutcome,
    operation,
)
from casefile.tools.errors import (
    ReadOnlyViolation,
    ScopeViolation,
    SourceAuthError,
    SourceTimeout,
    SourceTooLarge,
    SourceUnavailable,
    ToolArgumentError,
    ToolError,
)
from casefile.tools.settings import ConnectorSettings, LogsSettings, LogTableMap
from casefile.tools.sqlguard import SqlScope, guard_sql, scope_filter
from casefile.tools.sqlprovenance import sql_evidence
from casefile.tools.sso_responses import RESPONSE_FIELDS, response_changes

__all__ = [
    "ClickHouseConnector",
    "ErrorSummaryArgs",
    "LatencyArgs",
    "RecentRequestsArgs",
    "SchemaArgs",
    "SqlArgs",
    "TopErrorsArgs",
    "WindowArgs",
    "detect_spike",
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

_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_TS_PARAM = "DateTime64(3, 'UTC')"

# ClickHouse error codes, by what they mean for the caller.
_TIMEOUT_CODES = {159, 160, 209, 394}
_AUTH_CODES = {192, 193, 194, 516, 497}
_READONLY_CODES = {164}
_TOO_LARGE_CODES = {158, 241, 396, 307}
_ARGUMENT_CODES = {6, 27, 36, 38, 41, 42, 43, 44, 46, 47, 48, 49, 53, 60, 62, 69, 70, 81, 179, 184, 215, 352}
_CODE_RE = re.compile(r"\bCode:\s*(\d+)")


# ---------------------------------------------------------------- arguments


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class WindowArgs(ToolArgs):
    account_id: AccountId = Field(description="Account id from the account directory, e.g. 'acct_42'.")
    start: datetime = Field(description="Window start, ISO 8601 UTC, e.g. 2026-11-20T00:00:00Z.")
    end: datetime = Field(description="Window end (exclusive), ISO 8601 UTC.")

    @field_validator("start", "end")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @model_validator(mode="after")
    def _ordered(self) -> WindowArgs:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_WINDOW:
            raise ValueError("the window may span at most 31 days")
        return self


class ErrorSummaryArgs(WindowArgs):
    status: int | None = Field(
        default=None, ge=100, le=599, description="Count only this HTTP status as an error (e.g. 429)."
    )
    path: str | None = Field(default=None, description="Only this route template, e.g. /v1/invoices.")
    baseline_days: int = Field(default=7, ge=0, le=30, description="Days before start used as the baseline.")


class LatencyArgs(ToolArgs):
    account_id: OptionalAccountId = Field(
        default=None, description="One account, or null for the whole platform."
    )
    start: datetime
    end: datetime
    path: str | None = Field(default=None, description="Only this route template.")
    baseline_days: int = Field(default=7, ge=0, le=30)

    @field_validator("start", "end")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @model_validator(mode="after")
    def _ordered(self) -> LatencyArgs:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_WINDOW:
            raise ValueError("the window may span at most 31 days")
        return self


class RecentRequestsArgs(ToolArgs):
    account_id: AccountId
    limit: int = Field(
        default=50, ge=1, le=MAX_RECENT, description="How many requests, newest first (≤ 200)."
    )
    status: int | None = Field(default=None, ge=100, le=599, description="Only this HTTP status.")
    path: str | None = Field(default=None, description="Only this route template.")
    before: datetime | None = Field(
        default=None, description="Requests before this time; default: ticket time."
    )

    @field_validator("before")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)


class TopErrorsArgs(WindowArgs):
    path: str | None = Field(default=None, description="Only this route template.")
    statuses: list[int] = Field(
        default_factory=list,
        max_length=10,
        description="Statuses the customer reports (e.g. [503]): their rows come first whatever their count.",
    )


class SqlArgs(ToolArgs):
    sql: str = Field(
        description="One ClickHouse SELECT over the allowed tables (see logs_schema). Always filter "
        "account_id and a ts range; results are capped."
    )


class SchemaArgs(ToolArgs):
    pass


# ---------------------------------------------------------------- spike detection


class Bucket(NamedTuple):
    # A tuple, not a dataclass: thousands are built per investigation.
    start: datetime
    requests: int
    errors: int

    @property
    def rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Spike:
    start: datetime
    bucket_minutes: int
    before_rate: float
    after_rate: float
    peak_rate: float
    errors_since: int


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
            after_rate=after_errors / after_requests if after_requests else 0.0,
            peak_rate=max(b.rate for b in after),
            errors_since=after_errors,
        )
    return None


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


def _hot_endpoint(rows: Sequence[tuple[Any, int, int, int, int]]) -> tuple[str, float] | None:
    """The endpoint whose window errors most exceed its own baseline rate, with that rate.

    Rows are (path, window requests, baseline requests, window errors, baseline errors). A
    loose filter: the caller confirms a spike bucket by bucket before reporting one.
    """
    best: tuple[float, str, float] | None = None
    for path, w_n, b_n, w_errors, b_errors in rows:
        if not w_n or not path:
            continue
        rate = b_errors / b_n if b_n else 0.0
        excess = w_errors - rate * w_n
        if excess >= SPIKE_MIN_ERRORS and w_errors / w_n > 1.5 * rate and (best is None or excess > best[0]):
            best = (excess, str(path), rate)
    return (best[1], best[2]) if best else None


def _coarsen(fine: Sequence[tuple[int, int, int]], size_ms: int) -> list[Bucket]:
    """Merge ``(start_ms, requests, errors)`` buckets into buckets of ``size_ms``."""
    merged: dict[int, list[int]] = {}
    for start, requests, errors in fine:
        slot = merged.setdefault(start - start % size_ms, [0, 0])
        slot[0] += requests
        slot[1] += errors
    at = datetime.fromtimestamp
    return [Bucket(at(k / 1000, UTC), n, e) for k, (n, e) in sorted(merged.items())]


# ---------------------------------------------------------------- helpers


def _ident(name: str) -> str:
    """A validated, quoted identifier (``db.table`` allowed) from settings."""
    if not _IDENT_RE.match(name):
        raise SourceUnavailable(SOURCE, f"invalid identifier in logs settings: {name!r}")
    return ".".join(f"`{part}`" for part in name.split("."))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def _from_ms(value: Any) -> str | None:
    if value is None:
        return None
    return _iso(datetime.fromtimestamp(int(value) / 1000, tz=UTC))


def _param_ts(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _rate(part: int | float, whole: int | float) -> float:
    return round(part / whole, 4) if whole else 0.0


def _ms(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else round(number, 1)


def _plain(value: Any) -> Any:
    """A value from a result row as plain JSON."""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _error_code(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    match = _CODE_RE.search(str(exc))
    return int(match.group(1)) if match else None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # "Code: 47. DB::Exception: Unknown expression identifier `x` ..." → the useful part.
    text = re.sub(r"^(Code: \d+\. )?(DB::Exception: )+", "", text)
    text = re.sub(r"\(version [^)]*\)", "", text)
    # Our own SETTINGS clause and FORMAT are noise to whoever reads the message.
    text = re.sub(r"\s*SETTINGS [a-z_]+ = .*?readonly = '1'", "", text)
    text = re.sub(r"\s*FORMAT Native", "", text)
    return text[:400].strip()


def translate_error(exc: BaseException) -> ToolError:
    """Map a clickhouse-connect / chdb error to the casefile error tree."""
    if isinstance(exc, ToolError):
        return exc
    code = _error_code(exc)
    message = _short(exc)
    lowered = message.lower()
    if code in _TIMEOUT_CODES or "timeout" in lowered or "timed out" in lowered:
        return SourceTimeout(SOURCE, f"query took too long: {message}")
    if code in _AUTH_CODES:
        return SourceAuthError(SOURCE, f"ClickHouse refused the credentials: {message}")
    if code in _READONLY_CODES:
        return ReadOnlyViolation(SOURCE, f"the database refused a write in read-only mode: {message}")
    if code in _TOO_LARGE_CODES:
        return SourceTooLarge(SOURCE, f"the query would return or read too much; narrow it: {message}")
    if code in _ARGUMENT_CODES:
        return ToolArgumentError(SOURCE, message)
    if isinstance(exc, OperationalError | ConnectionError | OSError) or code is None:
        return SourceUnavailable(SOURCE, f"ClickHouse unreachable: {message}")
    return SourceUnavailable(SOURCE, message)


def settable(client: Any, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` without those the server pins for this user (its profile's value governs).

    A user whose profile sets ``readonly=1`` cannot change a setting unless the profile
    marks it ``CHANGEABLE_IN_READONLY`` (docs/architecture.md); clickhouse-connect would
    refuse to send a pinned one. A profile that pins ``readonly`` to anything but 1 is
    not a read-only user, and nothing is run with it.
    """
    pinned = {
        name: definition
        for name, definition in (getattr(client, "server_settings", None) or {}).items()
        if getattr(definition, "readonly", 0)
    }
    readonly = pinned.get("readonly")
    if readonly is not None and str(getattr(readonly, "value", "")) != "1":
        raise SourceUnavailable(
            SOURCE,
            "the ClickHouse user's profile pins readonly to a value other than 1; use a read-only user",
        )
    return {name: value for name, value in settings.items() if name not in pinned}


@dataclass(frozen=True)
class _Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def one(self) -> dict[str, Any]:
        return self.dicts()[0] if self.rows else dict.fromkeys(self.columns)


class _Table:
    """SQL fragments for one mapped log table, built from its logical fields."""

    def __init__(self, mapping: LogTableMap, database: str) -> None:
        self.mapping = mapping
        self.name = _ident(mapping.table if "." in mapping.table else f"{database}.{mapping.table}")
        self.time = _ident(mapping.time)
        self.account = _ident(mapping.account)
        self.status = _ident(mapping.status) if mapping.status else None
        self.path = _ident(mapping.path) if mapping.path else None
        self.latency = _ident(mapping.latency) if mapping.latency else None
        self.error = _ident(mapping.error) if mapping.error else None
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
            f"{self.account} = {{account:String}} AND {self.time} >= {{t0:{_TS_PARAM}}} "
            f"AND {self.time} < {{t1:{_TS_PARAM}}}"
        )

    def time_range(self) -> str:
        return f"{self.time} >= {{t0:{_TS_PARAM}}} AND {self.time} < {{t1:{_TS_PARAM}}}"


# ---------------------------------------------------------------- renderers


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def render_error_summary(d: Mapping[str, Any]) -> str:
    b = d["baseline"]
    lines = [
        f"{d['account_id']} {d['window']['start']} → {d['window']['end']}: {d['requests']} requests, "
        f"{d['errors']} errors ({_pct(d['error_rate'])}); baseline {b['start']} → {b['start'] and b['end']}: "
        f"{b['requests']} requests, {b['errors']} errors ({_pct(b['error_rate'])})",
    ]
    spike = d.get("spike")
    if spike:
        lines.append(
            f"SPIKE{' on ' + spike['path'] if spike.get('path') else ''} from {spike['start']} "
            f"(first error {spike['first_error_at']}, mostly {spike['status']}, "
            f"{spike['bucket_minutes']}-min buckets): error rate {_pct(spike['before_rate'])} before → "
            f"{_pct(spike['after_rate'])} after (peak {_pct(spike['peak_rate'])}), "
            f"{spike['errors_since']} errors since"
        )
    else:
        lines.append("no error spike in the window")
    if d["by_status"]:
        lines.append("status | count | rate | baseline rate")
        lines += [
            f"{s['status']} | {s['count']} | {_pct(s['rate'])} | {_pct(s['baseline_rate'])}"
            for s in d["by_status"]
        ]
    if d["top_endpoints"]:
        lines.append("endpoint | requests | errors | error rate | baseline rate")
        lines += [
            f"{e['path']} | {e['requests']} | {e['errors']} | {_pct(e['error_rate'])} | "
            f"{_pct(e.get('baseline_error_rate'))}"
            for e in d["top_endpoints"]
        ]
    if d["top_error_codes"]:
        lines.append(
            "error codes: " + ", ".join(f"{c['error_code']} ({c['count']})" for c in d["top_error_codes"])
        )
    return "\n".join(lines)


def render_top_errors(d: Mapping[str, Any]) -> str:
    lines = [
        f"{d['account_id']} {d['window']['start']} → {d['window']['end']}: {d['errors']} errors of "
        f"{d['requests']} requests"
    ]
    if d["top"]:
        lines.append(
            "count (7 days before) | share | status | error code | endpoint | API key | first → last | message"
        )
        lines += [
            f"{e['count']} (before: {e['before']}) | {_pct(e['share'])} | {e['status']} | {e['error_code'] or '-'} | {e['path'] or '-'} | "
            f"{e['api_key_hash'] or '-'} | {e['first_at']} → {e['last_at']} | {e['message'] or '-'}"
            for e in d["top"]
        ]
    if d["keys"]:
        lines.append(
            "API keys: "
            + "; ".join(f"{k['api_key_hash']} {k['errors']}/{k['requests']} failed" for k in d["keys"])
        )
    if d["others"]:
        lines.append(
            "the same errors at other accounts: "
            + "; ".join(
                f"{o['status']} {o['error_code'] or '-'}: {o['accounts']} accounts, {o['count']} errors"
                for o in d["others"]
            )
            + f" (of their {d.get('others_requests', 0)} requests)"
        )
    else:
        lines.append("no other account saw these errors in the window")
    return "\n".join(lines)


def render_latency(d: Mapping[str, Any]) -> str:
    b = d["baseline"]
    lines = [
        f"latency ({d['scope']}{' ' + d['account_id'] if d.get('account_id') else ''}), "
        f"{d['requests']} requests: "
        f"p50 {d['p50_ms']} ms, p95 {d['p95_ms']} ms, p99 {d['p99_ms']} ms; baseline p50 {b['p50_ms']}, "
        f"p95 {b['p95_ms']}, p99 {b['p99_ms']}"
    ]
    if d["by_endpoint"]:
        lines.append("endpoint | requests | p95 ms | baseline p95 ms")
        lines += [
            f"{e['path']} | {e['requests']} | {e['p95_ms']} | {e['baseline_p95_ms']}"
            for e in d["by_endpoint"]
        ]
    if d.get("accounts_compared"):
        lines.append(
            f"{d['accounts_compared']} accounts compared; p95 / own baseline p95, highest first: "
            + ", ".join(f"{r}×" for r in d["p95_ratios"])
        )
    if d["slowest"]:
        lines.append(
            "slowest: "
            + "; ".join(
                f"{s['ts']} {s['path']} {s['latency_ms']} ms trace {s['trace_id']}" for s in d["slowest"]
            )
        )
    return "\n".join(lines)


def render_recent_requests(d: Mapping[str, Any]) -> str:
    rows = d["requests"]
    counts = ", ".join(f"{k}: {v}" for k, v in d["status_counts"].items())
    lines = [f"{len(rows)} most recent requests of {d['account_id']} (status counts {counts or 'none'}):"]
    for r in rows:
        lines.append(
            f"{r['ts']} {r['method'] or ''} {r['path']} {r['status']} {r['error_code'] or '-'} "
            f"{r['latency_ms']}ms req={r['request_id']} key={r['api_key_hash']}"
        )
    errors = [r for r in rows if isinstance(r["status"], int) and r["status"] >= 400][:2]
    for r in errors:
        lines.append(f"headers of {r['request_id']}: request {str(r['request_headers'])[:300]}")
        lines.append(f"  response {str(r['response_headers'])[:300]}")
    return "\n".join(lines)


def render_webhooks(d: Mapping[str, Any]) -> str:
    p = d["platform"]
    last = d["last_success"]
    lines = [
        f"{d['account_id']} webhooks: {d['attempts']} attempts, {d['failures']} failures "
        f"({_pct(d['failure_rate'])}); "
        f"other accounts: {p['attempts']} attempts, {_pct(p['failure_rate'])} failing",
        f"last success: "
        f"{last['ts'] + ' status ' + str(last['response_status']) if last else 'none in the last 7 days'}; "
        f"failing since: {d['failing_since'] or 'not failing'}",
        f"endpoints: {', '.join(d['endpoint_urls']) or '-'}; response ms p50 {d['response_ms']['p50']}, "
        f"p95 {d['response_ms']['p95']}, max {d['response_ms']['max']}",
        "statuses: " + ", ".join(f"{s['status']} ({s['count']})" for s in d["by_response_status"]),
        "errors: " + (", ".join(f"{e['error']} ({e['count']})" for e in d["by_error"]) or "none"),
        "bucket | attempts | failures | p95 ms",
    ]
    lines += [f"{h['hour']} | {h['attempts']} | {h['failures']} | {h['p95_ms']}" for h in d["history"]]
    return "\n".join(lines)


def render_sso(d: Mapping[str, Any]) -> str:
    last = d["last_success"]
    lines = [
        f"{d['account_id']} SSO: {d['attempts']} attempts, {d['failures']} failures; last success: "
        + (
            f"{last['ts']} {last['user_email']} cert {last['cert_sha1']}"
            if last
            else "none in the last 7 days"
        )
        + f"; failing since: {d['failing_since'] or 'not failing'}",
        "errors: " + (", ".join(f"{e['error']} ({e['count']})" for e in d["top_errors"]) or "none"),
    ]
    lines += [
        f"{f['ts']} {f['user_email']} {f['error']} skew={f['clock_skew_s']}s cert {f['cert_sha1']}"
        for f in d["recent_failures"]
    ]
    lines += [
        f"changed since the last working login: {c['what']} {c['before']} -> {c['after']}"
        for c in d.get("config_changes") or []
    ]
    return "\n".join(lines)


def render_sql(d: Mapping[str, Any]) -> str:
    lines = [" | ".join(d["columns"])]
    lines += [" | ".join("" if v is None else str(v) for v in row) for row in d["rows"]]
    tail = f"{d['row_count']} rows" + (" (truncated: add filters or aggregate)" if d["truncated"] else "")
    return "\n".join([*lines, tail])


def render_schema(d: Mapping[str, Any]) -> str:
    return "\n".join(
        f"{name}: " + ", ".join(f"{c['name']} {c['type']}" for c in cols)
        for name, cols in d["tables"].items()
    )


# ---------------------------------------------------------------- connector


async def _gather(queries: Mapping[str, Awaitable[_Result]]) -> dict[str, _Result]:
    """Run named independent queries at once; their results by name."""
    results = await asyncio.gather(*queries.values())
    return dict(zip(queries, results, strict=True))


class _ClientPool:
    """Up to ``size`` clients, each running one query at a time, made on demand.

    clickhouse-connect runs one query at a time per client (an HTTP session, or
    a chdb handle), so a single shared client would queue every concurrent
    investigation's queries behind each other. ``hold`` is entered around each
    query: embedded chdb handles hold the engine's lock shared, so a world being
    loaded is never queried half-way.
    """

    def __init__(
        self,
        make: Callable[[], Any] | None,
        size: int,
        first: Any | None = None,
        hold: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        self._make = make
        self._idle: list[Any] = [first] if first is not None else []
        self.clients: list[Any] = list(self._idle)
        self.size = size
        self._slots = threading.BoundedSemaphore(size)
        self._guard = threading.Lock()
        self._hold = hold

    def _take(self) -> Any:
        with self._guard:
            if self._idle:
                return self._idle.pop()
        if self._make is None:
            raise RuntimeError("no ClickHouse client")  # unreachable: without a factory the first is given
        client = self._make()
        with self._guard:
            self.clients.append(client)
        return client

    def any(self) -> Any:
        """Some client, for client-side work (parsing a statement) that needs no slot."""
        with self._guard:
            if self.clients:
                return self.clients[0]
        with self.lease() as client:
            return client

    @contextmanager
    def lease(self) -> Iterator[Any]:
        with self._slots:
            client = self._take()
            try:
                with self._hold():
                    yield client
            finally:
                with self._guard:
                    self._idle.append(client)


class ClickHouseConnector(Connector):
    """Request, webhook-delivery and SSO-login logs in ClickHouse, read-only.

    With ``client`` given (a world's embedded chdb client) it is used as is and
    ``settings.database`` names the world's database; otherwise a client is
    built on first use from ``settings.dsn``.
    """

    source: ClassVar[str] = "logs"

    @classmethod
    def not_configured(cls, settings: ConnectorSettings) -> str | None:
        return None if settings.logs.dsn else "not configured (set CLICKHOUSE_DSN)"

    @classmethod
    def build(cls, settings: ConnectorSettings, world: StandIns | None = None) -> ClickHouseConnector:
        return cls(settings.logs, client=world.clickhouse() if world is not None else None)

    settings_key: ClassVar[str | None] = "logs"
    env_vars: ClassVar[Mapping[str, str]] = {"CLICKHOUSE_DSN": "dsn"}

    @classmethod
    def source_link(cls, outcome: ToolOutcome, context: LinkContext) -> SourceLink | None:
        """The equivalent ClickHouse query, linked to ClickHouse Play when its URL is configured."""
        query = _equivalent_query(outcome)
        if query is None:
            return None
        url = f"{context.clickhouse_play_url}#{quote(query)}" if context.clickhouse_play_url else None
        return SourceLink(label="ClickHouse query", query=query, url=url)

    def runbook_names(self) -> dict[str, Any]:
        """The mapped log tables' names (``logs.requests.table``, ``.time``, ``.account``, ``.status``…),
        so a runbook's SQL reads any company's log schema, not the demo's column names."""
        s = self.settings
        return {
            name: m.model_dump()
            for name, m in (("requests", s.requests), ("webhooks", s.webhooks), ("sso", s.sso))
        }

    def __init__(self, settings: LogsSettings, *, client: Any | None = None) -> None:
        self.settings = settings
        self._owns_clients = client is None
        self._pool = self._new_pool(client)
        self._executor = ThreadPoolExecutor(self._pool.size, thread_name_prefix="clickhouse")
        _ident(settings.database)
        for name in settings.allowed_tables:
            _ident(name)
        self.requests = _Table(settings.requests, settings.database)
        self.webhooks = _Table(settings.webhooks, settings.database)
        self.sso = _Table(settings.sso, settings.database)
        self._columns: dict[str, set[str]] = {}

    # ---- query path

    def _new_pool(self, client: Any | None) -> _ClientPool:
        size = self.settings.max_concurrent_queries
        if client is None:
            return _ClientPool(self._connect, size)
        if type(client).__name__ == "ChdbClient":  # a world's engine: more handles on it
            # In-process queries compete for this machine's cores: more would only queue.
            size = min(size, 2 * (os.cpu_count() or 1))
            from casefile.tools.world.chdb import ENGINE_LOCK, new_embedded_client

            path = str(getattr(client, "path", ":memory:"))
            return _ClientPool(lambda: new_embedded_client(path), size, first=client, hold=ENGINE_LOCK.shared)
        return _ClientPool(None, 1, first=client)

    def _connect(self) -> Any:
        if not self.settings.dsn:
            raise SourceUnavailable(SOURCE, "no ClickHouse DSN configured (logs.dsn)")
        try:
            return clickhouse_connect.get_client(dsn=self.settings.dsn)
        except Exception as exc:
            raise translate_error(exc) from None

    def _query_settings(self, max_result_rows: int, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        s = self.settings
        settings: dict[str, Any] = {
            "max_execution_time": s.max_execution_time_s,
            "max_memory_usage": s.max_memory_usage,
            "max_rows_to_read": s.max_rows_to_read,
            "max_bytes_to_read": s.max_bytes_to_read,
            "max_result_rows": max_result_rows,
            "max_result_bytes": s.max_result_bytes,
            "result_overflow_mode": "throw",
            "read_overflow_mode": "throw",
            "timeout_overflow_mode": "throw",
        }
        if s.max_memory_usage_for_user:
            settings["max_memory_usage_for_user"] = s.max_memory_usage_for_user
        settings.update(extra or {})
        # Last: once readonly is applied, no other setting may change.
        settings["readonly"] = 1
        return settings

    def _send(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None,
        max_result_rows: int,
        extra: Mapping[str, Any] | None = None,
    ) -> _Result:
        """Run one statement with the read-only settings; the lowest layer, no checks of its own."""
        with self._pool.lease() as client:
            try:
                settings = settable(client, self._query_settings(max_result_rows, extra))
                result = client.query(sql, parameters=dict(parameters or {}), settings=settings)
            except Exception as exc:
                raise translate_error(exc) from None
        return _Result(list(result.column_names), [tuple(row) for row in result.result_rows])

    def _query_sync(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        max_result_rows: int = BUILTIN_MAX_RESULT_ROWS,
        extra: Mapping[str, Any] | None = None,
    ) -> _Result:
        context = self._pool.any().create_query_context(query=sql, parameters=dict(parameters or {}))
        if context.is_command or context.is_insert:
            raise ReadOnlyViolation(SOURCE, "only SELECT statements are sent to ClickHouse")
        return self._send(sql, parameters, max_result_rows, extra)

    async def _query(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        max_result_rows: int = BUILTIN_MAX_RESULT_ROWS,
        extra: Mapping[str, Any] | None = None,
    ) -> _Result:
        # Own threads, one per client: queries waiting on a slow server neither queue behind
        # asyncio's small default executor nor starve its other users.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._query_sync, sql, parameters, max_result_rows, extra
        )

    async def _table_columns(self, table: _Table) -> set[str]:
        """Column names of a mapped table, for the optional columns some operations show."""
        key = table.name
        if key not in self._columns:
            db, name = self._split(table.mapping.table)
            result = await self._query(
                "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String}",
                {"db": db, "t": name},
            )
            self._columns[key] = {str(r[0]) for r in result.rows}
        return self._columns[key]

    def _split(self, table: str) -> tuple[str, str]:
        if "." in table:
            db, name = table.split(".", 1)
            return db, name
        return self.settings.database, table

    async def _optional(self, table: _Table, names: Iterable[str]) -> dict[str, str]:
        """``{name: sql}`` selecting each optional column, or NULL when the table lacks it."""
        present = await self._table_columns(table)
        return {n: (_ident(n) if n in present else "NULL") for n in names}

    @staticmethod
    def _window_params(account: str | None, t0: datetime, t1: datetime, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"t0": _param_ts(t0), "t1": _param_ts(t1), **extra}
        if account is not None:
            params["account"] = account
        return params

    # ---- operations

    @operation("logs_error_summary", ErrorSummaryArgs, render=render_error_summary)
    async def error_summary(self, args: ErrorSummaryArgs, ctx: CallContext) -> dict[str, Any]:
        """Error rate of one account's API requests over a window, against a baseline.

        Returns totals (an error is HTTP status >= 400, or only `status` when given),
        the breakdown by status with each status's baseline rate, the top endpoints
        and error codes, and the spike: when the error rate jumped and stayed up
        (5-minute buckets), with the exact first error. Use it first for "errors
        since ...". `path` narrows everything to one route template.
        """
        t = self.requests
        t.require("status")
        base_start = args.start - timedelta(days=args.baseline_days)
        is_error = f"{t.status} = {{status:UInt16}}" if args.status is not None else f"{t.status} >= 400"
        path_filter = ""
        extra: dict[str, Any] = {"w0": _param_ts(args.start)}
        if args.status is not None:
            extra["status"] = args.status
        if args.path is not None:
            t.require("path")
            path_filter = f" AND {t.path} = {{path:String}}"
            extra["path"] = args.path
        params = self._window_params(args.account_id, base_start, args.end, **extra)
        in_window = f"{t.time} >= {{w0:{_TS_PARAM}}}"

        window_params = self._window_params(args.account_id, args.start, args.end, **extra)
        rows, endpoints, codes, fine, hot = await self._breakdown(t, is_error, path_filter, in_window, params)
        requests = sum(int(r["w_n"]) for r in rows)
        base_requests = sum(int(r["b_n"]) for r in rows)

        def counts_as_error(status: int) -> bool:
            return status == args.status if args.status is not None else status >= 400

        errors = sum(int(r["w_n"]) for r in rows if counts_as_error(int(r["status"])))
        base_errors = sum(int(r["b_n"]) for r in rows if counts_as_error(int(r["status"])))
        statuses = sorted(
            (r for r in rows if int(r["status"]) >= 400 and int(r["w_n"]) > 0),
            key=lambda r: (-int(r["w_n"]), int(r["status"])),
        )[:TOP_N]

        base_rate = base_errors / base_requests if base_requests else 0.0
        spike = await self._find_spike(fine, t, is_error, path_filter, window_params, base_rate)
        if spike is None and hot is not None and args.path is None:
            # One endpoint can fail hard while the account-wide rate barely moves.
            spike = await self._endpoint_spike(hot, t, is_error, window_params)
        return {
            "account_id": args.account_id,
            "window": {"start": _iso(args.start), "end": _iso(args.end)},
            "requests": requests,
            "errors": errors,
            "error_rate": _rate(errors, requests),
            "baseline": {
                "start": _iso(base_start),
                "end": _iso(args.start),
                "requests": base_requests,
                "errors": base_errors,
                "error_rate": _rate(base_errors, base_requests),
            },
            "by_status": [
                {
                    "status": int(r["status"]),
                    "count": int(r["w_n"]),
                    "rate": _rate(int(r["w_n"]), requests),
                    "baseline_rate": _rate(int(r["b_n"]), base_requests),
                }
                for r in statuses
            ],
            "top_endpoints": [
                {
                    "path": e["path"],
                    "requests": int(e["requests"]),
                    "errors": int(e["errors"]),
                    "error_rate": _rate(int(e["errors"]), int(e["requests"])),
                    "baseline_error_rate": e["baseline_error_rate"],
                }
                for e in endpoints
            ],
            "top_error_codes": [{"error_code": c["error_code"], "count": int(c["count"])} for c in codes],
            "spike": spike,
        }

    async def _breakdown(
        self, t: _Table, is_error: str, path_filter: str, in_window: str, params: dict[str, Any]
    ) -> tuple[
        list[dict[str, Any]],
        list[dict[str, Any]],
        list[dict[str, Any]],
        list[tuple[int, int, int]],
        tuple[str, float] | None,
    ]:
        """Counts by status (window and baseline), and the window's top endpoints, top error
        codes and 5-minute buckets, in one scan: a query costs the engine a few ms however
        small, and this one replaces four.
        """
        finest = SPIKE_BUCKETS_MINUTES[0] * 60_000
        keys = {"status": t.status}
        if t.path is not None:
            keys["path"] = t.path
        if t.error is not None:
            keys["error_code"] = t.error
        keys["bucket"] = f"if({in_window}, intDiv({t.ts_ms}, {finest}) * {finest}, -1)"
        names = list(keys)
        result = await self._query(
            "SELECT "
            + "".join(f"{sql} AS {name}, " for name, sql in keys.items())
            + f"grouping({', '.join(names)}) AS grouped_by, countIf({in_window}) AS w_n, "
            f"countIf(NOT ({in_window})) AS b_n, countIf({in_window} AND {is_error}) AS w_errors, "
            f"countIf(NOT ({in_window}) AND {is_error}) AS b_errors "
            f"FROM {t.name} WHERE {t.account_range()}{path_filter} "
            f"GROUP BY GROUPING SETS ({', '.join(f'({n})' for n in names)})",
            params,
        )
        # grouping() has a 0 bit for each key its row is grouped by, the first key the highest bit.
        n = len(names)
        set_of_mask = {((1 << n) - 1) ^ (1 << (n - 1 - i)): (name, i) for i, name in enumerate(names)}
        # Rows stay tuples (key, window count, baseline count, window errors, baseline errors):
        # there can be thousands.
        sets: dict[str, list[tuple[Any, int, int, int, int]]] = {name: [] for name in names}
        for row in result.rows:
            name, i = set_of_mask[int(row[n])]
            sets[name].append((row[i], int(row[n + 1]), int(row[n + 2]), int(row[n + 3]), int(row[n + 4])))
        statuses = [
            {"status": key, "w_n": w_n, "b_n": b_n}
            for key, w_n, b_n, _, _ in sorted(sets["status"], key=lambda r: int(r[0]))
        ]
        endpoints = [
            {
                "path": key,
                "requests": w_n,
                "errors": w_errors,
                "baseline_error_rate": _rate(b_errors, b_n) if b_n else None,
            }
            for key, w_n, b_n, w_errors, b_errors in sorted(
                (r for r in sets.get("path", []) if r[1] > 0), key=lambda r: (-r[3], -r[1], str(r[0]))
            )[:TOP_N]
        ]
        codes = [
            {"error_code": key, "count": w_errors}
            for key, _, _, w_errors, _ in sorted(
                (r for r in sets.get("error_code", []) if r[3] > 0 and r[0] not in ("", None)),
                key=lambda r: (-r[3], str(r[0])),
            )[:TOP_N]
        ]
        fine = sorted((int(key), w_n, w_errors) for key, w_n, _, w_errors, _ in sets["bucket"] if key != -1)
        return statuses, endpoints, codes, fine, _hot_endpoint(sets.get("path", []))

    async def _endpoint_spike(
        self, hot: tuple[str, float], t: _Table, is_error: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The spike of one endpoint's errors against that endpoint's own baseline rate."""
        path, baseline_rate = hot
        path_filter = f" AND {t.path} = {{hot_path:String}}"
        scoped = {**params, "hot_path": path}
        finest = SPIKE_BUCKETS_MINUTES[0] * 60_000
        result = await self._query(
            f"SELECT intDiv({t.ts_ms}, {finest}) * {finest} AS bucket, "
            f"count() AS requests, countIf({is_error}) AS errors FROM {t.name} "
            f"WHERE {t.account_range()}{path_filter} GROUP BY bucket ORDER BY bucket",
            scoped,
        )
        fine = [(int(b), int(n), int(e)) for b, n, e in result.rows]
        spike = await self._find_spike(fine, t, is_error, path_filter, scoped, baseline_rate)
        return {**spike, "path": path} if spike else None

    async def _find_spike(
        self,
        fine: list[tuple[int, int, int]],
        t: _Table,
        is_error: str,
        path_filter: str,
        params: dict[str, Any],
        base_rate: float,
    ) -> dict[str, Any] | None:
        for minutes in SPIKE_BUCKETS_MINUTES:
            buckets = _coarsen(fine, minutes * 60_000)
            spike = detect_spike(buckets, base_rate, minutes)
            if spike is None:
                continue
            detail_params = {
                **params,
                "s0": _param_ts(spike.start),
                "s1": _param_ts(spike.start + timedelta(minutes=minutes)),
            }
            # Per status since the spike: how many errors, and the first inside its first bucket.
            detail = await self._query(
                f"SELECT {t.status} AS status, count() AS n, "
                f"minIf({t.ts_ms}, {t.time} < {{s1:{_TS_PARAM}}}) AS first_ms, "
                f"countIf({t.time} < {{s1:{_TS_PARAM}}}) AS in_first FROM {t.name} WHERE "
                f"{t.account_range()}{path_filter} AND {is_error} AND {t.time} >= {{s0:{_TS_PARAM}}} "
                f"GROUP BY status",
                detail_params,
            )
            per_status = detail.dicts()
            firsts = [int(r["first_ms"]) for r in per_status if int(r["in_first"]) > 0]
            top = min(per_status, key=lambda r: (-int(r["n"]), int(r["status"])), default=None)
            return {
                "start": _iso(spike.start),
                "first_error_at": _from_ms(min(firsts)) if firsts else None,
                "status": int(top["status"]) if top else None,
                "bucket_minutes": minutes,
                "before_rate": round(spike.before_rate, 4),
                "after_rate": round(spike.after_rate, 4),
                "peak_rate": round(spike.peak_rate, 4),
                "errors_since": spike.errors_since,
            }
        return None

    @operation("logs_top_errors", TopErrorsArgs, render=render_top_errors)
    async def top_errors(self, args: TopErrorsArgs, ctx: CallContext) -> dict[str, Any]:
        """The errors one account actually gets, those that grew most first, and whether others get them too.

        Each row is one (status, error code, endpoint, API key[, message]) combination
        with its count, its count in the 7 days before (``before``; 0: new), its share of
        the account's errors and first/last time seen; then
        each API key's requests and failures (a revoked or test key fails alone); then,
        for the top error combinations, how many other accounts saw the same status and
        code in the window (an error nobody else sees is usually the customer's). Use it
        to quote the customer's own errors.
        """
        t = self.requests
        t.require("status")
        optional = await self._optional(t, ["api_key_hash", "error_message", "message"])
        message = optional["error_message"] if optional["error_message"] != "NULL" else optional["message"]
        key, code, path = optional["api_key_hash"], t.error or "''", t.path or "''"
        extra: dict[str, Any] = {}
        path_filter = ""
        if args.path is not None:
            t.require("path")
            path_filter = f" AND {t.path} = {{path:String}}"
            extra["path"] = args.path
        params = self._window_params(args.account_id, args.start, args.end, **extra)
        first = f"{t.status} IN {{reported:Array(UInt16)}} DESC, " if args.statuses else ""
        if args.statuses:
            params["reported"] = [s for s in args.statuses if 100 <= s <= 599]
        base_start = args.start - timedelta(days=BASELINE_DAYS)
        # Rows are ranked by how far they exceed their own history (scaled by the windows' lengths):
        # the errors that are new or grew come first, not the account's usual background.
        ratio = (args.end - args.start) / timedelta(days=BASELINE_DAYS)
        in_window = f"{t.time} >= {{w0:{_TS_PARAM}}}"
        wide = {
            **self._window_params(args.account_id, base_start, args.end, **extra),
            "w0": _param_ts(args.start),
        }
        if args.statuses:
            wide["reported"] = params["reported"]
        results = await _gather(
            {
                # Each combination's count in the window, and in the 7 days before it (a code the
                # account never got before is news even when it is rare).
                "top": self._query(
                    f"SELECT {t.status} AS status, {code} AS error_code, {path} AS path, {key} AS api_key_hash, "
                    f"anyIf({message}, {in_window}) AS message, countIf({in_window}) AS n, "
                    f"countIf(NOT ({in_window})) AS before_n, minIf({t.ts_ms}, {in_window}) AS first_ms, "
                    f"maxIf({t.ts_ms}, {in_window}) AS last_ms FROM {t.name} WHERE {t.account_range()}{path_filter} "
                    f"AND {t.status} >= 400 GROUP BY status, error_code, path, api_key_hash HAVING n > 0 "
                    f"ORDER BY {first}greatest(n - before_n * {ratio:.6f}, 0) DESC, n DESC, status LIMIT {TOP_N}",
                    wide,
                ),
                "baseline": self._query(
                    f"SELECT count() AS n FROM {t.name} WHERE {t.account_range()}{path_filter}",
                    self._window_params(args.account_id, base_start, args.start, **extra),
                ),
                "keys": self._query(
                    f"SELECT {key} AS api_key_hash, count() AS n, countIf({t.status} >= 400) AS errors "
                    f"FROM {t.name} WHERE {t.account_range()}{path_filter} GROUP BY api_key_hash "
                    f"ORDER BY n DESC LIMIT {TOP_N}",
                    params,
                ),
            }
        )
        top = results["top"].dicts()
        keys = [k for k in results["keys"].dicts() if k["api_key_hash"] not in (None, "")]
        requests = sum(int(k["n"]) for k in results["keys"].dicts())
        errors = sum(int(k["errors"]) for k in results["keys"].dicts())
        pairs = list(dict.fromkeys((int(r["status"]), str(r["error_code"] or "")) for r in top))[:3]
        others: list[dict[str, Any]] = []
        others_requests = 0
        if pairs:
            # Other accounts (from the directory when there is one, along the (account, ts) key).
            sample = [a for a in ctx.baseline_accounts if a != args.account_id][:PLATFORM_SAMPLE]
            scope = (
                f"{t.account} IN {{others:Array(String)}}" if sample else f"{t.account} != {{account:String}}"
            )
            wanted = " OR ".join(
                f"({t.status} = {{s{i}:UInt16}} AND {code} = {{c{i}:String}})" for i in range(len(pairs))
            )
            pair_params = {f"s{i}": s for i, (s, _) in enumerate(pairs)} | {
                f"c{i}": c for i, (_, c) in enumerate(pairs)
            }
            scoped = {**params, **({"others": sample} if sample else {})}
            found = await _gather(
                {
                    "seen": self._query(
                        f"SELECT {t.status} AS status, {code} AS error_code, uniqExact({t.account}) AS accounts, "
                        f"count() AS n FROM {t.name} WHERE {scope} AND {t.time_range()}{path_filter} AND ({wanted}) "
                        f"GROUP BY status, error_code ORDER BY n DESC",
                        {**scoped, **pair_params},
                    ),
                    # Their requests, so a shared error compares as a rate: many accounts' usual few
                    # 422s are not one account's flood of them.
                    "volume": self._query(
                        f"SELECT count() AS n FROM {t.name} WHERE {scope} AND {t.time_range()}{path_filter}",
                        scoped,
                    ),
                }
            )
            seen = found["seen"]
            others_requests = int(found["volume"].one()["n"] or 0)
            others = [
                {
                    "status": int(r["status"]),
                    "error_code": r["error_code"],
                    "accounts": int(r["accounts"]),
                    "count": int(r["n"]),
                }
                for r in seen.dicts()
            ]
        return {
            "account_id": args.account_id,
            "window": {"start": _iso(args.start), "end": _iso(args.end)},
            "requests": requests,
            "errors": errors,
            "baseline_requests": int(results["baseline"].one()["n"] or 0),
            "top": [
                {
                    "status": int(r["status"]),
                    "error_code": _plain(r["error_code"]) or "",
                    "path": _plain(r["path"]) or "",
                    "api_key_hash": _plain(r["api_key_hash"]),
                    "message": _plain(r["message"]) or None,
                    "count": int(r["n"]),
                    "before": int(r["before_n"]),
                    "share": _rate(int(r["n"]), errors),
                    "first_at": _from_ms(r["first_ms"]),
                    "last_at": _from_ms(r["last_ms"]),
                }
                for r in top
            ],
            "keys": [
                {
                    "api_key_hash": _plain(k["api_key_hash"]),
                    "requests": int(k["n"]),
                    "errors": int(k["errors"]),
                }
                for k in keys
            ],
            "others": others,
            "others_requests": others_requests,
        }

    @operation("logs_latency", LatencyArgs, render=render_latency)
    async def latency(self, args: LatencyArgs, ctx: CallContext) -> dict[str, Any]:
        """Latency percentiles (p50/p95/p99, ms) over a window against a baseline.

        With an account: that account, per endpoint, and its slowest requests with
        trace ids. With account_id null: the whole platform, how many accounts were compared
        and their p95 ratios to their own baselines (highest first, without names), to tell
        "one customer is slow" from "everything is slow".
        """
        t = self.requests
        t.require("latency")
        base_start = args.start - timedelta(days=args.baseline_days)
        scoped = args.account_id is not None
        where = t.account_range() if scoped else t.time_range()
        path_filter = ""
        extra: dict[str, Any] = {"w0": _param_ts(args.start)}
        if args.path is not None:
            t.require("path")
            path_filter = f" AND {t.path} = {{path:String}}"
            extra["path"] = args.path
        span = self._window_params(args.account_id, base_start, args.end, **extra)
        window = self._window_params(args.account_id, args.start, args.end, **extra)
        in_window = f"{t.time} >= {{w0:{_TS_PARAM}}}"
        lat = f"toFloat64({t.latency})"

        optional = await self._optional(t, ["trace_id"])
        path_sql = t.path or "''"
        # The queries are independent: they run at once (the connector keeps several clients).
        queries = {
            "totals": self._query(
                f"SELECT countIf({in_window}) AS requests, "
                f"quantilesExactIf(0.5, 0.95, 0.99)({lat}, {in_window}) AS w, "
                f"quantilesExactIf(0.5, 0.95, 0.99)({lat}, NOT ({in_window})) AS b "
                f"FROM {t.name} WHERE {where}{path_filter}",
                span,
            ),
        }
        if scoped:  # other accounts' requests are not shown, only aggregates over them
            queries["slowest"] = self._query(
                f"SELECT {t.ts_ms} AS ts_ms, {optional['trace_id']} AS trace_id, {path_sql} AS path, "
                f"{lat} AS latency_ms FROM {t.name} WHERE {where}{path_filter} "
                f"ORDER BY latency_ms DESC, ts_ms LIMIT 5",
                window,
            )
        if t.path is not None:
            queries["endpoints"] = self._query(
                f"SELECT {t.path} AS path, countIf({in_window}) AS requests, "
                f"quantileExactIf(0.95)({lat}, {in_window}) AS p95, "
                f"quantileExactIf(0.95)({lat}, NOT ({in_window})) AS bp95, countIf(NOT ({in_window})) AS bn "
                f"FROM {t.name} WHERE {where}{path_filter} GROUP BY path HAVING requests > 0 "
                f"ORDER BY requests DESC, path LIMIT {TOP_N}",
                span,
            )
        if not scoped:
            # Other accounts only as an aggregate: how many were compared and their p95 ratios to
            # their own baselines, highest first. Their ids never leave the database.
            queries["accounts"] = self._query(
                f"SELECT count() AS compared, arraySlice(arrayReverseSort(groupArray(ratio)), 1, {PLATFORM_RATIOS}) "
                f"AS ratios FROM (SELECT round(quantileExactIf(0.95)({lat}, {in_window}) / "
                f"greatest(quantileExactIf(0.95)({lat}, NOT ({in_window})), 1), 2) AS ratio FROM {t.name} "
                f"WHERE {where}{path_filter} GROUP BY {t.account} "
                f"HAVING countIf({in_window}) >= 20 AND countIf(NOT ({in_window})) >= 20)",
                span,
            )
        results = await _gather(queries)
        totals = results["totals"].one()
        w = list(totals["w"] or [None] * 3) if totals["requests"] else [None] * 3
        b = list(totals["b"] or [None] * 3) if args.baseline_days else [None] * 3
        by_endpoint = [
            {
                "path": r["path"],
                "requests": int(r["requests"]),
                "p95_ms": _ms(r["p95"]),
                "baseline_p95_ms": _ms(r["bp95"]) if int(r["bn"]) else None,
            }
            for r in (results["endpoints"].dicts() if "endpoints" in results else [])
        ]
        slowest = results["slowest"].dicts() if scoped else []
        result: dict[str, Any] = {
            "scope": "account" if scoped else "all",
            "account_id": args.account_id,
            "requests": int(totals["requests"] or 0),
            "p50_ms": _ms(w[0]),
            "p95_ms": _ms(w[1]),
            "p99_ms": _ms(w[2]),
            "baseline": {"p50_ms": _ms(b[0]), "p95_ms": _ms(b[1]), "p99_ms": _ms(b[2])},
            "by_endpoint": by_endpoint,
            "slowest": [
                {
                    "ts": _from_ms(r["ts_ms"]),
                    "trace_id": r["trace_id"],
                    "path": r["path"],
                    "latency_ms": _ms(r["latency_ms"]),
                }
                for r in slowest
            ],
        }
        if not scoped:
            accounts = results["accounts"].one()
            result["accounts_compared"] = int(accounts["compared"] or 0)
            result["p95_ratios"] = [float(r) for r in accounts["ratios"] or []]
        return result

    @operation("logs_recent_requests", RecentRequestsArgs, render=render_recent_requests)
    async def recent_requests(self, args: RecentRequestsArgs, ctx: CallContext) -> dict[str, Any]:
        """The account's most recent API requests, newest first (at most 200), one line each.

        Shows method, route, status, error code, latency, request and trace ids, the
        API key hash and (in the data) the redacted request/response headers. Filter
        by status or path to see only the failing calls. `before` defaults to the
        ticket's time; requests older than 7 days before it are not searched.
        """
        t = self.requests
        t.require("status", "path")
        before = args.before or _utc(ctx.now)
        extras = ["method", "request_id", "trace_id", "api_key_hash", "request_headers", "response_headers"]
        optional = await self._optional(t, extras)
        filters = ""
        extra: dict[str, Any] = {}
        if args.status is not None:
            filters += f" AND {t.status} = {{status:UInt16}}"
            extra["status"] = args.status
        if args.path is not None:
            filters += f" AND {t.path} = {{path:String}}"
            extra["path"] = args.path
        error_sql = t.error or "''"
        latency_sql = f"toFloat64({t.latency})" if t.latency else "NULL"
        rows = await self._query(
            f"SELECT {t.ts_ms} AS ts_ms, {optional['method']} AS method, {t.path} AS path, "
            f"{t.status} AS status, "
            f"{error_sql} AS error_code, {latency_sql} AS latency_ms, "
            + ", ".join(f"{optional[n]} AS {n}" for n in extras[1:])
            + f" FROM {t.name} WHERE {t.account_range()}{filters} ORDER BY {t.time} DESC LIMIT {args.limit}",
            self._window_params(args.account_id, before - LOOKBACK, before, **extra),
        )
        requests = []
        counts: dict[str, int] = {}
        for r in rows.dicts():
            ts = _from_ms(r.pop("ts_ms"))
            r["status"] = int(r["status"])
            r["latency_ms"] = _ms(r["latency_ms"])
            requests.append({"ts": ts, **{k: _plain(v) for k, v in r.items()}})
            counts[str(r["status"])] = counts.get(str(r["status"]), 0) + 1
        return {
            "account_id": args.account_id,
            "requests": requests,
            "status_counts": dict(sorted(counts.items())),
        }

    @operation("logs_webhook_deliveries", WindowArgs, render=render_webhooks)
    async def webhook_deliveries(self, args: WindowArgs, ctx: CallContext) -> dict[str, Any]:
        """Webhook delivery attempts to one account's endpoints over a window.

        Failure rate (a failure is no 2xx response or a delivery error), response
        statuses and errors (timeout, connection_refused, ...), the endpoint URLs,
        the last successful delivery and since when deliveries fail, response-time
        percentiles and history, and the failure rate of every other account over the
        same window (to tell our dispatcher's fault from the customer's endpoint).
        """
        t = self.webhooks
        failed = self._webhook_failure(t)
        params = self._window_params(args.account_id, args.start, args.end)
        latency = f"toFloat64({t.latency})" if t.latency else "toFloat64(0)"
        status_sql = t.status or "NULL"
        error_sql = t.error or "''"
        url_sql = t.path or "''"
        hours = max(1.0, (args.end - args.start).total_seconds() / 3600)
        step = next((h for h in (1, 3, 6, 12, 24) if hours / h <= 48), 24 * math.ceil(hours / 24 / 48))
        # The platform baseline: other accounts from the directory (at most PLATFORM_SAMPLE of
        # them, so the read follows the (account, time) key instead of scanning every account's
        # window); without a directory, every other account.
        others = [a for a in ctx.baseline_accounts if a != args.account_id][:PLATFORM_SAMPLE]
        scope = f"{t.account} IN {{others:Array(String)}}" if others else f"{t.account} != {{account:String}}"
        # Independent queries run at once; only "failing since" needs the last success first.
        results = await _gather(
            {
                "totals": self._query(
                    f"SELECT count() AS attempts, countIf({failed}) AS failures, "
                    f"quantilesExact(0.5, 0.95)({latency}) AS q, max({latency}) AS mx "
                    f"FROM {t.name} WHERE {t.account_range()}",
                    params,
                ),
                # One pass for statuses, errors and endpoint URLs: a few distinct combinations per account.
                "groups": self._query(
                    f"SELECT {status_sql} AS s, {error_sql} AS e, {url_sql} AS u, count() AS n FROM {t.name} "
                    f"WHERE {t.account_range()} GROUP BY s, e, u ORDER BY n DESC LIMIT 1000",
                    params,
                ),
                "last": self._query(
                    f"SELECT {t.ts_ms} AS ts_ms, {status_sql} AS response_status, {latency} AS response_ms "
                    f"FROM {t.name} "
                    f"WHERE {t.account_range()} AND NOT ({failed}) ORDER BY {t.time} DESC LIMIT 1",
                    self._window_params(args.account_id, args.start - LOOKBACK, args.end),
                ),
                "history": self._query(
                    f"SELECT intDiv({t.ts_ms}, {step * 3_600_000}) * {step * 3_600_000} AS h, "
                    f"count() AS attempts, countIf({failed}) AS failures, "
                    f"quantileExact(0.95)({latency}) AS p95 FROM {t.name} "
                    f"WHERE {t.account_range()} GROUP BY h ORDER BY h",
                    params,
                ),
                "platform": self._query(
                    f"SELECT count() AS attempts, countIf({failed}) AS failures FROM {t.name} "
                    f"WHERE {scope} AND {t.time_range()}",
                    {**params, "others": others} if others else params,
                ),
            }
        )
        totals = results["totals"].one()
        attempts = int(totals["attempts"] or 0)
        failures = int(totals["failures"] or 0)
        q = list(totals["q"] or [None, None]) if attempts else [None, None]
        by_status: dict[int, int] = {}
        by_error: dict[str, int] = {}
        url_set: set[str] = set()
        for status_value, error_value, url_value, n in results["groups"].rows:
            if status_value is not None:
                by_status[int(status_value)] = by_status.get(int(status_value), 0) + int(n)
            if error_value:
                by_error[str(error_value)] = by_error.get(str(error_value), 0) + int(n)
            if url_value:
                url_set.add(str(url_value))
        statuses = [
            {"status": k, "count": v} for k, v in sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0]))
        ][:TOP_N]
        errors = [
            {"error": k, "count": v} for k, v in sorted(by_error.items(), key=lambda kv: (-kv[1], kv[0]))
        ][:TOP_N]
        urls = sorted(url_set)[:TOP_N]
        last = results["last"]
        last_success = None
        since_params = params
        if last.rows:
            row = last.one()
            last_success = {
                "ts": _from_ms(row["ts_ms"]),
                "response_status": None if row["response_status"] is None else int(row["response_status"]),
                "response_ms": _ms(row["response_ms"]),
            }
            since_params = {**params, "ls": int(row["ts_ms"])}
        since_filter = f" AND {t.ts_ms} > {{ls:Int64}}" if "ls" in since_params else ""
        failing = await self._query(
            f"SELECT min({t.ts_ms}) AS first_ms, count() AS n FROM {t.name} "
            f"WHERE {t.account_range()} AND {failed}{since_filter}",
            since_params,
        )
        failing_row = failing.one()
        failing_since = _from_ms(failing_row["first_ms"]) if int(failing_row["n"] or 0) else None
        history = results["history"]
        platform = results["platform"].one()
        p_attempts = int(platform["attempts"] or 0)
        p_failures = int(platform["failures"] or 0)
        return {
            "account_id": args.account_id,
            "attempts": attempts,
            "failures": failures,
            "failure_rate": _rate(failures, attempts),
            "by_response_status": statuses,
            "by_error": errors,
            "endpoint_urls": urls,
            "last_success": last_success,
            "failing_since": failing_since,
            "response_ms": {
                "p50": _ms(q[0]),
                "p95": _ms(q[1]),
                "max": _ms(totals["mx"]) if attempts else None,
            },
            "history": [
                {"hour": _from_ms(h), "attempts": int(n), "failures": int(f), "p95_ms": _ms(p)}
                for h, n, f, p in history.rows
            ],
            "platform": {
                "attempts": p_attempts,
                "failures": p_failures,
                "failure_rate": _rate(p_failures, p_attempts),
            },
        }

    @staticmethod
    def _webhook_failure(t: _Table) -> str:
        parts = []
        if t.status is not None:
            parts.append(f"({t.status} < 200 OR {t.status} >= 300)")
        if t.error is not None:
            parts.append(f"{t.error} != ''")
        if not parts:
            raise SourceUnavailable(
                SOURCE, "logs settings map neither status nor error for webhook deliveries"
            )
        return "(" + " OR ".join(parts) + ")"

    @operation("logs_sso_logins", WindowArgs, render=render_sso)
    async def sso_logins(self, args: WindowArgs, ctx: CallContext) -> dict[str, Any]:
        """SSO (SAML) login attempts of one account over a window.

        Attempts and failures, the last successful login before the window's end
        (user, certificate fingerprint), since when logins fail, the most common
        failure messages and the latest failures with clock skew and certificate.
        """
        t = self.sso
        t.require("status")
        failed = f"{t.status} != 'success'"
        optional = await self._optional(t, ["user_email", "cert_sha1", "clock_skew_s", *RESPONSE_FIELDS])
        said = ", ".join(f"{optional[c]} AS {c}" for c in RESPONSE_FIELDS)
        params = self._window_params(args.account_id, args.start, args.end)
        error_sql = t.error or "''"
        # Independent queries run at once; only "failing since" needs the last success first.
        results = await _gather(
            {
                "totals": self._query(
                    f"SELECT count() AS attempts, countIf({failed}) AS failures FROM {t.name} WHERE "
                    f"{t.account_range()}",
                    params,
                ),
                "last": self._query(
                    f"SELECT {t.ts_ms} AS ts_ms, {optional['user_email']} AS user_email, "
                    f"{optional['cert_sha1']} AS cert_sha1, {said} "
                    f"FROM {t.name} WHERE {t.account_range()} AND NOT ({failed}) "
                    f"ORDER BY {t.time} DESC LIMIT 1",
                    self._window_params(args.account_id, args.start - LOOKBACK, args.end),
                ),
                "top_errors": self._query(
                    f"SELECT {error_sql} AS error, count() AS n FROM {t.name} "
                    f"WHERE {t.account_range()} AND {failed} "
                    f"GROUP BY error ORDER BY n DESC, error LIMIT {TOP_N}",
                    params,
                ),
                "recent": self._query(
                    f"SELECT {t.ts_ms} AS ts_ms, {optional['user_email']} AS user_email, "
                    f"{error_sql} AS error, {optional['clock_skew_s']} AS clock_skew_s, "
                    f"{optional['cert_sha1']} AS cert_sha1, {said} FROM {t.name} "
                    f"WHERE {t.account_range()} AND {failed} ORDER BY {t.time} DESC LIMIT {TOP_N}",
                    params,
                ),
            }
        )
        totals = results["totals"].one()
        last = results["last"]
        last_success = None
        since_filter = ""
        since_params = params
        if last.rows:
            row = last.one()
            last_success = {
                "ts": _from_ms(row["ts_ms"]),
                "user_email": row["user_email"],
                "cert_sha1": row["cert_sha1"],
                **{c: _plain(row[c]) for c in RESPONSE_FIELDS},
            }
            since_filter = f" AND {t.ts_ms} > {{ls:Int64}}"
            since_params = {**params, "ls": int(row["ts_ms"])}
        failing = (
            await self._query(
                f"SELECT min({t.ts_ms}) AS first_ms, count() AS n FROM {t.name} "
                f"WHERE {t.account_range()} AND {failed}{since_filter}",
                since_params,
            )
        ).one()
        top_errors = results["top_errors"]
        recent = [
            {"ts": _from_ms(r.pop("ts_ms")), **{k: _plain(v) for k, v in r.items()}}
            for r in results["recent"].dicts()
        ]
        return {
            "account_id": args.account_id,
            "attempts": int(totals["attempts"] or 0),
            "failures": int(totals["failures"] or 0),
            "last_success": last_success,
            "failing_since": _from_ms(failing["first_ms"]) if int(failing["n"] or 0) else None,
            "top_errors": [{"error": e, "count": int(n)} for e, n in top_errors.rows],
            "recent_failures": recent,
            # What the failing responses were made with that the last working one was not.
            "config_changes": response_changes(last_success, recent[0] if recent else None),
        }

    @operation("logs_sql", SqlArgs, render=render_sql, evidence=sql_evidence)
    async def sql(self, args: SqlArgs, ctx: CallContext) -> dict[str, Any]:
        """Run one read-only ClickHouse SELECT over the log tables (see logs_schema).

        For questions the other logs tools do not answer. Only SELECT over the allowed
        tables, with common aggregate, arithmetic, string, date, conditional and
        conversion functions; no table functions, SETTINGS or FORMAT; results are
        capped (truncated is true when more rows matched). Every table shows only the
        investigation's account's rows; filter a ts range and aggregate.
        """
        max_rows = self.settings.max_rows

        def guarded(scope: SqlScope | None) -> str:
            # One extra row tells "exactly max_rows" from "more than max_rows".
            return guard_sql(
                args.sql,
                allowed_tables=self.settings.allowed_tables,
                database=self.settings.database,
                max_rows=max_rows + 1,
                scope=scope,
            )

        if ctx.account_id is None:
            guarded(None)  # a hostile query is refused as such, account or not
            raise ScopeViolation(SOURCE, ctx.refusal())
        scope = SqlScope(ctx.account_id, self._account_columns())
        safe = guarded(scope)
        result = await self._query(
            safe,
            None,
            max_result_rows=max_rows + 1,
            extra={"additional_table_filters": self._row_filters(scope)},
        )
        rows = [[_plain(v) for v in row] for row in result.rows[:max_rows]]
        return {
            "sql": safe,
            "columns": result.columns,
            "rows": rows,
            "row_count": len(rows),
            "truncated": len(result.rows) > max_rows,
        }

    def _account_columns(self) -> dict[str, str]:
        """Each allowed table's account column: the mapped tables' own, else ``account_column``."""
        columns = dict.fromkeys(self.settings.allowed_tables, self.settings.account_column)
        for mapping in (self.settings.requests, self.settings.webhooks, self.settings.sso):
            db, name = self._split(mapping.table)
            if db == self.settings.database and name in columns:
                columns[name] = mapping.account
        return columns

    def _row_filters(self, scope: SqlScope) -> dict[str, str]:
        """The same account filter as an engine setting (``additional_table_filters``), a second
        layer where the server lets it be set: the engine applies it to every read of the table.
        """
        return {
            f"{self.settings.database}.{table}": scope_filter(column, scope.account_id).sql(
                dialect="clickhouse"
            )
            for table, column in scope.columns.items()
        }

    @operation("logs_schema", SchemaArgs, render=render_schema)
    async def schema(self, args: SchemaArgs, ctx: CallContext) -> dict[str, Any]:
        """The columns and types of the log tables logs_sql may query."""
        names = list(self.settings.allowed_tables)
        result = await self._query(
            "SELECT table, name, type FROM system.columns WHERE database = {db:String} "
            "AND table IN {tables:Array(String)} ORDER BY table, position",
            {"db": self.settings.database, "tables": names},
        )
        tables: dict[str, list[dict[str, str]]] = {name: [] for name in names}
        for table, name, type_ in result.rows:
            tables[str(table)].append({"name": str(name), "type": str(type_)})
        return {"tables": {k: v for k, v in tables.items() if v}}

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False)
        # The embedded engine outlives connectors; only a client we built is ours to close.
        if self._owns_clients:
            for client in self._pool.clients:
                await asyncio.to_thread(client.close)


# The table each built-in operation reads, for the query a person can rerun beside the evidence.
_LINK_TABLES = {
    "logs_error_summary": "requests",
    "logs_latency": "requests",
    "logs_recent_requests": "requests",
    "logs_top_errors": "requests",
    "logs_webhook_deliveries": "webhook_deliveries",
    "logs_sso_logins": "sso_logins",
}


def _sql_literal(value: Any) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _equivalent_query(outcome: ToolOutcome) -> str | None:
    args = outcome.arguments
    if outcome.tool == "logs_sql":
        sql = args.get("sql")
        if not sql and isinstance(outcome.data, dict):
            sql = outcome.data.get("sql")
        return str(sql) if sql else None
    table = _LINK_TABLES.get(outcome.tool)
    if table is None:
        return None
    where = []
    if args.get("account_id"):
        where.append(f"account_id = {_sql_literal(args['account_id'])}")
    if args.get("start"):
        where.append(f"ts >= {_sql_literal(args['start'])}")
    if args.get("end"):
        where.append(f"ts < {_sql_literal(args['end'])}")
    if args.get("status"):
        where.append(f"status = {int(args['status'])}")
    if args.get("path"):
        where.append(f"path = {_sql_literal(args['path'])}")
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    return f"SELECT * FROM {table}{clause} ORDER BY ts DESC LIMIT 100"
