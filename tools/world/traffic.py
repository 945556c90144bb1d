"""Expand a compact traffic description into ClickHouse log rows, deterministically.

A world's ``clickhouse/traffic.json`` describes a week of API traffic in a few hundred
lines; :func:`generate` turns it into the ``requests``, ``webhook_deliveries`` and
``sso_logins`` tables (column-oriented, ready for clickhouse-connect's
``insert(..., column_oriented=True)``). The same description always yields the same
rows: every random draw comes from one ``random.Random(seed)``, consumed in a fixed
order, and nothing reads the clock or the global random state.

Description format (all timestamps ISO 8601 UTC ending in ``Z``; every section optional)::

    {
      "seed": 20261120,
      "start": "2026-11-13T00:00:00Z", "end": "2026-11-20T18:00:00Z",
      "error_codes": {"400": ["invalid_request"], "429": ["rate_limit_exceeded"], ...},
      "requests": {
        "<account_id>": {
          "peak_rpm": 10,                  # requests per minute at the peak hour
          "timezone": "Europe/Berlin",     # the diurnal curve follows local time
          "peak_hour": 13,                 # local hour of the peak
          "trough": 0.06,                  # night volume as a fraction of the peak
          "weekend_factor": 0.3,           # Saturday/Sunday multiplier (local days)
          "region": "eu-central-1", "user_agent": "relay-python/3.4.1",
          "api_keys": {"<key hash>": 9, "<key hash>": 1},   # weights (or a plain list)
          "ratelimit_limit": 600,          # x-ratelimit-limit response header
          "latency": {"p50_ms": 80, "p95_ms": 240},          # lognormal fitted to p50/p95
          "status_mix": {"400": 0.006, "404": 0.004},        # the rest is success
          "endpoints": [{"method": "POST", "path": "/v2/shipments", "weight": 40,
                         "ok_status": 201, "latency": {...}}, ...]
        }
      },
      "request_anomalies": [
        {"id": "acme-429", "account": "acme", "start": "...", "end": "...",
         "endpoint": "POST /v2/shipments",  # or "path": "/v2/x", or "methods": ["POST"]; all optional
         "api_key": "<key hash>",           # optional
         "status": 429, "share": 0.4,       # or "status_mix": {"500": 0.6, "502": 0.1}
         "error_code": "rate_limit_exceeded",  # default: the first code listed for the status
         "latency_multiplier": 0.1}
      ],
      "webhooks": {
        "accounts": {"<account_id>": {"webhook_id": "we_...", "endpoint_url": "https://...",
                     "events_per_hour": 12, "timezone": "...", "peak_hour": 14, "trough": 0.2,
                     "event_types": {"order.updated": 5, "order.created": 3},
                     "response_ms": {"p50_ms": 120, "p95_ms": 400}, "failure_rate": 0.003,
                     "retry_schedule_s": [60, 300, 1800, 7200, 21600]}},
        "anomalies": [{"account": "...", "start": "...", "end": "...",
                       "outcomes": {"503": 0.55, "timeout": 0.45}, "share": 1.0, "timeout_ms": 10000}]
      },
      "sso_logins": {
        "accounts": {"<account_id>": {"idp_entity_id": "...", "cert_sha1": "AB:CD:...",
                     "email_domain": "initech.io", "users": 40, "timezone": "...",
                     "business_hours": [8, 18], "logins_per_hour": 6, "weekend_factor": 0.1,
                     "acs_url": "https://...", "audience": "https://...",
                     "nameid_format": "urn:...:emailAddress", "sig_alg": "http://...#rsa-sha256"}},
        "anomalies": [{"account": "...", "start": "...", "end": "...", "error": "...",
                       "share": 1.0, "clock_skew_s": 0, "cert_sha1": "...", "idp_entity_id": "...",
                       "acs_url": "...", "audience": "...", "nameid_format": "...", "sig_alg": "..."}],
        "events": [{"account": "...", "ts": "...", "user_email": "..."}]   # pinned attempts
      }
    }

Semantics worth knowing:

* Volume per account-hour is Poisson around ``peak_rpm * 60 * curve(local hour)`` where the
  curve is ``trough + (1 - trough) * ((1 + cos(2π (h - peak_hour) / 24)) / 2) ** 2``.
* An anomaly changes the status of matching requests inside ``[start, end)`` with
  probability ``share`` (or the sum of its ``status_mix``); the rest keep the account's
  baseline mix. Each anomaly also pins one matching request a few seconds after its
  ``start``, so "first error at" lands in the anomaly's first minute whatever the volume.
* Webhook events are delivered at attempt 1 and retried on the schedule until one attempt
  succeeds or the schedule runs out; all attempts of one event share a ``delivery_id``.
  Attempts inside a webhook anomaly fail with one of its ``outcomes`` (an HTTP status, or
  ``timeout`` / ``connection_refused`` / ``tls_error``, which get response_status 0).
* SSO attempts inside an anomaly fail with its ``error``; pinned ``events`` add attempts at
  exact times (e.g. the first login of the day that meets an expired certificate).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from statistics import NormalDist
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["TrafficError", "generate"]

Columns = dict[str, list[Any]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_MS = 3_600_000
_Z95 = 1.6448536269514722  # standard normal quantile of 0.95: sigma = ln(p95/p50) / z95
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

DEFAULT_ERROR_CODES: dict[int, list[str]] = {
    400: ["invalid_request", "missing_parameter"],
    401: ["authentication_failed"],
    402: ["subscription_past_due"],
    403: ["forbidden"],
    404: ["not_found"],
    409: ["idempotency_conflict"],
    422: ["validation_failed", "invalid_address"],
    429: ["rate_limit_exceeded"],
    500: ["internal_error"],
    502: ["bad_gateway"],
    503: ["service_unavailable"],
    504: ["gateway_timeout"],
}

# Relative latency of error responses: the gateway answers 401/429 before the handler runs.
_STATUS_LATENCY = {401: 0.08, 402: 0.1, 403: 0.1, 429: 0.05, 404: 0.4, 400: 0.35, 422: 0.5}

_REQUEST_COLUMNS = (
    "ts",
    "account_id",
    "api_key_hash",
    "method",
    "path",
    "status",
    "error_code",
    "latency_ms",
    "request_id",
    "trace_id",
    "region",
    "user_agent",
    "request_headers",
    "response_headers",
)
_WEBHOOK_COLUMNS = (
    "ts",
    "account_id",
    "delivery_id",
    "webhook_id",
    "event_type",
    "endpoint_url",
    "attempt",
    "response_status",
    "response_ms",
    "error",
)
_SSO_COLUMNS = (
    "ts",
    "account_id",
    "user_email",
    "idp_entity_id",
    "outcome",
    "error",
    "clock_skew_s",
    "cert_sha1",
)
# What each SAML response said about the configuration it was made with (Destination, Audience,
# NameID Format, SignatureMethod): written only when the spec gives any of them, so worlds made
# before these columns existed load unchanged.
_SSO_RESPONSE_COLUMNS = ("acs_url", "audience", "nameid_format", "sig_alg")
_NO_RESPONSE = {"timeout", "connection_refused", "tls_error"}
_FIRST_NAMES = (
    "alex", "sam", "jordan", "taylor", "morgan", "casey", "riley", "jamie", "avery", "quinn",
    "maria", "li", "noah", "emma", "omar", "priya", "lukas", "sofia", "mateo", "hana",
)  # fmt: skip
_LAST_NAMES = ("smith", "garcia", "chen", "novak", "okafor", "silva", "kowalski", "nguyen", "muller", "rossi")


class TrafficError(ValueError):
    """The traffic description is malformed; the message names the offending entry."""


def generate(description: Mapping[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """Expand ``description`` into ``{table: {column: values}}`` (see the module docstring).

    Timestamps are timezone-aware UTC datetimes; rows are ordered by account, then time.
    """
    rng = random.Random(int(description.get("seed", 0)))
    start = _ms(description.get("start"), "start")
    end = _ms(description.get("end"), "end")
    if end <= start:
        raise TrafficError("end must be after start")
    codes = dict(DEFAULT_ERROR_CODES)
    for status, names in (description.get("error_codes") or {}).items():
        codes[int(status)] = [names] if isinstance(names, str) else list(names)

    tables: dict[str, Columns] = {}
    if description.get("requests"):
        tables["requests"] = _requests(
            rng, start, end, description["requests"], description.get("request_anomalies") or [], codes
        )
    if description.get("webhooks"):
        tables["webhook_deliveries"] = _webhooks(rng, start, end, description["webhooks"])
    if description.get("sso_logins"):
        tables["sso_logins"] = _sso(rng, start, end, description["sso_logins"])
    return tables


# ----------------------------------------------------------------------------- shared helpers


def _ms(value: Any, what: str) -> int:
    """ISO 8601 string → epoch milliseconds (exact integers, so no float drift per row)."""
    if not isinstance(value, str):
        raise TrafficError(f"{what}: expected an ISO 8601 timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TrafficError(f"{what}: not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // timedelta(milliseconds=1)


def _to_datetimes(values: list[int]) -> list[datetime]:
    # v / 1000 is within a fraction of a microsecond of the exact instant and fromtimestamp
    # rounds to the microsecond, so the result is exact; it is 2-3x faster than epoch + timedelta.
    stamp = datetime.fromtimestamp
    return [stamp(v / 1000, UTC) for v in values]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:  # normal approximation is plenty for log volumes
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _lognormal(spec: Mapping[str, Any] | None, default: tuple[float, float]) -> tuple[float, float]:
    """(mu, sigma) of a lognormal whose median is p50 and 95th percentile is p95."""
    p50 = float((spec or {}).get("p50_ms", default[0]))
    p95 = float((spec or {}).get("p95_ms", default[1]))
    if p50 <= 0 or p95 < p50:
        raise TrafficError(f"latency needs 0 < p50_ms <= p95_ms, got {spec!r}")
    return math.log(p50), math.log(p95 / p50) / _Z95


def _weighted(spec: Any, what: str) -> tuple[list[str], list[float]]:
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


def _curve(
    start: int, end: int, tz: str, peak_hour: float, trough: float, weekend: float
) -> list[tuple[int, float]]:
    """(hour start in epoch ms, volume factor in 0..1) for every UTC hour of the range."""
    zone = ZoneInfo(tz)
    out = []
    hour = start - start % _HOUR_MS
    while hour < end:
        local = (_EPOCH + timedelta(milliseconds=hour + _HOUR_MS // 2)).astimezone(zone)
        h = local.hour + local.minute / 60
        shape = ((1 + math.cos(2 * math.pi * (h - peak_hour) / 24)) / 2) ** 2
        factor = trough + (1 - trough) * shape
        if local.weekday() >= 5:
            factor *= weekend
        # clip the first/last partial hour to the range
        covered = (min(end, hour + _HOUR_MS) - max(start, hour)) / _HOUR_MS
        out.append((hour, factor * covered))
        hour += _HOUR_MS
    return out


def _offsets(rng: random.Random, n: int, lo: int, hi: int) -> list[int]:
    """n sorted uniform epoch-ms instants in [lo, hi)."""
    span = hi - lo
    rand = rng.random
    return sorted([lo + int(rand() * span) for _ in range(n)])


def _window(anomaly: Mapping[str, Any], what: str) -> tuple[int, int]:
    lo, hi = _ms(anomaly.get("start"), f"{what}.start"), _ms(anomaly.get("end"), f"{what}.end")
    if hi <= lo:
        raise TrafficError(f"{what}: end must be after start")
    return lo, hi


# ----------------------------------------------------------------------------- requests


@dataclass
class _Endpoint:
    method: str
    path: str
    ok_status: int
    mu: float
    sigma: float
    req_template: str  # %-template: (request_id[, idempotency key])


@dataclass
class _RequestAnomaly:
    start: int
    end: int
    endpoints: frozenset[int]  # indices into the account's endpoints
    api_key: str | None
    cum: list[float]  # cumulative probability per status
    statuses: list[tuple[int, str]]  # (status, error_code)
    latency: float


def _requests(
    rng: random.Random,
    start: int,
    end: int,
    accounts: Mapping[str, Any],
    anomalies: Sequence[Mapping[str, Any]],
    codes: Mapping[int, list[str]],
) -> Columns:
    cols: dict[str, list[Any]] = {name: [] for name in _REQUEST_COLUMNS}
    for account_id, spec in accounts.items():
        mine = [a for a in anomalies if a.get("account") == account_id]
        _account_requests(rng, start, end, account_id, spec, mine, codes, cols)
    unknown = {a.get("account") for a in anomalies} - set(accounts)
    if unknown:
        raise TrafficError(f"request_anomalies name unknown accounts: {sorted(map(str, unknown))}")
    cols["ts"] = _to_datetimes(cols["ts"])
    return cols


def _status_table(
    mix: Mapping[str, Any], codes: Mapping[int, list[str]], what: str
) -> tuple[list[float], list[int]]:
    cum, statuses, total = [], [], 0.0
    for status, share in mix.items():
        code = int(status)
        if code >= 400 and code not in codes:
            raise TrafficError(f"{what}: no error code known for status {code}; add it to error_codes")
        total += float(share)
        cum.append(total)
        statuses.append(code)
    if total > 1:
        raise TrafficError(f"{what}: shares add up to {total} > 1")
    return cum, statuses


def _account_requests(
    rng: random.Random,
    start: int,
    end: int,
    account_id: str,
    spec: Mapping[str, Any],
    anomaly_specs: Sequence[Mapping[str, Any]],
    codes: Mapping[int, list[str]],
    cols: dict[str, list[Any]],
) -> None:
    """Append one account's requests to ``cols``.

    Built column by column with comprehensions (not row by row): at ~100k rows the
    per-row interpreter overhead is what dominates generation time.
    """
    what = f"requests.{account_id}"
    user_agent = str(spec.get("user_agent", "relay-client/1.0"))
    if '"' in user_agent or "\\" in user_agent:
        raise TrafficError(f"{what}.user_agent: quotes and backslashes are not supported")
    region = str(spec.get("region", "us-east-1"))
    limit = int(spec.get("ratelimit_limit", 600))
    keys, key_cum = _weighted(spec.get("api_keys") or ["key_" + account_id], f"{what}.api_keys")
    default_latency = _lognormal(spec.get("latency"), (80.0, 250.0))

    endpoints: list[_Endpoint] = []
    weights: list[float] = []
    for n, ep in enumerate(spec.get("endpoints") or []):
        method, path = str(ep["method"]).upper(), str(ep["path"])
        mu, sigma = _lognormal(ep["latency"], (0, 0)) if ep.get("latency") else default_latency
        ok = int(ep.get("ok_status", 201 if method == "POST" else 200))
        head = '{"host":"api.relayhq.dev","user-agent":"' + user_agent + '","accept":"application/json",'
        head += '"authorization":"Bearer [REDACTED]",'
        if method in _WRITE_METHODS:
            head += '"content-type":"application/json","idempotency-key":"%s",'
        endpoints.append(_Endpoint(method, path, ok, mu, sigma, head + '"x-request-id":"%s"}'))
        weights.append(float(ep.get("weight", 1)))
        if weights[-1] <= 0:
            raise TrafficError(f"{what}.endpoints[{n}]: weight must be positive")
    if not endpoints:
        raise TrafficError(f"{what}: needs at least one endpoint")
    ep_cum = [sum(weights[: i + 1]) for i in range(len(weights))]
    base_cum, base_statuses = _status_table(spec.get("status_mix") or {}, codes, f"{what}.status_mix")
    anomalies = [
        _request_anomaly(a, endpoints, codes, f"{what} anomaly {a.get('id', n)}")
        for n, a in enumerate(anomaly_specs)
    ]

    # 1. arrival times: Poisson volume per hour following the local diurnal curve
    peak = float(spec.get("peak_rpm", 1)) * 60
    times: list[int] = []
    for hour, factor in _curve(
        start,
        end,
        str(spec.get("timezone", "UTC")),
        float(spec.get("peak_hour", 14)),
        float(spec.get("trough", 0.08)),
        float(spec.get("weekend_factor", 0.35)),
    ):
        times += _offsets(rng, _poisson(rng, peak * factor), max(start, hour), min(end, hour + _HOUR_MS))
    # one matching request a few seconds after each anomaly starts (see module docstring)
    pins = sorted((a.start + rng.randrange(1_000, 20_000), n) for n, a in enumerate(anomalies))
    pins = [(t, n) for t, n in pins if start <= t < end]
    for t, _ in pins:
        bisect.insort(times, t)
    n_rows = len(times)
    if not n_rows:
        return

    # 2. what each request was
    eps = rng.choices(range(len(endpoints)), cum_weights=ep_cum, k=n_rows)
    req_keys = [keys[0]] * n_rows if len(keys) == 1 else rng.choices(keys, cum_weights=key_cum, k=n_rows)
    overrides: dict[int, tuple[int, str, float]] = {}
    for t, n in pins:
        anomaly, i = anomalies[n], bisect.bisect_left(times, t)
        while i in overrides:  # two pins on the same millisecond: take the next row
            i += 1
        if eps[i] not in anomaly.endpoints:
            eps[i] = min(anomaly.endpoints)
        req_keys[i] = anomaly.api_key or req_keys[i]
        status, code = anomaly.statuses[0]
        overrides[i] = (status, code, anomaly.latency)
    rand = rng.random
    for anomaly in anomalies:
        for i in range(bisect.bisect_left(times, anomaly.start), bisect.bisect_left(times, anomaly.end)):
            if i in overrides or eps[i] not in anomaly.endpoints:
                continue
            if anomaly.api_key is not None and req_keys[i] != anomaly.api_key:
                continue
            r = rand()
            if r < anomaly.cum[-1]:
                status, code = anomaly.statuses[bisect.bisect(anomaly.cum, r)]
                overrides[i] = (status, code, anomaly.latency)

    # 3. baseline status mix, then the anomalies on top
    ok_status = [ep.ok_status for ep in endpoints]
    p_err = base_cum[-1] if base_cum else 0.0
    draws = [rand() for _ in range(n_rows)]
    statuses = [
        ok_status[e] if r >= p_err else base_statuses[bisect.bisect(base_cum, r)]
        for r, e in zip(draws, eps, strict=True)
    ]
    error_codes = [""] * n_rows
    lat_factor: dict[int, float] = {}
    for i, r in enumerate(draws):
        if r < p_err:
            names = codes[statuses[i]]
            error_codes[i] = names[int(r * 1_000_003) % len(names)]
            lat_factor[i] = _STATUS_LATENCY.get(statuses[i], 1.0)
    for i, (status, code, factor) in overrides.items():
        statuses[i], error_codes[i] = status, code
        lat_factor[i] = factor if factor != 1.0 else _STATUS_LATENCY.get(status, 1.0)

    # 4. latency from per-endpoint quantile tables (1024 steps of the lognormal)
    z, bits = _z_table(), rng.getrandbits
    tables = [[round(math.exp(ep.mu + ep.sigma * q), 1) for q in z] for ep in endpoints]
    latency = [tables[e][bits(10)] for e in eps]
    for i, factor in lat_factor.items():
        latency[i] = round(latency[i] * factor, 1)

    # 5. ids and headers
    request_ids = ["req_" + bits(96).to_bytes(12).hex() for _ in range(n_rows)]
    templates = [ep.req_template for ep in endpoints]
    writes = [ep.method in _WRITE_METHODS for ep in endpoints]
    # Headers are kept for failing requests only, as log pipelines commonly sample them: they are
    # what an escalation packet needs, and they would otherwise be most of the world's bytes.
    # (Idempotency keys are drawn for every write all the same, so the random stream, and with
    # it every later id, does not depend on which requests failed.)
    idem_keys = [bits(128) if writes[e] else 0 for e in eps]
    request_headers = [
        ""
        if s < 400
        else templates[e] % (_uuid(key.to_bytes(16).hex()), rid)
        if writes[e]
        else templates[e] % rid
        for e, rid, s, key in zip(eps, request_ids, statuses, idem_keys, strict=True)
    ]
    head = '{"content-type":"application/json","x-request-id":"%s","x-ratelimit-limit":"' + str(limit)
    resp_ok = head + '","x-ratelimit-remaining":"%d","x-ratelimit-reset":"%d"}'
    resp_429 = head + '","x-ratelimit-remaining":"0","x-ratelimit-reset":"%d","retry-after":"%d"}'
    spread = min(limit, 97)
    response_headers = [
        ""
        if s < 400
        else resp_429 % (rid, t // 60_000 * 60 + 60, 60 - t // 1000 % 60)
        if s == 429
        else resp_ok % (rid, limit - 1 - t % spread, t // 60_000 * 60 + 60)
        for t, s, rid in zip(times, statuses, request_ids, strict=True)
    ]

    cols["ts"] += times
    cols["account_id"] += [account_id] * n_rows
    cols["api_key_hash"] += req_keys
    cols["method"] += [endpoints[e].method for e in eps]
    cols["path"] += [endpoints[e].path for e in eps]
    cols["status"] += statuses
    cols["error_code"] += error_codes
    cols["latency_ms"] += latency
    cols["request_id"] += request_ids
    cols["trace_id"] += [bits(128).to_bytes(16).hex() for _ in range(n_rows)]
    cols["region"] += [region] * n_rows
    cols["user_agent"] += [user_agent] * n_rows
    cols["request_headers"] += request_headers
    cols["response_headers"] += response_headers


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _uuid(h: str) -> str:
    """A version-4 UUID string from 32 random hex digits (cheaper than uuid.UUID)."""
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


@cache
def _z_table() -> tuple[float, ...]:
    """Standard normal quantiles at the midpoints of 1024 equal-probability steps."""
    normal = NormalDist()
    return tuple(normal.inv_cdf((k + 0.5) / 1024) for k in range(1024))


def _gauss(rand: Any) -> float:
    """A standard normal draw from one uniform via the quantile table (no rejection loop)."""
    return _z_table()[int(rand() * 1024)]


def _request_anomaly(
    spec: Mapping[str, Any], endpoints: Sequence[_Endpoint], codes: Mapping[int, list[str]], what: str
) -> _RequestAnomaly:
    lo, hi = _window(spec, what)
    method = path = None
    if spec.get("endpoint"):
        method, _, path = str(spec["endpoint"]).partition(" ")
        if not path:
            method, path = None, method
    path = spec.get("path", path)
    methods = {str(m).upper() for m in spec.get("methods") or ([method] if method else [])}
    chosen = frozenset(
        i
        for i, ep in enumerate(endpoints)
        if (not path or ep.path == path) and (not methods or ep.method in methods)
    )
    if not chosen:
        raise TrafficError(f"{what}: matches none of the account's endpoints")
    mix = spec.get("status_mix") or {str(spec.get("status", 500)): spec.get("share", 1.0)}
    cum, statuses = _status_table(mix, codes, what)
    pairs = []
    for status in statuses:
        code = spec.get("error_code") if len(statuses) == 1 and spec.get("error_code") else None
        pairs.append((status, code or (codes[status][0] if status >= 400 else "")))
    return _RequestAnomaly(
        lo, hi, chosen, spec.get("api_key"), cum, pairs, float(spec.get("latency_multiplier", 1))
    )


# ----------------------------------------------------------------------------- webhooks


def _webhooks(rng: random.Random, start: int, end: int, section: Mapping[str, Any]) -> Columns:
    cols: dict[str, list[Any]] = {name: [] for name in _WEBHOOK_COLUMNS}
    anomalies = section.get("anomalies") or []
    for account_id, spec in (section.get("accounts") or {}).items():
        what = f"webhooks.{account_id}"
        mine = []
        for n, a in enumerate(x for x in anomalies if x.get("account") == account_id):
            lo, hi = _window(a, f"{what} anomaly {n}")
            outcomes, cum = _weighted(a.get("outcomes") or {"503": 1}, f"{what} anomaly {n}.outcomes")
            mine.append(
                (lo, hi, outcomes, cum, float(a.get("share", 1.0)), float(a.get("timeout_ms", 10_000)))
            )
        rows = _account_webhooks(rng, start, end, spec, mine, what)
        rows.sort(key=lambda row: row[0])
        for row in rows:
            for name, value in zip(_WEBHOOK_COLUMNS, (row[0], account_id, *row[1:]), strict=True):
                cols[name].append(value)
    cols["ts"] = _to_datetimes(cols["ts"])
    return cols


def _account_webhooks(
    rng: random.Random,
    start: int,
    end: int,
    spec: Mapping[str, Any],
    anomalies: list[tuple[int, int, list[str], list[float], float, float]],
    what: str,
) -> list[tuple[Any, ...]]:
    url = str(spec["endpoint_url"])
    webhook_id = str(spec.get("webhook_id", "we_default"))
    types, type_cum = _weighted(spec.get("event_types") or ["order.updated"], f"{what}.event_types")
    mu, sigma = _lognormal(spec.get("response_ms"), (120.0, 400.0))
    noise = float(spec.get("failure_rate", 0.003))
    schedule = [0, *[int(s) * 1000 for s in spec.get("retry_schedule_s", [60, 300, 1800, 7200, 21600])]]
    curve = _curve(
        start,
        end,
        str(spec.get("timezone", "UTC")),
        float(spec.get("peak_hour", 14)),
        float(spec.get("trough", 0.25)),
        float(spec.get("weekend_factor", 0.5)),
    )
    per_hour = float(spec.get("events_per_hour", 10))
    rand = rng.random
    # One event a few seconds after each anomaly starts, so "failing since" is its first minute.
    pinned = [a[0] + rng.randrange(1_000, 20_000) for a in anomalies]
    rows: list[tuple[Any, ...]] = []
    for hour, factor in curve:
        lo, hi = max(start, hour), min(end, hour + _HOUR_MS)
        starts = _offsets(rng, _poisson(rng, per_hour * factor), lo, hi)
        starts += [t for t in pinned if lo <= t < hi]
        for t0 in sorted(starts):
            event = types[bisect.bisect(type_cum, rand() * type_cum[-1])]
            delivery = "whd_" + rng.randbytes(10).hex()
            for attempt, delay in enumerate(schedule, 1):
                t = t0 + delay + (int(rand() * 2_000) if attempt > 1 else 0)
                if t >= end:
                    break
                outcome, timeout_ms = None, 10_000.0
                for a_lo, a_hi, outcomes, cum, share, a_timeout in anomalies:
                    if a_lo <= t < a_hi and rand() < share:
                        outcome = outcomes[bisect.bisect(cum, rand() * cum[-1])]
                        timeout_ms = a_timeout
                        break
                if outcome is None and rand() < noise:
                    outcome = ("502", "timeout", "503", "connection_refused")[int(rand() * 4)]
                ms = round(math.exp(mu + sigma * _gauss(rand)), 1)
                if outcome is None:
                    rows.append((t, delivery, webhook_id, event, url, attempt, 200, ms, ""))
                    break
                if outcome in _NO_RESPONSE:
                    wait = timeout_ms if outcome == "timeout" else round(ms / 10, 1)
                    rows.append((t, delivery, webhook_id, event, url, attempt, 0, wait, outcome))
                else:
                    rows.append(
                        (t, delivery, webhook_id, event, url, attempt, int(outcome), ms, "http_error")
                    )
    return rows


# ----------------------------------------------------------------------------- SSO logins


def _sso(rng: random.Random, start: int, end: int, section: Mapping[str, Any]) -> Columns:
    anomalies = section.get("anomalies") or []
    events = section.get("events") or []
    accounts = section.get("accounts") or {}
    responses = [
        c for c in _SSO_RESPONSE_COLUMNS if any(c in part for part in [*accounts.values(), *anomalies])
    ]
    cols: dict[str, list[Any]] = {name: [] for name in (*_SSO_COLUMNS, *responses)}
    for account_id, spec in accounts.items():
        what = f"sso_logins.{account_id}"
        domain = str(spec.get("email_domain", f"{account_id}.example"))
        users = spec.get("users", 30)
        emails = list(users) if isinstance(users, list) else _emails(int(users), domain)
        entity, cert = str(spec["idp_entity_id"]), str(spec.get("cert_sha1", ""))
        said = {c: str(spec.get(c, "")) for c in responses}
        zone = ZoneInfo(str(spec.get("timezone", "UTC")))
        open_h, close_h = (float(h) for h in spec.get("business_hours", [8, 18]))
        weekend = float(spec.get("weekend_factor", 0.1))
        per_hour = float(spec.get("logins_per_hour", 5))
        own = [x for x in anomalies if x.get("account") == account_id]
        mine = [(*_window(a, f"{what} anomaly {n}"), a) for n, a in enumerate(own)]

        attempts: list[tuple[int, str]] = []
        hour = start - start % _HOUR_MS
        while hour < end:
            local = (_EPOCH + timedelta(milliseconds=hour)).astimezone(zone)
            h = local.hour + local.minute / 60
            if open_h <= h < close_h:
                lam = per_hour * (weekend if local.weekday() >= 5 else 1.0)
                lo, hi = max(start, hour), min(end, hour + _HOUR_MS)
                lam *= (hi - lo) / _HOUR_MS
                for t in _offsets(rng, _poisson(rng, lam), lo, hi):
                    attempts.append((t, emails[int(rng.random() * len(emails))]))
            hour += _HOUR_MS
        for n, event in enumerate(e for e in events if e.get("account") == account_id):
            t = _ms(event.get("ts"), f"{what} event {n}.ts")
            if start <= t < end:
                attempts.append((t, str(event.get("user_email") or emails[n % len(emails)])))
        attempts.sort()

        for t, email in attempts:
            outcome, error, skew, sha1 = "success", "", int(rng.random() * 5) - 2, cert
            issuer, response = entity, said
            for lo, hi, a in mine:
                if lo <= t < hi and rng.random() < float(a.get("share", 1.0)):
                    outcome, error = "failure", str(a.get("error", "SAML response rejected"))
                    skew = int(a.get("clock_skew_s", skew))
                    sha1 = str(a.get("cert_sha1", sha1))
                    issuer = str(a.get("idp_entity_id", issuer))
                    response = {c: str(a.get(c, v)) for c, v in said.items()}
                    break
            row = (t, account_id, email, issuer, outcome, error, skew, sha1)
            for name, value in zip(_SSO_COLUMNS, row, strict=True):
                cols[name].append(value)
            for name, value in response.items():
                cols[name].append(value)
    cols["ts"] = _to_datetimes(cols["ts"])
    return cols


def _emails(count: int, domain: str) -> list[str]:
    """Deterministic, distinct first.last@domain addresses (no randomness needed)."""
    out = []
    for n in range(count):
        first = _FIRST_NAMES[n % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(n // len(_FIRST_NAMES) + n) % len(_LAST_NAMES)]
        out.append(f"{first}.{last}@{domain}")
    return out
