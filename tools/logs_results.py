"""Typed views of the ``logs`` connector's results, for code that reasons over them.

The operations return plain dicts (what a model sees, rendered); these models read
the same dicts with names and types, so the differential diagnosis, routing and the
escalation packet do not read results by string key. Every field but what makes a row
one (a request's status) has a default: a result from an older or differently mapped
log store parses to what it holds.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from casefile.tools.sso_responses import ResponseConfig
from casefile.tools.values import ResultView

__all__ = [
    "ErrorSummary",
    "Latency",
    "RecentRequests",
    "RequestRow",
    "SqlResult",
    "SsoLogins",
    "TopErrors",
    "WebhookDeliveries",
]


class Window(ResultView):
    start: str | None = None
    end: str | None = None


class Counts(ResultView):
    """Requests and errors over a window (the account's, an endpoint's, the baseline's)."""

    requests: int = 0
    errors: int = 0
    error_rate: float = 0.0


# Bases listed last come first: a view built from shared parts keeps the order the connector
# sends its fields in, so the packet shows such a part as the logs gave it (test_packet_views.py).
class Baseline(Counts, Window):
    """The window before, its counts after its bounds."""


class Spike(ResultView):
    start: str
    first_error_at: str | None = None
    status: int | None = None
    bucket_minutes: int = 5
    before_rate: float = 0.0
    after_rate: float = 0.0
    peak_rate: float = 0.0
    errors_since: int = 0
    path: str | None = None

    @property
    def onset(self) -> str:
        return self.first_error_at or self.start


class StatusCount(ResultView):
    status: int
    count: int = 0
    rate: float = 0.0
    baseline_rate: float = 0.0


class _Path(ResultView):
    path: str | None = None


class EndpointErrors(Counts, _Path):
    """One endpoint: its path, then its counts (the packet shows it as the logs gave it)."""

    baseline_error_rate: float | None = None


class CodeCount(ResultView):
    error_code: str = ""
    count: int = 0


class ErrorSummary(Counts):
    """``logs_error_summary``."""

    account_id: str | None = None
    window: Window | None = None
    baseline: Baseline = Field(default_factory=Baseline)
    by_status: list[StatusCount] = Field(default_factory=list)
    top_endpoints: list[EndpointErrors] = Field(default_factory=list)
    top_error_codes: list[CodeCount] = Field(default_factory=list)
    spike: Spike | None = None


class TopError(ResultView):
    status: int
    error_code: str = ""
    path: str = ""
    api_key_hash: str | None = None
    message: str | None = None
    count: int = 0
    before: int = 0
    share: float = 0.0
    first_at: str | None = None
    last_at: str | None = None


class KeyUsage(ResultView):
    api_key_hash: str | None = None
    requests: int = 0
    errors: int = 0


class SharedError(ResultView):
    status: int
    error_code: str = ""
    accounts: int = 0
    count: int = 0
    before: int = 0
    """The other accounts' count of it in the days before the window (their baseline)."""
    first_at: str | None = None
    last_at: str | None = None
    """The other accounts' first and last error of it in the window (none when they got none)."""


class TopErrors(ResultView):
    """``logs_top_errors``: the account's own errors, its keys, and who else sees them."""

    account_id: str | None = None
    requests: int = 0
    errors: int = 0
    baseline_requests: int = 0
    top: list[TopError] = Field(default_factory=list)
    keys: list[KeyUsage] = Field(default_factory=list)
    others: list[SharedError] = Field(default_factory=list)
    others_requests: int = 0
    """The other accounts' requests in the same window (0: not known), to compare as rates."""
    others_baseline_requests: int = 0
    """Their requests in the days before the window (0: not known), for their codes' usual rates."""

    def shared(self, status: int, code: str) -> SharedError | None:
        return next((o for o in self.others if o.status == status and o.error_code == code), None)


class StatusTally(ResultView):
    status: int
    count: int = 0


class ErrorTally(ResultView):
    error: str = ""
    count: int = 0


class Delivery(ResultView):
    ts: str | None = None
    response_status: int | None = None
    response_ms: float | None = None


class DeliveryHour(ResultView):
    hour: str
    attempts: int = 0
    failures: int = 0
    p95_ms: float | None = None


class Attempts(ResultView):
    """Deliveries or logins tried and failed over a window."""

    attempts: int = 0
    failures: int = 0


class Platform(Attempts):
    failure_rate: float = 0.0


class ResponseTimes(ResultView):
    p50: float | None = None
    p95: float | None = None
    max: float | None = None


class WebhookDeliveries(Platform):
    """``logs_webhook_deliveries``."""

    account_id: str | None = None
    by_response_status: list[StatusTally] = Field(default_factory=list)
    by_error: list[ErrorTally] = Field(default_factory=list)
    endpoint_urls: list[str] = Field(default_factory=list)
    last_success: Delivery | None = None
    failing_since: str | None = None
    response_ms: ResponseTimes = Field(default_factory=ResponseTimes)
    history: list[DeliveryHour] = Field(default_factory=list)
    platform: Platform | None = None


class LoginError(ResultView):
    error: str | None = None
    count: int = 0


class _Login(ResultView):
    ts: str | None = None
    user_email: str | None = None


class _Failed(ResultView):
    error: str | None = None
    clock_skew_s: int | None = None


# Bases listed last come first, as for Baseline.
class LoginResponse(ResponseConfig, _Login):
    """One login and the configuration its SAML response was made with."""


class LoginFailure(ResponseConfig, _Failed, _Login):
    """A failed login: who, why, then what its response said."""


class ConfigChange(ResultView):
    field: str
    what: str = ""
    before: str = ""
    after: str = ""


class SsoLogins(Attempts):
    """``logs_sso_logins``."""

    account_id: str | None = None
    last_success: LoginResponse | None = None
    failing_since: str | None = None
    top_errors: list[LoginError] = Field(default_factory=list)
    recent_failures: list[LoginFailure] = Field(default_factory=list)
    config_changes: list[ConfigChange] = Field(default_factory=list)


class Percentiles(ResultView):
    """Latency percentiles over a window (the baseline's, or the window's own)."""

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


class EndpointLatency(ResultView):
    path: str | None = None
    requests: int = 0
    p95_ms: float | None = None
    baseline_p95_ms: float | None = None


class RegionLatency(ResultView):
    """One region's latency (a CDN edge, a data center): the account's p95 there against its baseline
    (scope account), or how many accounts it serves and how many are slower there than their own
    baseline, with the highest such ratio (scope all)."""

    region: str | None = None
    requests: int = 0
    p95_ms: float | None = None
    baseline_p95_ms: float | None = None
    accounts: int = 0
    slow_accounts: int = 0
    top_ratio: float | None = None


class AccountLatency(ResultView):
    account_id: str
    p95_ms: float | None = None
    baseline_p95_ms: float | None = None
    ratio: float | None = None


class SlowRequest(ResultView):
    ts: str | None = None
    trace_id: str | None = None
    path: str | None = None
    latency_ms: float | None = None


class Latency(Percentiles):
    """``logs_latency`` (``scope`` is ``account`` or ``all``)."""

    scope: str = "account"
    account_id: str | None = None
    requests: int = 0
    baseline: Percentiles = Field(default_factory=Percentiles)
    by_endpoint: list[EndpointLatency] = Field(default_factory=list)
    by_region: list[RegionLatency] = Field(default_factory=list)
    slowest: list[SlowRequest] = Field(default_factory=list, description="scope account: trace ids to follow")
    accounts: list[AccountLatency] = Field(default_factory=list)
    accounts_compared: int = 0
    p95_ratios: list[float] = Field(
        default_factory=list, description="scope all: each account's p95 / its baseline"
    )


class RequestRow(ResultView):
    """One request of ``logs_recent_requests`` (headers as the log stores them: JSON text)."""

    ts: str | None = None
    method: str | None = None
    path: str | None = None
    status: int
    error_code: str | None = None
    latency_ms: float | None = None
    request_id: str | None = None
    trace_id: str | None = None
    api_key_hash: str | None = None
    request_headers: str | dict[str, Any] | None = None
    response_headers: str | dict[str, Any] | None = None


class RecentRequests(ResultView):
    """``logs_recent_requests``: the account's latest requests, newest first."""

    account_id: str | None = None
    requests: list[RequestRow] = Field(default_factory=list)
    status_counts: dict[str, int] = Field(default_factory=dict)


class SqlResult(ResultView):
    """``logs_sql``: the query that ran (as guarded) and its rows, one value per column."""

    sql: str = ""
    columns: list[str] = Field(default_factory=list)
    rows: list[list[Any]] = Field(default_factory=list)
    row_count: int = 0
    truncated: bool = False

    def records(self) -> list[dict[str, Any]]:
        """Each row as column → value."""
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]
